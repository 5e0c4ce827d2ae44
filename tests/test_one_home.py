"""Shared plumbing has one home: every user calls it instead of keeping its own copy."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_scenarios_graph import LIBRARY

from envs.evaluator import AsyncEvaluator, run_sync
from envs.social import SocialEpisodeEnv
from eval.judge import SotopiaJudge
from eval.jury import JudgePanel
from scenarios import eligible_casts, load_path, sample_setups, scenario_casts


def test_blocking_evaluation_is_one_bridge() -> None:
    # the judge and the jury get their blocking evaluate() from AsyncEvaluator (envs.evaluator.run_sync)
    assert SotopiaJudge.evaluate is AsyncEvaluator.evaluate
    assert JudgePanel.evaluate is AsyncEvaluator.evaluate

    async def inside() -> int:
        return run_sync(asyncio.sleep(0, result=7))

    assert run_sync(asyncio.sleep(0, result=3)) == 3
    assert asyncio.run(inside()) == 7


def test_a_scenarios_casts_have_one_rule(tmp_path: Path) -> None:
    # fixed pairings when the library has any for the scenario, else every eligible cast
    path = tmp_path / "small.yaml"
    path.write_text(LIBRARY, encoding="utf-8")
    library = load_path(path)
    assert scenario_casts(library, "reunion") == [("eli", "dee")]
    assert scenario_casts(library, "kitchen") == eligible_casts(library, "kitchen") != []
    assert scenario_casts(library, "romance") == []
    castable = [sid for sid in library.scenarios if scenario_casts(library, sid)]
    env = SocialEpisodeEnv(library, scenario_ids=castable)
    assert env.source.casts == {sid: scenario_casts(library, sid) for sid in castable}
    assert library.count_setups() == sum(len(scenario_casts(library, sid)) for sid in library.scenarios)
    drawn = {(s.scenario.id, *(a.id for a in s.agents)) for s in sample_setups(library, castable)}
    assert drawn == {(sid, *cast) for sid in castable for cast in scenario_casts(library, sid)}


def test_progress_bars_are_drawn_one_way() -> None:
    from rich.console import Console

    from eval.progress import progress_bar

    console = Console(record=True, width=200, force_terminal=False)
    with progress_bar("episodes", fields="ok {task.fields[ok]}", eta=True, console=console) as bar:
        task = bar.add_task("x", total=4, ok=0)
        bar.update(task, advance=3, ok=3)
    line = console.export_text()
    assert "episodes" in line and "3/4" in line and "ok 3" in line and "ETA" in line
    plain = Console(record=True, width=200, force_terminal=False)
    with progress_bar(console=plain) as bar:
        bar.add_task("model on bench", total=2, completed=1)
    assert "model on bench" in plain.export_text() and "ETA" not in plain.export_text()


def test_transient_errors_are_litellm_types_not_names() -> None:
    import litellm

    from agents.client import LLMCallError, is_retryable

    def made(kind: type[Exception]) -> Exception:
        return kind(message="x", llm_provider="openai", model="m")  # type: ignore[call-arg]

    for kind in (litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError):
        assert is_retryable(made(kind))
    assert is_retryable(litellm.Timeout(message="x", model="m", llm_provider="openai"))
    assert is_retryable(litellm.APIConnectionError(message="x", llm_provider="openai", model="m"))
    assert not is_retryable(made(litellm.BadRequestError)) and not is_retryable(
        made(litellm.AuthenticationError)
    )
    look_alike = type("RateLimitError", (Exception,), {})  # a name alone no longer counts
    assert not is_retryable(look_alike("slow down"))
    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    assert not is_retryable(LLMCallError("final"))


async def test_retry_policy_is_a_tenacity_loop_with_bounded_backoff() -> None:
    from agents.client import RetryPolicy

    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("dropped")
        return "ok"

    retrying = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.002).retrying(
        lambda exc: isinstance(exc, ConnectionError)
    )
    assert await retrying(flaky) == "ok" and len(calls) == 3
    assert retrying.statistics["idle_for"] <= 0.004  # two waits, each at most max_delay_s
    calls.clear()
    with pytest.raises(ConnectionError):  # the last error itself after the attempts
        await RetryPolicy(max_attempts=2, base_delay_s=0).retrying(lambda exc: True)(flaky)
    assert len(calls) == 2


def test_the_judges_schema_and_validation_come_from_one_model() -> None:
    from eval.judge import JudgementError, judgement_schema, parse_judgement, resolve_dimensions
    from eval.verdict import verdict_model

    goal = resolve_dimensions("goal")
    # the exact text the judge sends in object form (request caches are keyed on it)
    entry = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "maxLength": 300},
            "score": {"type": "integer", "minimum": 0, "maximum": 10, "enum": list(range(11))},
        },
        "required": ["reasoning", "score"],
    }
    agent = {"type": "object", "properties": {"goal": entry}, "required": ["goal"]}
    expected = {
        "type": "object",
        "properties": {"agent_1": agent, "agent_2": agent},
        "required": ["agent_1", "agent_2"],
    }
    assert json.dumps(judgement_schema(goal, 2, form="object")) == json.dumps(expected)
    # and in pair form (the default): the same two schemas, as SOTOPIA's [reasoning, score] tuple
    pair = {"type": "array", "prefixItems": list(entry["properties"].values()), "minItems": 2, "maxItems": 2}
    agent = {"type": "object", "properties": {"goal": pair}, "required": ["goal"]}
    assert json.dumps(judgement_schema(goal, 2)) == json.dumps(
        {**expected, "properties": {"agent_1": agent, "agent_2": agent}}
    )
    dims = resolve_dimensions("goal,secret")
    model = verdict_model(dims, 3, 300)
    assert model is verdict_model(dims, 3, 300)  # built once per dimension set
    schema = judgement_schema(dims, 3)
    assert schema["required"] == list(model.model_fields) == ["agent_1", "agent_2", "agent_3"]
    assert schema["properties"]["agent_3"]["required"] == ["goal", "secret"]
    names = ["A", "B", "C"]
    fine = {
        k: {"goal": {"reasoning": "r", "score": 4}, "secret": {"reasoning": "r", "score": -2}}
        for k in model.model_fields
    }
    assert parse_judgement(json.dumps(fine), names, dims)["C"]["secret"].score == -2
    fine["agent_3"]["secret"]["score"] = 3  # outside the range the schema's enum allows
    with pytest.raises(
        JudgementError, match=r"agent_3 \(C\): secret score 3 is not an integer in \[-10, 0\]"
    ):
        parse_judgement(json.dumps(fine), names, dims)


async def test_one_reply_cache_serves_judges_and_benchmark_runs(tmp_path: Path) -> None:
    from agents.client import ChatResult, Endpoint, ResponseCache

    asked: list[str] = []

    async def ask(messages: list[dict[str, str]]) -> str:
        asked.append(messages[-1]["content"])
        return f"reply to {messages[-1]['content']}"

    cache = ResponseCache(tmp_path / "replies")
    plain = cache.wrap(ask, "local", temperature=0.0, max_tokens=8, prefill="")
    thinking = cache.wrap(ask, "local", temperature=0.0, max_tokens=8, prefill="<think>")
    question = [{"role": "user", "content": "Q1"}]
    first = await plain(question)
    assert (await plain(question)).text == first.text and asked == ["Q1"]
    await thinking(question)  # another setting that decides the reply: asked again
    assert asked == ["Q1", "Q1"] and (cache.hits, cache.stored) == (1, 2)
    rerun = ResponseCache(tmp_path / "replies")  # a rerun reads what the first run stored
    again = await rerun.wrap(ask, "local", temperature=0.0, max_tokens=8, prefill="")(question)
    assert again.cached and again.text == first.text and len(asked) == 2
    endpoint = Endpoint(model="openai/judge", api_base="http://127.0.0.1:9")
    request = {"model": "openai/judge", "messages": question, "temperature": 0.0, "api_key": "sk-not-a-key"}
    rerun.put(endpoint, request, ChatResult(text='{"agent_1": {}}', latency_s=0.1), tag="sotopia-judge")
    assert rerun.get(endpoint, request, tag="sotopia-judge").text == '{"agent_1": {}}'
    assert rerun.get(endpoint, request, tag="other") is None
