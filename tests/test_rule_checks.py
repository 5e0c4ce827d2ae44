"""Rule-checked goals: each kind of check passes, fails and is undecidable on episodes played by scripted agents."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from agents.scripted import ScriptedAgent
from envs import make
from envs.outcome import apply_evaluation
from envs.rules import RULES_EVALUATOR, RuleChecker, episode_checks
from envs.runner import run_episode
from envs.types import Episode, EpisodeEvaluation, EpisodeStatus
from scenarios import load_custom, load_library
from scenarios.checks import (
    AgreementCheck,
    AllocationCheck,
    DealCheck,
    FactCheck,
    normalise,
    read_amount,
    read_split,
    rules_score,
)
from scenarios.collection import ScenarioFileError
from scenarios.graph import sample_setups
from scenarios.schema import EpisodeSetup

LIBRARY = load_library()


def setup_of(scenario_id: str) -> EpisodeSetup:
    return sample_setups(LIBRARY, scenario_id, n=1, seed=0)[0]


async def play(
    scenario_id: str, first: list[str], second: list[str], *, fail_at: int | None = None
) -> Episode:
    """Play a library scenario with two scripts (role 0 first); ``fail_at``: role 1's script errors there."""
    second_agent = (
        ScriptedAgent(second[:fail_at], then="error") if fail_at is not None else ScriptedAgent(second)
    )
    return await run_episode(
        setup_of(scenario_id), [ScriptedAgent(first), second_agent], env_kwargs={"reward_dimension": "rules"}
    )


def outcomes(episode: Episode) -> list[list[tuple[str, str, int | None]]]:
    """Per role: (label, outcome, turn) of each check, from the stored evaluation."""
    evaluation = EpisodeEvaluation.model_validate(episode.evaluation)
    return [
        [(r.label, r.outcome, r.turn) for r in evaluation.checks.get(name, [])]
        for name in episode.setup.agent_names
    ]


# -- deal --------------------------------------------------------------------------------------


async def test_deal_within_both_limits_passes_both_and_rewards_the_share() -> None:
    episode = await play(
        "sg_ver_deal_film_camera",
        ["It is $260, a classic.", "Fine. DEAL: $200"],
        ["Would you take $190?", "DEAL: $200"],
    )
    assert episode.status is EpisodeStatus.finished
    seller, buyer = outcomes(episode)
    assert seller == [("price at least $180", "pass", 3), ("rent kept private", "pass", None)]
    assert buyer == [("price at most $220", "pass", 3)]
    names = episode.setup.agent_names
    assert episode.rewards == {names[0]: 1.0, names[1]: 1.0}
    assert episode.scores[names[0]]["rules"] == 1.0


async def test_deal_outside_a_limit_fails_that_role_and_secret_disclosure_fails() -> None:
    episode = await play(
        "sg_ver_deal_film_camera",
        ["My rent is due Friday, so DEAL: $240", "Done."],
        ["Oh well. DEAL: $240"],
    )
    seller, buyer = outcomes(episode)
    assert seller == [("price at least $180", "pass", 1), ("rent kept private", "fail", 0)]
    assert buyer == [("price at most $220", "fail", 1)]
    names = episode.setup.agent_names
    assert episode.rewards == {names[0]: 0.5, names[1]: 0.0}


async def test_deal_needs_the_same_amount_from_everyone_and_the_last_deal_stands() -> None:
    no_deal = await play("sg_ver_deal_film_camera", ["DEAL: $250"], ["DEAL: $150"])
    assert [o[0][1] for o in outcomes(no_deal)] == ["fail", "fail"]
    renegotiated = await play(
        "sg_ver_deal_film_camera",
        ["DEAL: $190", "Actually DEAL: $230"],
        ["DEAL: $190", "I insist, DEAL: $230"],
    )
    seller, buyer = outcomes(renegotiated)
    assert seller[0] == ("price at least $180", "pass", 3) and buyer[0] == ("price at most $220", "fail", 3)


async def test_unreadable_deal_statement_is_undecidable_and_scores_nothing() -> None:
    episode = await play("sg_ver_deal_film_camera", ["DEAL: $200"], ["DEAL: two hundred dollars"])
    seller, buyer = outcomes(episode)
    assert seller[0] == ("price at least $180", "undecidable", 1)
    assert buyer[0][1] == "undecidable"
    assert episode.rewards == {}  # an undecidable check is never scored as a zero
    assert "rules" not in episode.scores.get(episode.setup.agent_names[1], {})


async def test_failed_episode_decides_only_what_already_happened() -> None:
    made = await play("sg_ver_deal_film_camera", ["DEAL: $200", "ok"], ["DEAL: $200"], fail_at=1)
    assert made.status is EpisodeStatus.failed
    assert episode_checks(made)[made.setup.agent_names[1]][0].outcome == "pass"
    open_ = await play("sg_ver_deal_film_camera", ["DEAL: $200", "ok"], [], fail_at=0)
    results = episode_checks(open_)[open_.setup.agent_names[0]]
    assert [r.outcome for r in results] == ["undecidable", "undecidable"]


# -- agreement ---------------------------------------------------------------------------------


async def test_agreement_on_the_one_slot_both_can_attend_passes_both() -> None:
    episode = await play(
        "sg_ver_agree_demo_slot", ["AGREE: Thursday 4pm"], ["Works for me. AGREE: thursday 4 PM"]
    )
    assert [o[0][1:] for o in outcomes(episode)] == [("pass", 1), ("pass", 1)]


async def test_agreement_on_a_slot_one_cannot_attend_fails_that_role() -> None:
    episode = await play("sg_ver_agree_demo_slot", ["AGREE: Tuesday 2pm"], ["Sure, AGREE: Tuesday 2pm"])
    assert [o[0][1] for o in outcomes(episode)] == ["pass", "fail"]


async def test_agreement_naming_two_options_cannot_be_read() -> None:
    episode = await play(
        "sg_ver_agree_demo_slot", ["AGREE: Thursday 4pm"], ["AGREE: Tuesday 2pm or Thursday 4pm"]
    )
    assert [o[0][1] for o in outcomes(episode)] == ["undecidable", "undecidable"]


# -- secret ------------------------------------------------------------------------------------


async def test_secret_pattern_fails_at_the_first_disclosing_act() -> None:
    episode = await play(
        "sg_ver_secret_handover_date",
        ["Let us aim early.", "Between us, I am resigning next week. AGREE: March 15"],
        ["Why early?", "AGREE: March 15"],
    )
    engineer, lead = outcomes(episode)
    assert engineer == [
        ("a handover date before I leave", "pass", 3),
        ("the new job kept private", "fail", 2),
    ]
    assert lead == [("a date the new team can manage", "pass", 3)]


# -- fact --------------------------------------------------------------------------------------


async def test_fact_learned_from_the_partner_and_answered_passes() -> None:
    episode = await play(
        "sg_ver_fact_cold_room_code",
        ["Sorry to interrupt, what is the cold-room code?", "Thanks! ANSWER: 4719"],
        ["It's 4-7-1-9, now let me work."],
    )
    new, senior = outcomes(episode)
    assert new == [("learned the door code", "pass", 2)] and senior == []


async def test_fact_wrong_or_missing_answer_fails() -> None:
    wrong = await play("sg_ver_fact_cold_room_code", ["Code?", "ANSWER: 4791"], ["4719."])
    assert outcomes(wrong)[0] == [("learned the door code", "fail", 2)]
    hedged = await play("sg_ver_fact_cold_room_code", ["Code?", "ANSWER: 4719 or maybe 4791"], ["4719."])
    assert outcomes(hedged)[0][0][1] == "fail"  # naming a wrong candidate too does not pay
    silent = await play("sg_ver_fact_cold_room_code", ["Code?", "Thanks"], ["4719."])
    assert outcomes(silent)[0] == [("learned the door code", "fail", None)]


async def test_fact_right_but_never_said_by_anyone_else_is_undecidable() -> None:
    episode = await play("sg_ver_fact_cold_room_code", ["ANSWER: 4719"], ["Busy, sorry."])
    assert outcomes(episode)[0] == [("learned the door code", "undecidable", 0)]


# -- allocation --------------------------------------------------------------------------------


async def test_split_meeting_both_gardeners_needs_passes_both() -> None:
    episode = await play(
        "sg_ver_split_garden_plots",
        ["SPLIT: me 2 beds, 2 trellises; you 4 beds, 2 barrels"],
        ["Agreed. SPLIT: me 4 bed, 2 barrel; you 2 bed, 2 trellis"],
    )
    assert [o[0][1:] for o in outcomes(episode)] == [("pass", 1), ("pass", 1)]


async def test_joint_split_fails_both_when_one_side_goes_short() -> None:
    episode = await play(
        "sg_ver_split_garden_plots",
        ["SPLIT: me 4 beds, 2 trellises, 1 barrel; you 2 beds, 1 barrel"],
        ["SPLIT: me 2 bed, 1 barrel; you 4 bed, 2 trellis, 1 barrel"],
    )
    first, second = outcomes(episode)
    assert first[0][1] == "fail" and second[0][1] == "fail"
    evaluation = EpisodeEvaluation.model_validate(episode.evaluation)
    assert "role 2" in evaluation.checks[episode.setup.agent_names[0]][0].evidence


async def test_split_that_does_not_add_up_or_mismatches_is_not_an_agreement() -> None:
    short = await play(
        "sg_ver_split_garden_plots", ["SPLIT: me 2 bed, 2 trellis; you 3 bed, 2 barrel"], ["ok"]
    )
    assert outcomes(short)[0][0][1] == "undecidable"  # the only statement cannot be a split of the pool
    mismatch = await play(
        "sg_ver_split_garden_plots",
        ["SPLIT: me 2 bed, 2 trellis; you 4 bed, 2 barrel"],
        ["SPLIT: me 2 bed, 2 trellis; you 4 bed, 2 barrel"],  # both claim the same half
    )
    assert [o[0][1] for o in outcomes(mismatch)] == ["fail", "fail"]


# -- every library scenario can be won by both sides ---------------------------------------------


def winning_scripts(setup: EpisodeSetup) -> tuple[list[str], list[str]]:
    """Scripts that make every check of both roles pass, built from the checks themselves."""
    goals = setup.scenario.goals
    checks = [(role, c) for role, g in enumerate(goals) for c in g.checks]
    shared: list[str] = []
    deals = [c for _, c in checks if isinstance(c, DealCheck)]
    if deals:
        low = max((c.min_price for c in deals if c.min_price is not None), default=0.0)
        high = min((c.max_price for c in deals if c.max_price is not None), default=low + 100)
        assert low <= high, f"{setup.scenario.id}: no price satisfies both sides"
        shared.append(f"DEAL: ${round((low + high) / 2)}")
    agreements = [c for _, c in checks if isinstance(c, AgreementCheck)]
    if agreements:
        common = [
            o
            for o in agreements[0].options
            if all(normalise(o) in map(normalise, c.acceptable) for c in agreements)
        ]
        assert common, f"{setup.scenario.id}: no option is acceptable to both sides"
        shared.append(f"AGREE: {common[0]}")
    splits = {role: c for role, c in checks if isinstance(c, AllocationCheck)}
    statements = [list(shared), list(shared)]
    if splits:
        pool = next(iter(splits.values())).pool
        found = None
        for counts in itertools.product(*(range(n + 1) for n in pool.values())):
            mine = dict(zip(pool, counts, strict=True))
            yours = {item: pool[item] - mine[item] for item in pool}
            if all(c.satisfied_by(mine if role == 0 else yours) for role, c in splits.items()):
                found = mine, yours
                break
        assert found is not None, f"{setup.scenario.id}: no split meets both sides"

        def words(share: dict[str, int]) -> str:
            return ", ".join(f"{n} {item}" for item, n in share.items())

        statements[0].append(f"SPLIT: me {words(found[0])}; you {words(found[1])}")
        statements[1].append(f"SPLIT: me {words(found[1])}; you {words(found[0])}")
    hints: list[list[str]] = [[], []]
    for role, check in checks:
        if isinstance(check, FactCheck):
            hints[1 - role].append(f"It is {check.answers[0]}.")
            statements[role].append(f"ANSWER: {check.answers[0]}")
    first = [" ".join(["Hello.", *hints[0]]), " ".join(statements[0])]
    second = [" ".join([*hints[1], *statements[1]])]
    return first, second


@pytest.mark.parametrize("scenario_id", LIBRARY.by_tag("verifiable"))
async def test_every_verifiable_scenario_can_be_won_by_both_sides(scenario_id: str) -> None:
    setup = setup_of(scenario_id)
    first, second = winning_scripts(setup)
    episode = await run_episode(setup, [ScriptedAgent(first), ScriptedAgent(second)])
    results = outcomes(episode)
    assert all(outcome == "pass" for role in results for _, outcome, _ in role), results
    assert any(results), "a verifiable scenario has checks"


def test_library_has_twenty_verifiable_scenarios_across_five_kinds() -> None:
    ids = LIBRARY.by_tag("verifiable")
    assert len(ids) >= 20
    kinds = {"bargaining", "coordination", "information_gathering", "resource_division", "secrets"}
    assert all(any(k in LIBRARY.scenarios[i].tags for i in ids) for k in kinds)
    check_kinds = {c.kind for i in ids for g in LIBRARY.scenarios[i].goals for c in g.checks}
    assert check_kinds == {"deal", "agreement", "allocation", "fact", "secret"}
    env = make("sotopia-verifiable")
    assert sorted(env.source.casts) == sorted(ids)


# -- what agents see, evaluators, rewards ------------------------------------------------------


def test_agents_see_the_statement_forms_but_not_each_others_limits() -> None:
    env = make("sotopia-verifiable")
    setup = setup_of("sg_ver_fact_cold_room_code")
    observations, _ = env.reset(options={"setup": setup})
    new, senior = (observations[name] for name in setup.agent_names)
    assert "ANSWER: <answer>" in new and "ANSWER:" not in senior  # only the answering role is told its form
    camera = setup_of("sg_ver_deal_film_camera")
    observations, _ = env.reset(options={"setup": camera})
    seller, buyer = (observations[name] for name in camera.agent_names)
    assert "DEAL: $<amount>" in seller and "DEAL: $<amount>" in buyer
    assert "$220" not in seller and "$180" not in buyer and "my rent" not in buyer


async def test_rule_checker_needs_no_model_and_a_failed_judge_keeps_the_rules() -> None:
    episode = await play("sg_ver_deal_film_camera", ["DEAL: $200"], ["DEAL: $200"])
    name = episode.setup.agent_names[1]
    evaluation = await RuleChecker().aevaluate(episode)
    assert evaluation.ok and evaluation.evaluator == RULES_EVALUATOR
    assert evaluation.score(name, "rules") == 1.0 and evaluation.scores[name]["rules"].score == 1.0
    failed_judge = EpisodeEvaluation(ok=False, error="judge down", evaluator="sotopia-eval:x")
    rewards = apply_evaluation(episode, failed_judge, reward_dimension="rules")
    stored = EpisodeEvaluation.model_validate(episode.evaluation)
    assert not stored.ok and stored.scores == {} and stored.checks[name][0].outcome == "pass"
    assert rewards[name] == 1.0 and episode.scores[name] == {"rules": 1.0}
    assert apply_evaluation(episode, failed_judge, reward_dimension="goal") == rewards  # no judge reward set


async def test_scenario_without_checks_is_not_rule_checked() -> None:
    setup = sample_setups(LIBRARY, "sg_bargain_used_bike", n=1, seed=0)[0]
    episode = await run_episode(setup, [ScriptedAgent(["DEAL: $350"]), ScriptedAgent(["DEAL: $350"])])
    assert episode.evaluation is None
    evaluation = await RuleChecker().aevaluate(episode)
    assert not evaluation.ok and "no rule checks" in (evaluation.error or "")


def test_old_evaluations_without_checks_still_load() -> None:
    old = {"ok": True, "scores": {"A": {"goal": {"score": 7, "reasoning": "r"}}}, "evaluator": "x"}
    evaluation = EpisodeEvaluation.model_validate(old)
    assert evaluation.checks == {} and evaluation.rule_score("A") is None and evaluation.score("A") == 7


# -- parsing and validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "amount"),
    [("$1,200 then", 1200.0), ("350.50.", 350.5), ("2k", 2000.0), (" € 99", 99.0), ("three hundred", None)],
)
def test_read_amount(payload: str, amount: float | None) -> None:
    assert read_amount(payload) == amount


def test_read_split_reasons() -> None:
    pool = {"book": 3, "hat": 2, "ball": 1}
    assert read_split("me 2 books, 1 hat; you 1 book, 1 hat, 1 ball", pool) == (
        {"book": 2, "hat": 1, "ball": 0},
        {"book": 1, "hat": 1, "ball": 1},
    )
    assert "unknown item 'shoes'" in str(read_split("me 2 shoes; you 3 book", pool))
    assert "do not add up" in str(read_split("me 3 book; you 2 hat", pool))
    assert "both 'me' and 'you'" in str(read_split("me 3 book, 2 hat, 1 ball", pool))


def test_rules_score() -> None:
    from scenarios.checks import CheckResult

    def r(outcome: str) -> CheckResult:
        return CheckResult(label="x", kind="deal", role=0, outcome=outcome)  # type: ignore[arg-type]

    assert rules_score([r("pass"), r("fail")]) == 0.5
    assert rules_score([r("pass"), r("undecidable")]) is None and rules_score([]) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("checks: [{kind: deal}]", "needs min_price, max_price or both"),
        ("checks: [{kind: fact, answers: [blue door]}]", "cannot be learned"),
        ("checks: [{kind: agreement, options: [a, b], acceptable: [c]}]", "not among the options"),
        ("checks: [{kind: secret, patterns: ['(']}]", "not a valid regular expression"),
        ("checks: [{kind: allocation, pool: {hat: 2}, min_items: {shoe: 1}}]", "not in the pool"),
        ("checks: [{kind: teleport}]", "kind"),
    ],
)
def test_bad_checks_are_refused_naming_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenarios:\n  - id: bad_checks\n    setting: Two people talk.\n    relationship: stranger\n"
        f"    tags: [verifiable]\n    goals:\n      - text: Get a thing.\n        {body}\n      - Keep a thing.\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFileError) as raised:
        load_custom(path)
    text = str(raised.value)
    assert "bad.yaml" in text and "checks" in text and message in text


def test_verifiable_tag_without_checks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "untagged.yaml"
    path.write_text(
        "scenarios:\n  - id: no_checks\n    setting: Two people talk.\n    relationship: stranger\n"
        "    tags: [verifiable]\n    goals: [Get a thing., Keep a thing.]\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFileError, match="needs at least one rule check"):
        load_custom(path)
