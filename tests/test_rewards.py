"""Reward terms, their ranges, the curriculum and the TRL adapter."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.sip import SIP, SIP_STAGES
from training.rewards import (
    DEFAULT_SCHEDULE,
    TERM_NAMES,
    Curriculum,
    RewardJudgeError,
    accuracy_reward,
    completion_texts,
    content_reward,
    goal_reward,
    length_reward,
    length_window,
    parse_judge_score,
    repetition,
    reward_terms,
    trl_reward_funcs,
)

CE, CI, GC, RG = SIP_STAGES
STORY = (
    "Sally put her marble in the basket and went outside to play. While Sally was away, Anne took "
    "the marble out of the basket and hid it in the box."
)
QUESTION = "Where will Sally look for her marble when she comes back?"
OPTIONS = ["in the basket", "in the box", "in her pocket"]
MCQ = {"context": STORY, "question": QUESTION, "options": OPTIONS, "answer": 0}

GROUNDED = SIP.render(
    {
        CE: "Sally put the marble in the basket, went outside, and Anne moved the marble to the box.",
        CI: "Sally was away, so she did not see the move; she still believes the marble is in the basket.",
        GC: "The question asks where Sally will look for her marble when she comes back.",
        RG: "Sally will look in the basket because of her false belief, so I choose option A.",
    },
    "A",
)
INVENTED = SIP.render(
    {
        CE: "Quantum reactors overheat during monsoon festivals near volcanic harbours.",
        CI: "Purple dragons negotiate tariffs with accountants.",
        GC: "Maximize turbine throughput overnight.",
        RG: "Bake sourdough loaves quickly.",
    },
    "A",
)

any_text = st.text(max_size=400)
tag_soup = st.lists(
    st.sampled_from(
        [
            "<think>",
            "</think>",
            "<Answer>",
            "</Answer>",
            "<answer>",
            "Cue Encoding:",
            "Cue Interpretation:",
            "Goal Clarification:",
            "Response Generation:",
            "\n",
            " ",
            "B",
            "basket",
            "marble",
            "Sally",
            "the box",
            "she believes",
            "1.",
            "**",
            "word " * 30,
            "again again again ",
        ]
    ),
    max_size=40,
).map("".join)
texts = st.one_of(any_text, tag_soup)


# --- format -----------------------------------------------------------------------------------------


def test_format_reward_valid_and_case_insensitive() -> None:
    assert SIP.format_reward(GROUNDED) == 1.0
    assert (
        SIP.format_reward(GROUNDED.replace("<Answer>", "<ANSWER>").replace("</Answer>", "</answer>")) == 1.0
    )
    assert SIP.format_reward("<think>x</think><Answer>B</Answer>") == 1.0  # stages are structure's business


@pytest.mark.parametrize(
    "bad",
    [
        "<think>x<Answer>B</Answer>",
        "x</think><Answer>B</Answer>",
        "<think>x</think>B",
        "<think>x</think><Answer>B",
        "<think>x</think><Answer>B</Answer><Answer>C</Answer>",
        "<think>a</think><think>b</think><Answer>B</Answer>",
        "<Answer>B</Answer><think>x</think>",
        "</think>x<think><Answer>B</Answer>",
        "B",
        "",
    ],
)
def test_format_reward_rejects(bad: str) -> None:
    assert SIP.format_reward(bad) == -1.0
    assert SIP.format_reward(bad, ok=1.0, bad=0.0) == 0.0


# --- structure --------------------------------------------------------------------------------------


def _sip(order: list[str], empty: tuple[str, ...] = ()) -> str:
    body = "\n".join(f"{s}: {'' if s in empty else 'something about ' + s.lower()}" for s in order)
    return f"<think>\n{body}\n</think>\n<Answer>A</Answer>"


@pytest.mark.parametrize(
    ("order", "empty", "expected"),
    [
        ([CE, CI, GC, RG], (), 1.0),
        ([CE, CI, RG], (), 0.75),
        ([CE, GC, CI, RG], (), 0.75),
        ([RG, GC, CI, CE], (), 0.25),
        ([CE, CI, GC, RG], (CI,), 0.75),
        ([CE, CI, GC, RG], (CE, CI, GC, RG), 0.0),
        ([], (), 0.0),
        ([GC, RG, CE, CI], (), 0.5),
    ],
)
def test_structure_reward(order: list[str], empty: tuple[str, ...], expected: float) -> None:
    assert SIP.structure_reward(_sip(order, empty)) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(SIP_STAGES), unique=True))
def test_structure_of_an_in_order_subset_is_its_share(stages: list[str]) -> None:
    in_order = [s for s in SIP_STAGES if s in stages]
    assert SIP.structure_reward(_sip(in_order)) == len(in_order) / 4
    assert SIP.structure_reward(_sip(stages)) <= len(stages) / 4


# --- content ----------------------------------------------------------------------------------------


def test_content_rewards_grounding_over_invention() -> None:
    grounded = content_reward(GROUNDED, **MCQ)
    invented = content_reward(INVENTED, **MCQ)
    assert grounded is not None and invented is not None
    assert grounded > 0.8
    assert invented < 0.1
    assert content_reward("no reasoning at all", **MCQ) == 0.0


def test_content_anchor_halves_a_stage_that_misses_its_job() -> None:
    ok = SIP.render(
        [STORY, "Sally believes the marble is in the basket.", QUESTION, "Option in the basket."], "A"
    )
    no_mind = SIP.render([STORY, "Sally marble basket Anne box.", QUESTION, "Option in the basket."], "A")
    a, b = content_reward(ok, **MCQ), content_reward(no_mind, **MCQ)
    assert a is not None and b is not None
    assert math.isclose(a - b, 0.5 / 4)


def test_content_is_none_without_context() -> None:
    assert content_reward(GROUNDED) is None
    assert content_reward(GROUNDED, context="   ") is None


def test_content_judge_scores_through_litellm() -> None:
    kw = {"mock_response": '{"score": 7, "reason": "fine"}'}
    assert content_reward(GROUNDED, judge_model="gpt-4o-mini", judge_kwargs=kw, **MCQ) == pytest.approx(0.7)


def test_content_judge_failure_raises_never_zero() -> None:
    with pytest.raises(RewardJudgeError):
        content_reward(
            GROUNDED, judge_model="gpt-4o-mini", judge_kwargs={"mock_response": "I like it"}, **MCQ
        )
    with pytest.raises(RewardJudgeError):
        content_reward(
            GROUNDED, judge_model="gpt-4o-mini", judge_kwargs={"mock_response": '{"score": 14}'}, **MCQ
        )


def test_content_judge_backs_off_on_a_rate_limit_then_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transient failure (429) is retried through the shared policy; a lasting one is an error, never a zero."""
    import litellm

    monkeypatch.setenv("SOCIALGYM_RETRY_BASE_DELAY_S", "0")
    monkeypatch.setenv("SOCIALGYM_RETRY_ATTEMPTS", "4")
    calls: list[int] = []

    async def flaky(**kwargs: object) -> SimpleNamespace:
        calls.append(1)
        if len(calls) < 3:
            raise litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content='{"score": 6}'))])

    monkeypatch.setattr(litellm, "acompletion", flaky)
    assert content_reward(GROUNDED, judge_model="gpt-4o-mini", **MCQ) == pytest.approx(0.6)
    assert len(calls) == 3

    async def down(**kwargs: object) -> SimpleNamespace:
        calls.append(1)
        raise litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")

    calls.clear()
    monkeypatch.setattr(litellm, "acompletion", down)
    with pytest.raises(RewardJudgeError, match="slow down"):
        content_reward(GROUNDED, judge_model="gpt-4o-mini", **MCQ)
    assert len(calls) == 4  # the policy's attempts, then the row fails loudly


def test_content_judge_inside_a_running_event_loop() -> None:
    kw = {"mock_response": '```json\n{"score": "3"}\n```'}

    async def inside_loop() -> float | None:
        return content_reward(GROUNDED, judge_model="gpt-4o-mini", judge_kwargs=kw, **MCQ)

    assert asyncio.run(inside_loop()) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("reply", "score"),
    [('{"score": 8}', 8.0), ('Here: {"reason": "ok", "score": 0} done', 0.0), ('{"score": 10.0}', 10.0)],
)
def test_parse_judge_score(reply: str, score: float) -> None:
    assert parse_judge_score(reply) == score


@pytest.mark.parametrize(
    "reply", ["", "seven", '{"score": -1}', '{"score": true}', '{"score": "high"}', '{"rating": 5}']
)
def test_parse_judge_score_rejects(reply: str) -> None:
    with pytest.raises(RewardJudgeError):
        parse_judge_score(reply)


# --- length -----------------------------------------------------------------------------------------


def test_length_window_shape() -> None:
    assert length_window(0, 40, 400) == 0.0
    assert length_window(20, 40, 400) == 0.5
    assert length_window(40, 40, 400) == 1.0
    assert length_window(400, 40, 400) == 1.0
    assert length_window(600, 40, 400) == 0.5
    assert length_window(900, 40, 400) == 0.0
    assert length_window(500, 40, 400, decay=100) == 0.0
    with pytest.raises(ValueError):
        length_window(10, 50, 40)


def test_repetition() -> None:
    assert repetition("one two three four five") == 0.0
    assert repetition("a b c " * 20) > 0.9
    assert repetition("too short") == 0.0


def test_length_reward() -> None:
    fresh = " ".join(f"w{i}" for i in range(100))
    assert length_reward(f"<think>{fresh}</think><Answer>A</Answer>") == 1.0
    assert length_reward(f"<think>{fresh}</think>", lo=200, hi=400) == 0.5
    looped = "she is sad " * 40
    assert length_reward(f"<think>{looped}</think>") < 0.1
    assert length_reward("<think></think><Answer>A</Answer>") == 0.0
    assert length_reward(fresh) == 1.0  # no think block: the whole completion is the reasoning


# --- accuracy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "fields", "expected"),
    [
        (GROUNDED, MCQ, 1.0),
        ("<Answer>B</Answer>", MCQ, -1.0),
        ("<Answer>who knows</Answer>", MCQ, -1.0),
        ("in the basket", MCQ, 1.0),
        ("B", {"options": OPTIONS, "answer_letter": "B"}, 1.0),
        ("(b)", {"options": OPTIONS, "answer": "B"}, 1.0),
        ("A", {"options": OPTIONS, "answer_text": "in the box"}, -1.0),
        ("[[C]]", {"answer_letter": "C"}, 1.0),
        ("<Answer>the green box</Answer>", {"answer_text": "green box"}, 1.0),
        ("<Answer>Green  Box.</Answer>", {"answer": "green box"}, 1.0),
        ("<Answer>It is in the green box.</Answer>", {"answer_text": "green box"}, 1.0),
        ("<Answer>It is in the green box, I am really sure</Answer>", {"answer_text": "green box"}, -1.0),
        ("<Answer>red box</Answer>", {"answer_text": "green box"}, -1.0),
        (
            "<Answer>green box or red box or blue box or the attic or the kitchen</Answer>",
            {"answer_text": "green box"},
            -1.0,
        ),
    ],
)
def test_accuracy_reward(completion: str, fields: dict, expected: float) -> None:
    assert accuracy_reward(completion, **fields) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "red_bucket",
        "The pear is in the red bucket.",
        "red bucket or green box",  # a hedge: training once paid for it while evaluation did not
        "green box or red bucket",
        "red bucket, not the green box",
        "the green box",
        "",
    ],
)
def test_training_rewards_exactly_what_the_benchmark_scores_right(reply: str) -> None:
    from eval.benchmarks.protocol import read_reply
    from eval.benchmarks.scoring import is_correct
    from eval.items import MCQItem

    item = MCQItem(id="q", benchmark="tomrl", context=STORY, question=QUESTION, answer_text="red_bucket")
    text = SIP.render(["a", "b", "c", "d"], reply) if reply else "<think>x</think><Answer></Answer>"
    benchmark_right = is_correct(item, read_reply(item, [], text, sip=True).prediction)
    assert accuracy_reward(text, answer_text="red_bucket") == (1.0 if benchmark_right else -1.0)


def test_accuracy_custom_values_and_missing_gold() -> None:
    assert accuracy_reward("A", correct=2.0, wrong=-2.0, **MCQ) == 2.0
    assert accuracy_reward("C", correct=2.0, wrong=-2.0, **MCQ) == -2.0
    assert accuracy_reward("A") is None
    assert accuracy_reward("A", options=OPTIONS) is None
    assert accuracy_reward("A", options=[], answer=None, answer_text="") is None


def test_accuracy_invalid_gold_raises() -> None:
    with pytest.raises(ValueError):
        accuracy_reward("A", options=OPTIONS, answer=7)
    with pytest.raises(ValueError):
        accuracy_reward("A", options=OPTIONS, answer_letter="Z")


# --- goal -------------------------------------------------------------------------------------------


def test_goal_reward() -> None:
    assert goal_reward("x", goal_score=7.5) == 0.75
    assert goal_reward(goal_score=0) == 0.0
    assert goal_reward(goal_score=10) == 1.0
    assert goal_reward("x") is None
    assert goal_reward("x", goal_score=float("nan")) is None
    with pytest.raises(ValueError):
        goal_reward(goal_score=11)


def test_rules_reward() -> None:
    from training.rewards import rules_reward

    assert rules_reward("x", rule_score=0.5) == 0.5 and rules_reward(rule_score=1) == 1.0
    assert rules_reward("x") is None and rules_reward(rule_score=float("nan")) is None
    with pytest.raises(ValueError):
        rules_reward(rule_score=1.5)


# --- ranges (property) ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(completion=texts, score=st.one_of(st.none(), st.floats(0, 10)))
def test_every_term_stays_in_its_range(completion: str, score: float | None) -> None:
    values = reward_terms(completion, goal_score=score, **MCQ)
    assert values["format"] in (-1.0, 1.0)
    assert 0.0 <= values["structure"] <= 1.0
    assert values["content"] is not None and 0.0 <= values["content"] <= 1.0
    assert 0.0 <= values["length"] <= 1.0
    assert values["accuracy"] in (-1.0, 1.0)
    assert (values["goal"] is None) == (score is None)
    if score is not None:
        assert 0.0 <= values["goal"] <= 1.0
    if SIP.check(completion).ok:
        assert values["format"] == 1.0 and values["structure"] == 1.0


# --- curriculum -----------------------------------------------------------------------------------------------------------------------------------------------------------


def test_default_curriculum_moves_from_format_to_outcome() -> None:
    c = Curriculum()
    early, late = c.weights(0.0), c.weights(1.0)
    assert set(early) == set(TERM_NAMES)
    assert early["format"] > late["format"] and early["structure"] > late["structure"]
    assert (
        late["accuracy"] > early["accuracy"]
        and late["goal"] > early["goal"]
        and late["content"] > early["content"]
    )
    assert [p["name"] for p in DEFAULT_SCHEDULE] == ["warmup", "grounding", "outcome"]
    assert c.phase(0.0) == "warmup" and c.phase(0.5) == "grounding" and c.phase(0.9) == "outcome"


def test_curriculum_interpolates_linearly_between_phases() -> None:
    c = Curriculum(
        schedule={"a": {"at": 0.2, "weights": {"format": 1.0}}, "b": {"at": 0.6, "weights": {"goal": 2.0}}}
    )
    assert c.weights(0.0)["format"] == 1.0  # held before the first phase
    mid = c.weights(0.4)
    assert mid["format"] == pytest.approx(0.5) and mid["goal"] == pytest.approx(1.0) and mid["content"] == 0.0
    assert c.weights(1.0) == {**dict.fromkeys(TERM_NAMES, 0.0), "goal": 2.0}


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1))
def test_default_weights_stay_within_the_phase_bounds(progress: float) -> None:
    w = Curriculum().weights(progress)
    for k in TERM_NAMES:
        values = [p["weights"].get(k, 0.0) for p in DEFAULT_SCHEDULE]
        assert min(values) - 1e-12 <= w[k] <= max(values) + 1e-12


@pytest.mark.parametrize(
    "schedule",
    [
        [],
        [{"name": "a", "at": 0.0, "weights": {"fromat": 1.0}}],
        [{"name": "a", "at": 0.0, "weights": {"format": -1.0}}],
        [{"name": "a", "at": 0.5, "weights": {}}, {"name": "b", "at": 0.5, "weights": {}}],
        [{"name": "a", "at": 0.0, "weights": {}}, {"name": "a", "at": 0.5, "weights": {}}],
        [{"name": "a", "at": 1.5, "weights": {}}],
        [{"name": "a", "at": 0.0, "weights": {}, "extra": 1}],
    ],
)
def test_curriculum_validation(schedule: list) -> None:
    with pytest.raises(ValidationError):
        Curriculum(schedule=schedule)


def test_curriculum_progress_must_be_in_range_and_constant_works() -> None:
    c = Curriculum.constant({"accuracy": 1.0})
    assert c.weights(0.7)["accuracy"] == 1.0 and c.weights(0.7)["format"] == 0.0
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError):
            c.weights(bad)


# --- TRL adapter ------------------------------------------------------------------------------------


def _batch() -> dict:
    return {
        "prompts": ["p1", "p2", "p3"],
        "completions": [GROUNDED, [{"role": "assistant", "content": "<Answer>B</Answer>"}], "Hello there."],
        "context": [STORY, STORY, "A dinner party."],
        "question": [QUESTION, QUESTION, None],
        "goal": ["", "", "Get the host to seat you by the window."],
        "options": [OPTIONS, OPTIONS, []],
        "answer": [0, 0, -1],
        "answer_text": [OPTIONS[0], OPTIONS[0], ""],
        "goal_score": [None, None, 6.0],
        "rule_score": [None, None, 1.0],
        "completion_ids": [[1], [2], [3]],
    }


def test_trl_funcs_are_named_and_score_rows() -> None:
    funcs = trl_reward_funcs()
    assert [f.__name__ for f in funcs] == list(TERM_NAMES)
    out = {f.__name__: f(**_batch()) for f in funcs}
    assert out["format"] == [1.0, -1.0, -1.0]
    assert out["accuracy"] == [1.0, -1.0, None]
    assert out["goal"] == [None, None, 0.6]
    assert out["rules"] == [None, None, 1.0]
    assert all(len(v) == 3 for v in out.values())


def test_curriculum_weighs_the_trl_terms_through_trainer_reward_weights() -> None:
    """The one path training takes: raw term values from the TRL functions, weights set on the trainer."""
    torch = pytest.importorskip("torch")
    from training.callbacks import CurriculumCallback

    funcs = trl_reward_funcs(["format", "accuracy", "goal"])
    curriculum = Curriculum(
        schedule=[
            {"name": "a", "at": 0.0, "weights": {"format": 2.0, "accuracy": 1.0}},
            {"name": "b", "at": 1.0, "weights": {"format": 0.0, "accuracy": 1.0, "goal": 2.0}},
        ]
    )
    trainer = SimpleNamespace(reward_weights=None)
    callback = CurriculumCallback(trainer, curriculum, [f.__name__ for f in funcs])
    callback.on_step_begin(None, SimpleNamespace(global_step=25, max_steps=100), None)
    assert trainer.reward_weights.tolist() == [1.5, 1.0, 0.5]
    values = torch.tensor([[math.nan if v is None else v for v in f(**_batch())] for f in funcs]).T
    # TRL 1.16 sums the weighted terms of a row, leaving out the ones a row has no value for
    summed = (values * trainer.reward_weights.unsqueeze(0)).nansum(dim=1)
    assert summed.tolist() == pytest.approx([2.5, -2.5, -1.5 + 0.5 * 0.6])


def test_trl_policy_texts_average_per_turn_terms() -> None:
    (fmt, acc) = trl_reward_funcs(["format", "accuracy"])
    batch = {
        "prompts": ["p"],
        "completions": ["decoded trajectory"],
        "options": [OPTIONS],
        "answer": [0],
        "answer_text": [OPTIONS[0]],
        "policy_texts": [["<think>x</think><Answer>B</Answer>", "no tags", "<Answer>A</Answer>"]],
    }
    assert fmt(**batch) == [pytest.approx(-1 / 3)]
    assert acc(**batch) == [1.0]  # the last turn carries the answer


def test_trl_term_kwargs_and_unknown_names() -> None:
    (acc,) = trl_reward_funcs(["accuracy"], term_kwargs={"accuracy": {"correct": 2.0, "wrong": -2.0}})
    assert acc(**_batch()) == [2.0, -2.0, None]
    with pytest.raises(KeyError):
        trl_reward_funcs(["fluency"])


def test_trl_judged_content_batches_concurrently() -> None:
    (content,) = trl_reward_funcs(
        ["content"],
        term_kwargs={
            "content": {"judge_model": "gpt-4o-mini", "judge_kwargs": {"mock_response": '{"score": 9}'}}
        },
    )
    batch = _batch()
    batch["context"][2] = None
    assert content(**batch) == [pytest.approx(0.9), pytest.approx(0.9), None]


def test_completion_texts() -> None:
    assert completion_texts("x") == ["x"]
    msgs = [
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
    ]
    assert completion_texts(msgs) == ["a", "b"]
    assert completion_texts([]) == [""]
    assert completion_texts(None) == [""]
