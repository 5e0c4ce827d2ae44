"""Judge reliability: agreement statistics against hand-computed values, juries, repeats, swapped order,
the judge cache, family warnings, cost estimates, and the run card of a real interactive run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fake_llm_server import FakeLLMServer, Reply

from agents.client import ResponseCache
from envs.types import DimensionScore, Episode, EpisodeEvaluation, EpisodeStatus, Judgement
from eval.interactive import SUMMARY_FILE, main
from eval.judge import SotopiaJudge, judge_messages
from eval.jury import aggregate, describe_costs, estimate_cost, family_warnings, model_family
from eval.reliability import (
    Rating,
    krippendorff_alpha,
    order_effect,
    reliability,
    repeat_spread,
    rule_agreement,
)
from eval.store import EpisodeStore
from scenarios import load_library
from scenarios.checks import CheckResult
from scenarios.graph import sample_setups

LIBRARY = load_library()


def camera_episode(episode_id: str = "e1") -> Episode:
    setup = sample_setups(LIBRARY, "sg_ver_deal_film_camera", n=1, seed=0)[0]
    return Episode(id=episode_id, setup=setup, status=EpisodeStatus.finished)


# -- statistics against hand-computed values ---------------------------------------------------


def test_krippendorff_alpha_matches_hand_computation() -> None:
    # two raters, three units (1,1) (2,2) (3,4): D_o = 2/6, D_e = 82/30, alpha = 1 - D_o/D_e
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 4]]) == pytest.approx(1 - (2 / 6) / (82 / 30))
    # three raters with gaps: unit 1 (1,1), unit 2 (2,3,3), unit 3 one value only (not pairable)
    # pairable values 1,1,2,3,3: D_o = (0 + 4/2)/5 = 0.4, D_e = 40/20 = 2, alpha = 0.8
    assert krippendorff_alpha([[1, 2, None], [1, 3, 5], [None, 3, None]]) == pytest.approx(0.8)
    assert krippendorff_alpha([[5, 5, 5], [5, 5, 5]]) is None  # no variation: undefined
    assert krippendorff_alpha([[1, 2, 3]]) is None  # one rater
    assert krippendorff_alpha([[1, None], [None, 2]]) is None  # no unit rated twice


def rating(judge: str, score: float, *, repeat: int = 0, order: str = "given", episode: str = "e1") -> Rating:
    return Rating(
        episode_id=episode, agent="A", judge=judge, repeat=repeat, order=order, dimension="goal", score=score
    )


def test_repeat_spread_and_order_effect_by_hand() -> None:
    found = [rating("j", 6, repeat=0), rating("j", 8, repeat=1), rating("j", 3, repeat=0, episode="e2"),
             rating("j", 3, repeat=1, episode="e2")]  # fmt: skip
    (spread,) = repeat_spread(found)
    assert spread.units == 2 and spread.mean_sd == pytest.approx((math.sqrt(2) + 0) / 2)
    # repeats as raters over units (6,8) and (3,3): values 6,8,3,3; D_o = (8/1)/4 = 2,
    # D_e = (2*(4+9+9+25+25+0))/(4*3) = 144/12 = 12, alpha = 1 - 2/12
    assert spread.alpha == pytest.approx(1 - 2 / 12)
    swapped = [rating("j", 7), rating("j", 5, order="swapped"), rating("j", 4, episode="e2"),
               rating("j", 4, order="swapped", episode="e2")]  # fmt: skip
    (effect,) = order_effect(swapped)
    assert effect.difference.mean == pytest.approx(1.0) and effect.difference.n == 2


def test_jury_aggregate_is_the_mean_of_judge_means_and_needs_every_judge() -> None:
    def judgement(judge: str, score: float | None, repeat: int = 0) -> Judgement:
        if score is None:
            return Judgement(judge=judge, repeat=repeat, ok=False, error="bad json")
        return Judgement(
            judge=judge, repeat=repeat, ok=True, scores={"A": {"goal": DimensionScore(score=score)}}
        )

    evaluation = aggregate(
        [judgement("a", 6), judgement("a", 8, 1), judgement("b", 4)], ["a", "b"], "jury", 0.1
    )
    assert evaluation.ok and evaluation.scores["A"]["goal"].score == pytest.approx(5.5)  # (7 + 4) / 2
    assert len(evaluation.judgements) == 3
    partial = aggregate([judgement("a", 6), judgement("b", None)], ["a", "b"], "jury", 0.1)
    assert not partial.ok and partial.scores == {} and "b: bad json" in (partial.error or "")
    assert len(partial.judgements) == 2  # the failed judgement is kept too


def test_rule_agreement_by_hand() -> None:
    episodes = []
    for i, (rules, goal) in enumerate([(1.0, 8), (1.0, 9), (0.5, 3), (0.0, 4)]):
        episode = camera_episode(f"e{i}")
        name = episode.setup.agent_names[0]
        outcomes = (
            ["pass", "pass"] if rules == 1.0 else (["pass", "fail"] if rules == 0.5 else ["fail", "fail"])
        )
        checks = [CheckResult(label=f"c{k}", kind="deal", role=0, outcome=o) for k, o in enumerate(outcomes)]  # type: ignore[arg-type]
        evaluation = EpisodeEvaluation(
            ok=True, scores={name: {"goal": DimensionScore(score=goal)}}, checks={name: checks}
        )
        episode.evaluation = evaluation.model_dump(mode="json")
        episodes.append(episode)
    found = rule_agreement(episodes)
    assert found is not None and found.n == 4
    # x = (1, 1, .5, 0), y = (8, 9, 3, 4): r = 3.5 / sqrt(0.6875 * 26)
    assert found.pearson_r == pytest.approx(3.5 / math.sqrt(0.6875 * 26))
    assert (
        found.auc == 1.0
        and found.goal_when_all_passed.mean == 8.5
        and found.goal_when_some_failed.mean == 3.5
    )


def test_old_single_judgements_count_as_one_judge() -> None:
    episode = camera_episode()
    name = episode.setup.agent_names[0]
    episode.evaluation = {"ok": True, "evaluator": "sotopia-eval:x", "scores": {name: {"goal": {"score": 6}}}}
    found = reliability([episode])
    assert found.judges == ["sotopia-eval:x"] and found.empty and found.judgements == 0


# -- the judge: swapped order, cache ---------------------------------------------------------------


def reply(first: int, second: int) -> Reply:
    return Reply.text(json.dumps({"agent_1": {"goal": {"reasoning": "r", "score": first}},
                                  "agent_2": {"goal": {"reasoning": "r", "score": second}}}))  # fmt: skip


async def test_swapped_order_presents_the_last_role_first_and_maps_scores_back() -> None:
    episode = camera_episode()
    seller, buyer = episode.setup.agent_names
    messages = judge_messages(episode, SotopiaJudge("local", dimensions="goal").dimensions, swapped=True)
    assert (
        f"agent_1 is {buyer}" in messages[1]["content"] and f"agent_2 is {seller}" in messages[1]["content"]
    )
    with FakeLLMServer(default=reply(3, 9)) as server:
        judge = SotopiaJudge("openai/fake", api_base=server.api_base, dimensions="goal")
        given = await judge.ajudge(episode)
        swapped = await judge.ajudge(episode, swapped=True)
    assert given.scores[seller]["goal"].score == 3 and given.scores[buyer]["goal"].score == 9
    assert swapped.order == "swapped" and swapped.scores[buyer]["goal"].score == 3
    assert swapped.scores[seller]["goal"].score == 9


async def test_judge_cache_answers_the_same_request_and_keeps_only_valid_judgements(tmp_path: Path) -> None:
    episode = camera_episode()
    with FakeLLMServer(default=reply(6, 4)) as server:
        server.script(Reply.text("not json"))
        cache = ResponseCache(tmp_path / "cache")
        judge = SotopiaJudge("openai/fake", api_base=server.api_base, dimensions="goal", cache=cache)
        first = await judge.ajudge(episode)
        assert first.ok and first.attempts == 2 and not first.cached and server.count == 2
        again = await SotopiaJudge(
            "openai/fake",
            api_base=server.api_base,
            dimensions="goal",
            cache=ResponseCache(tmp_path / "cache"),
        ).ajudge(episode)
        # attempt 1's invalid reply was not kept: asked again (and valid now); attempt 2's was kept
        assert again.ok and server.count == 3
        third = await judge.ajudge(episode)
        assert third.cached and third.scores == first.scores and server.count == 3  # free and repeatable
        other_repeat = await judge.ajudge(episode, repeat=1)
        assert not other_repeat.cached and server.count == 4  # a repeat is its own request


# -- families and cost ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "family"),
    [
        ("local", "smollm"), ("sip:local", "smollm"), ("openai/gpt-4o", "gpt (OpenAI)"), ("openai/o3-mini", "gpt (OpenAI)"),
        ("anthropic/claude-3-5-sonnet-20241022", "claude (Anthropic)"), ("hosted_vllm/meta-llama/Llama-3.1-8B-Instruct", "llama (Meta)"),
        ("Qwen/Qwen3-4B", "qwen (Alibaba)"), ("gemini/gemini-1.5-pro", "gemini/gemma (Google)"), ("openai/my-server", None),
    ],
)  # fmt: skip
def test_model_family(spec: str, family: str | None) -> None:
    assert model_family(spec) == family


def test_model_family_of_a_checkpoint_reads_its_base(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"_name_or_path": "Qwen/Qwen3-4B"}))
    assert model_family(f"sip:{tmp_path}") == "qwen (Alibaba)"


def test_family_warning_names_the_pair() -> None:
    warnings = family_warnings(["sip:local", "openai/gpt-4o-mini"], ["local", "anthropic/claude-3-opus"])
    assert len(warnings) == 1 and "'local'" in warnings[0] and "'sip:local'" in warnings[0]


def test_paid_judge_cost_is_estimated_from_litellms_price_list() -> None:
    episodes = [camera_episode(f"e{i}") for i in range(3)]
    paid = SotopiaJudge("openai/gpt-4o", dimensions="goal")
    (cost,) = estimate_cost([paid], episodes, calls_per_judge=2)
    assert cost.calls == 6 and cost.prompt_tokens > 400 and cost.paid and cost.usd is not None
    import litellm

    prompt_usd, completion_usd = litellm.cost_per_token(
        model="openai/gpt-4o", prompt_tokens=cost.prompt_tokens, completion_tokens=paid.max_tokens
    )
    assert cost.usd == pytest.approx(6 * (prompt_usd + completion_usd))
    assert "$" in (describe_costs([cost]) or "")
    free = estimate_cost([SotopiaJudge("local", dimensions="goal")], episodes, 1)
    assert describe_costs(free) is None
    unknown = estimate_cost([SotopiaJudge("openai/my-server", dimensions="goal")], episodes, 1)
    assert unknown[0].usd is None and "price unknown" in (describe_costs(unknown) or "")


# -- a jury run end to end -----------------------------------------------------------------------


class VaryingJudges(FakeLLMServer):
    """Judge replies that differ by model and by call: fake-a scores 6/7 alternately, fake-b 3/4."""

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            model = request.get("model", "")
            calls = sum(1 for r in self.requests if r.get("model") == model)
        base = 6 if model.endswith("fake-a") else 3
        score = base + calls % 2
        return reply(score, 10 - score)


def test_jury_with_repeats_and_both_orders_stores_each_judgement_and_a_run_card(tmp_path: Path) -> None:
    line = "scripted:AGREE: Sunday|AGREE: Thursday 4pm|Fine."
    with VaryingJudges() as server:
        argv = [
            "--model", line, "--partner", line, "--judge", "openai/fake-a", "--judge", "openai/fake-b",
            "--judge-api-base", server.api_base, "--judge-repeats", "2", "--judge-order", "both",
            "--judge-dimensions", "goal", "--scenarios", "sotopia-verifiable", "--limit", "2",
            "--max-turns", "4", "--out", str(tmp_path / "run"),
        ]  # fmt: skip
        assert main(argv) == 0
        calls = server.count
        assert calls == 2 * 2 * 2 * 2  # episodes x judges x repeats x orders
        assert main([*argv[:-1], str(tmp_path / "again")]) == 0
        assert server.count == calls  # the same episodes judged again: every judgement from the cache
    summary = json.loads((tmp_path / "run" / SUMMARY_FILE).read_text())
    found = summary["reliability"]
    assert found["judgements"] == 16 and found["cached"] == 0
    (jury,) = found["jury"]
    assert jury["dimension"] == "goal" and jury["judges"] == 2 and jury["units"] == 4
    assert {r["judge"] for r in found["repeats"]} == {
        "sotopia-eval:openai/fake-a",
        "sotopia-eval:openai/fake-b",
    }
    assert (
        all(r["units"] == 8 and r["mean_sd"] is not None for r in found["repeats"])
        and len(found["order"]) == 2
    )
    assert found["rules"]["n"] == 4  # agents (both sides) with decided checks and a jury goal score
    assert {c["kind"] for c in summary["checks"]} == {"agreement"} and summary["checks"][0]["passed"] == 2
    again = json.loads((tmp_path / "again" / SUMMARY_FILE).read_text())["reliability"]
    assert again["cached"] == 16
    with EpisodeStore(tmp_path / "run", create=False) as store:
        (episode, _) = store.episodes()
        card = store.runs()[-1].card
    evaluation = EpisodeEvaluation.model_validate(episode.evaluation)
    assert len(evaluation.judgements) == 8 and evaluation.checks
    name = episode.setup.agent_names[0]
    per_judge = {
        judge: sum(j.scores[name]["goal"].score for j in evaluation.judgements if j.judge == judge) / 4
        for judge in {j.judge for j in evaluation.judgements}
    }
    assert evaluation.scores[name]["goal"].score == pytest.approx(sum(per_judge.values()) / 2)
    assert card is not None and card == summary["run_card"] | {"created_at": card["created_at"]}
    assert card["scenario_set"] == "sotopia-verifiable" and len(card["scenarios_sha256"]) == 64
    assert (
        card["judge_repeats"] == 2 and card["judge_orders"] == ["given", "swapped"] and card["max_turns"] == 4
    )
    assert {m["role"] for m in card["models"]} == {"test", "partner", "judge"}
    assert card["packages"]["litellm"] and card["test_side"] == "first" and card["seed"] == 0
    from eval.report import write_report

    html = write_report([tmp_path / "run"], tmp_path / "report.html").read_text(encoding="utf-8")
    for section in ('id="rules"', 'id="reliability"', 'id="runcards"', "Jury agreement", "Repeat spread"):
        assert section in html, section
    assert "Order effect" in html and card["scenarios_sha256"][:16] in html
    assert "8 single judgements (judge × repeat × order)" in html and "outcome-pass" in html


def test_report_of_a_single_judge_run_without_cards_says_what_is_missing(tmp_path: Path) -> None:
    from eval.report import write_report

    episode = camera_episode()
    name = episode.setup.agent_names[0]
    episode.evaluation = {"ok": True, "evaluator": "sotopia-eval:x", "scores": {name: {"goal": {"score": 6}}}}
    with EpisodeStore(tmp_path / "old") as store:
        store.put(episode)  # no run card: as a run written before cards existed
    html = write_report([tmp_path / "old"], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "One judgement per episode" in html and "No run card recorded" in html
    assert 'id="rules"' not in html  # no rule checks in this run
