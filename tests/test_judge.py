"""SOTOPIA-EVAL judge: output parsing and validation, retries against a fake server, dimension sets,
and one slow check with the real embedded judge."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fake_llm_server import FakeLLMServer, Reply

from envs.types import ActionType, AgentAction, Episode, EpisodeEvaluation, EpisodeStatus, Turn
from eval.judge import (
    DIMENSIONS_BY_NAME,
    SOTOPIA_DIMENSIONS,
    Dimension,
    JudgementError,
    SotopiaJudge,
    judgement_schema,
    parse_judgement,
    resolve_dimensions,
)
from scenarios.graph import sample_setups
from scenarios.load import load_library

NAMES = ["Ada Brown", "Ben Cole"]
ALL = SOTOPIA_DIMENSIONS
GOAL = resolve_dimensions("goal")


def valid_block(offset: int = 0, dims: tuple[Dimension, ...] = ALL) -> dict[str, Any]:
    """A valid judgement block: each dimension's low end plus ``offset`` (clamped to its range)."""
    return {d.name: {"reasoning": f"{d.name} reason", "score": min(d.high, d.low + offset)} for d in dims}


def judgement(dims: tuple[Dimension, ...] = ALL, first: int = 3, second: int = 5) -> str:
    """JSON text of a valid judgement for both agents."""
    return json.dumps({"agent_1": valid_block(first, dims), "agent_2": valid_block(second, dims)})


# -- parsing -----------------------------------------------------------------------------------


def test_parse_valid_agent_keys() -> None:
    scores = parse_judgement(judgement(), NAMES, ALL)
    assert set(scores) == set(NAMES)
    assert scores["Ada Brown"]["goal"].score == 3
    assert scores["Ben Cole"]["goal"].score == 5
    assert scores["Ada Brown"]["secret"].score == -7  # low -10 + 3
    assert scores["Ben Cole"]["relationship"].reasoning == "relationship reason"
    assert all(set(per) == {d.name for d in ALL} for per in scores.values())


def test_parse_keys_by_name_case_and_whitespace_insensitive() -> None:
    text = json.dumps({" ada brown ": valid_block(1, GOAL), "BEN COLE": valid_block(9, GOAL)})
    scores = parse_judgement(text, NAMES, GOAL)
    assert scores["Ada Brown"]["goal"].score == 1
    assert scores["Ben Cole"]["goal"].score == 9


def test_parse_numeric_strings_whole_floats_and_short_forms() -> None:
    text = json.dumps(
        {
            "agent_1": {"goal": {"reasoning": "r", "score": "7"}},
            "agent_2": {"goal": 8.0},
        }
    )
    scores = parse_judgement(text, NAMES, GOAL)
    assert scores["Ada Brown"]["goal"].score == 7
    assert scores["Ben Cole"]["goal"].score == 8
    listed = json.dumps({"agent_1": {"goal": ["fine", 4]}, "agent_2": {"goal": [" meh", "2"]}})
    scores = parse_judgement(listed, NAMES, GOAL)
    assert (scores["Ada Brown"]["goal"].score, scores["Ada Brown"]["goal"].reasoning) == (4, "fine")
    assert scores["Ben Cole"]["goal"].score == 2


def test_parse_json_inside_fences_and_prose() -> None:
    body = judgement(GOAL)
    for text in (f"```json\n{body}\n```", f"Here is my evaluation:\n{body}\nThanks."):
        assert parse_judgement(text, NAMES, GOAL)["Ben Cole"]["goal"].score == 5


@pytest.mark.parametrize(
    ("dimension", "score"),
    [("goal", 11), ("goal", -1), ("secret", 1), ("relationship", -6), ("financial_and_material_benefits", 6)],
)
def test_parse_out_of_range(dimension: str, score: int) -> None:
    dim = DIMENSIONS_BY_NAME[dimension]
    data = {"agent_1": valid_block(0, (dim,)), "agent_2": valid_block(0, (dim,))}
    data["agent_2"][dimension]["score"] = score
    with pytest.raises(JudgementError) as caught:
        parse_judgement(json.dumps(data), NAMES, (dim,))
    message = str(caught.value)
    assert f"agent_2 (Ben Cole): {dimension} score {score}" in message
    assert f"[{dim.low}, {dim.high}]" in message


@pytest.mark.parametrize("score", [7.5, "7.5", "high", None, True, False, [1], 10**400])
def test_parse_non_integer_scores(score: object) -> None:
    data = {"agent_1": {"goal": {"reasoning": "r", "score": score}}, "agent_2": valid_block(2, GOAL)}
    with pytest.raises(
        JudgementError, match=r"agent_1 \(Ada Brown\): goal score .* (is not a number|is not an integer)"
    ):
        parse_judgement(json.dumps(data), NAMES, GOAL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no json here", "no JSON object"),
        ('{"agent_1": {"goal": 3,}', "no JSON object|malformed JSON"),
        ('prefix {"agent_1": {"goal": 3}, oops} suffix', "malformed JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("", "no JSON object"),
    ],
)
def test_parse_malformed(text: str, expected: str) -> None:
    with pytest.raises(JudgementError, match=expected):
        parse_judgement(text, NAMES, GOAL)


def test_parse_missing_agent() -> None:
    text = json.dumps({"agent_1": valid_block(2, GOAL)})
    with pytest.raises(JudgementError, match=r"missing evaluation for agent_2 \(Ben Cole\)"):
        parse_judgement(text, NAMES, GOAL)
    text = json.dumps({"agent_1": valid_block(2, GOAL), "agent_2": "great job"})
    with pytest.raises(JudgementError, match="missing evaluation for agent_2"):
        parse_judgement(text, NAMES, GOAL)


def test_parse_missing_dimension() -> None:
    data = {"agent_1": valid_block(2), "agent_2": valid_block(2)}
    del data["agent_1"]["knowledge"]
    with pytest.raises(JudgementError, match=r"agent_1 \(Ada Brown\): missing dimension 'knowledge'"):
        parse_judgement(json.dumps(data), NAMES, ALL)


def test_judgement_schema_ranges_and_required_keys() -> None:
    schema = judgement_schema(ALL, 2, form="object")
    assert schema["required"] == ["agent_1", "agent_2"]
    agent = schema["properties"]["agent_2"]
    assert agent["required"] == [d.name for d in ALL]
    secret = agent["properties"]["secret"]["properties"]["score"]
    assert (secret["type"], secret["minimum"], secret["maximum"]) == ("integer", -10, 0)
    assert secret["enum"] == list(range(-10, 1))  # llama.cpp constrains decoding by enum, not by min/max
    assert judgement_schema(GOAL, 3)["required"] == ["agent_1", "agent_2", "agent_3"]
    reasoning = agent["properties"]["goal"]["properties"]["reasoning"]
    assert reasoning == {"type": "string", "maxLength": 300}
    uncapped = judgement_schema(GOAL, 2, reasoning_chars=None, form="object")["properties"]["agent_1"]
    assert uncapped["properties"]["goal"]["properties"]["reasoning"] == {"type": "string"}
    uncapped_pair = judgement_schema(GOAL, 2, reasoning_chars=None)["properties"]["agent_1"]["properties"][
        "goal"
    ]
    assert uncapped_pair["prefixItems"][0] == {"type": "string"}


def test_pair_form_is_the_default_schema_and_compiles_to_a_llama_cpp_grammar() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    schema = judgement_schema(ALL, 2)
    entry = schema["properties"]["agent_1"]["properties"]["secret"]
    assert (entry["type"], entry["minItems"], entry["maxItems"]) == ("array", 2, 2)
    reasoning, score = entry["prefixItems"]
    assert reasoning == {"type": "string", "maxLength": 300}
    assert (score["type"], score["enum"]) == ("integer", list(range(-10, 1)))
    object_form = judgement_schema(ALL, 2, form="object")["properties"]["agent_1"]["properties"]["secret"]
    assert object_form["properties"]["reasoning"] == reasoning
    for form in ("pair", "object"):  # what the embedded server does with the schema it is sent
        assert LlamaGrammar.from_json_schema(json.dumps(judgement_schema(ALL, 2, form=form)), verbose=False)
    # a reply in either form is read the same way
    pairs = {
        k: {d: [v["reasoning"], v["score"]] for d, v in valid_block(off).items()}
        for k, off in (("agent_1", 3), ("agent_2", 5))
    }
    assert parse_judgement(json.dumps(pairs), NAMES, ALL) == parse_judgement(judgement(ALL, 3, 5), NAMES, ALL)


def test_judge_prompt_describes_the_form_it_asks_for(server: FakeLLMServer) -> None:
    for form, shape in (("pair", '["reasoning", N]'), ("object", '{"reasoning": "...", "score": N}')):
        server.script(Reply.text(judgement(GOAL)))
        assert fake_judge(server, dimensions="goal", verdict_form=form).evaluate(small_episode()).ok
        assert server.requests[-1]["messages"][0]["content"].endswith(
            f"each maps dimension names to {shape}."
        )


def test_resolve_dimensions() -> None:
    assert [d.name for d in resolve_dimensions("all")] == [d.name for d in ALL]
    assert [d.name for d in resolve_dimensions("goal")] == ["goal"]
    assert [d.name for d in resolve_dimensions(" goal , secret ")] == ["goal", "secret"]
    custom = Dimension(name="humour", low=1, high=3, description="Was the agent funny?")
    assert resolve_dimensions([custom, "goal"]) == (custom, DIMENSIONS_BY_NAME["goal"])
    with pytest.raises(ValueError, match="unknown judge dimension 'charm'"):
        resolve_dimensions("goal,charm")
    with pytest.raises(ValueError, match="at least one dimension"):
        resolve_dimensions(" , ")


# -- the judge against a fake server -----------------------------------------------------------


def small_episode() -> Episode:
    """A short, hand-made finished episode of a built-in hard scenario."""
    library = load_library()
    setup = sample_setups(library, sorted(library.hard())[0], n=1, seed=0)[0]
    first, second = setup.agent_names
    acts = [
        (
            first,
            AgentAction(
                action_type=ActionType.speak, argument="Hi! Do you have a minute to talk about this?"
            ),
        ),
        (second, AgentAction(action_type=ActionType.speak, argument="Sure, what do you have in mind?")),
        (
            first,
            AgentAction(action_type=ActionType.speak, argument="I was hoping we could find a fair deal."),
        ),
        (second, AgentAction(action_type=ActionType.leave)),
    ]
    turns = [Turn(index=i, agent=agent, action=action) for i, (agent, action) in enumerate(acts)]
    return Episode(id="hand-made", setup=setup, turns=turns, status=EpisodeStatus.finished)


@pytest.fixture
def server():
    with FakeLLMServer() as fake:
        yield fake


def fake_judge(server: FakeLLMServer, **kw: Any) -> SotopiaJudge:
    return SotopiaJudge("openai/fake", api_base=server.api_base, **kw)


def test_judge_retries_bad_output_then_succeeds(server: FakeLLMServer) -> None:
    episode = small_episode()
    dims = ALL
    bad_range = json.dumps({"agent_1": valid_block(2), "agent_2": {**valid_block(2), "goal": {"score": 42}}})
    server.script(
        Reply.text("I think they did fine."), Reply.text(bad_range), Reply.text(judgement(dims, 4, 6))
    )
    result = fake_judge(server, max_attempts=3).evaluate(episode)
    assert server.count == 3
    assert result.ok, result.error
    assert result.attempts == 3
    first, second = episode.setup.agent_names
    assert result.score(first, "goal") == 4 and result.score(second, "goal") == 6
    assert set(result.scores[first]) == {d.name for d in dims}
    assert result.evaluator == "sotopia-eval:openai/fake"
    # the first try is greedy; retries sample a little so they can differ
    temperatures = [request["temperature"] for request in server.requests]
    assert temperatures[0] == 0.0 and min(temperatures[1:]) >= 0.3
    # the judge saw both private goals and the transcript
    prompt = server.requests[0]["messages"][1]["content"]
    assert "Transcript:" in prompt and "I was hoping we could find a fair deal." in prompt
    assert all(goal.for_judge()[:40] in prompt for goal in episode.setup.scenario.goals)


def test_judge_fails_for_good_without_zeros(server: FakeLLMServer) -> None:
    server.default = Reply.text('{"agent_1": {"goal": 3}}')  # agent_2 always missing
    result = fake_judge(server, dimensions="goal", max_attempts=2).evaluate(small_episode())
    assert server.count == 2
    assert isinstance(result, EpisodeEvaluation)
    assert not result.ok
    assert result.scores == {}  # never zeros
    assert result.flat_scores() == {}
    assert result.attempts == 2
    assert result.error is not None
    assert "attempt 1: missing evaluation for agent_2" in result.error
    assert "attempt 2: missing evaluation for agent_2" in result.error
    assert result.raw_text == '{"agent_1": {"goal": 3}}'


def test_judge_call_failure_is_a_failed_judgement(server: FakeLLMServer) -> None:
    server.default = Reply.error(400, "model not found")
    result = fake_judge(server, max_attempts=3).evaluate(small_episode())
    assert server.count == 1  # a non-retryable call failure is not retried as bad output
    assert not result.ok and result.scores == {}
    assert result.error is not None and "call failed" in result.error


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", [d.name for d in ALL]),
        ("goal", ["goal"]),
        ("goal,secret", ["goal", "secret"]),
    ],
)
def test_judge_dimension_sets(server: FakeLLMServer, spec: str, expected: list[str]) -> None:
    dims = resolve_dimensions(spec)
    server.script(Reply.text(judgement(dims, 1, 2)))
    judge = fake_judge(server, dimensions=spec)
    assert [d.name for d in judge.dimensions] == expected
    result = judge.evaluate(small_episode())
    assert result.ok, result.error
    assert all(set(per) == set(expected) for per in result.scores.values())
    rubric = server.requests[0]["messages"][0]["content"]
    for dim in ALL:
        assert (f"- {dim.name} (" in rubric) == (dim.name in expected)


def test_judge_custom_dimension(server: FakeLLMServer) -> None:
    humour = Dimension(name="humour", low=1, high=3, description="Was the agent funny?")
    server.script(
        Reply.text(json.dumps({"agent_1": {"humour": 4}, "agent_2": {"humour": 1}})),  # 4 is out of range
        Reply.text(
            json.dumps({"agent_1": {"humour": {"reasoning": "a pun", "score": 3}}, "agent_2": {"humour": 1}})
        ),
    )
    result = fake_judge(server, dimensions=[humour]).evaluate(small_episode())
    assert server.count == 2
    assert result.ok and result.attempts == 2
    first, _ = small_episode().setup.agent_names
    assert result.score(first, "humour") == 3
    assert "- humour (1 to 3): Was the agent funny?" in server.requests[0]["messages"][0]["content"]


async def test_judge_evaluate_inside_a_running_loop(server: FakeLLMServer) -> None:
    server.script(Reply.text(judgement(GOAL)), Reply.text(judgement(GOAL)))
    judge = fake_judge(server, dimensions="goal")
    sync_result = judge.evaluate(small_episode())  # bridges to a private loop in a thread
    async_result = await judge.aevaluate(small_episode())
    assert sync_result.ok and async_result.ok
    assert sync_result.flat_scores() == async_result.flat_scores()


# -- the real embedded judge -------------------------------------------------------------------


@pytest.mark.slow
def test_local_judge_is_valid_or_honestly_failed() -> None:
    episode = small_episode()
    result = asyncio.run(SotopiaJudge("local", max_attempts=1).aevaluate(episode))
    if result.ok:
        print(f"local judge: ok after {result.attempts} attempt(s): {result.flat_scores()}")
        assert set(result.scores) == set(episode.setup.agent_names)
        for per_agent in result.scores.values():
            assert set(per_agent) == {d.name for d in ALL}
            for name, entry in per_agent.items():
                dim = DIMENSIONS_BY_NAME[name]
                assert dim.low <= entry.score <= dim.high and float(entry.score).is_integer()
    else:
        print(f"local judge: failed after {result.attempts} attempt(s): {result.error}")
        assert result.scores == {}
        assert result.error
    assert result.evaluator == "sotopia-eval:local"
