"""Trained checkpoints as agents: spec resolution, and generation from a real transformers checkpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import require_module

from agents import hf_backend
from agents.client import Endpoint, LLMCallError, RetryPolicy, chat, resolve_endpoint
from agents.llm import LLMAgent
from agents.socialr1 import SocialR1Agent
from agents.specs import build_agent
from envs.types import ActionType, Observation


def _checkpoint(root: Path, name: str = "checkpoint-3") -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# Specs (no model is loaded)


def test_checkpoint_directory_resolves_to_the_transformers_backend(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    endpoint = resolve_endpoint(str(path))
    assert endpoint.backend == "transformers"
    assert endpoint.model == f"transformers/{path.resolve()}"
    assert endpoint.spec == str(path) and endpoint.label == str(path)
    assert endpoint.max_concurrency == 1 and endpoint.local is False
    assert hf_backend.source_of(endpoint) == str(path.resolve())


def test_relative_checkpoint_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _checkpoint(tmp_path / "runs" / "grpo-x")
    monkeypatch.chdir(tmp_path)
    endpoint = resolve_endpoint("runs/grpo-x/checkpoint-3")
    assert endpoint.backend == "transformers"
    assert hf_backend.source_of(endpoint) == str(path.resolve())


def test_prefixed_specs_name_a_directory_or_a_hub_id(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    for prefix in ("hf:", "transformers:"):
        assert hf_backend.source_of(resolve_endpoint(f"{prefix}{path}")) == str(path.resolve())
    hub = resolve_endpoint("hf:HuggingFaceTB/SmolLM2-135M-Instruct")
    assert hub.backend == "transformers"
    assert hf_backend.source_of(hub) == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_missing_path_stays_a_litellm_model_string(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-checkpoint"
    endpoint = resolve_endpoint(str(missing))
    assert endpoint.backend == "litellm" and endpoint.model == str(missing)
    assert resolve_endpoint("openai/gpt-4o-mini").backend == "litellm"


def test_bad_checkpoint_specs_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no checkpoint directory"):
        resolve_endpoint(f"hf:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="no path or hub id"):
        resolve_endpoint("hf:")
    run = tmp_path / "grpo-x"
    _checkpoint(run, "checkpoint-2")
    latest = _checkpoint(run, "checkpoint-10")
    with pytest.raises(ValueError, match=r"no config\.json.*checkpoint-10") as info:
        resolve_endpoint(str(run))
    assert str(latest) in str(info.value)


async def test_sip_spec_on_a_checkpoint_builds_a_socialr1_agent_on_the_backend(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    agent = build_agent(f"sip:{path}")
    assert isinstance(agent, SocialR1Agent)
    endpoint = await agent.endpoint()
    assert endpoint.backend == "transformers"
    assert hf_backend.source_of(endpoint) == str(path.resolve())


def test_cut_at_stop_keeps_text_before_the_earliest_stop() -> None:
    assert hf_backend.cut_at_stop("Hello Leo. Bye", ["Bye", "."]) == ("Hello Leo", True)
    assert hf_backend.cut_at_stop("Hello", ["x", ""]) == ("Hello", False)
    assert hf_backend.cut_at_stop("Hello", None) == ("Hello", False)


async def test_transient_failures_are_retried_and_others_raise_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = resolve_endpoint(str(_checkpoint(tmp_path)))
    calls: list[dict[str, object]] = []
    failures: list[BaseException] = [ConnectionError("reset"), TimeoutError("slow")]

    def fake_generate(source: str, messages: list[dict[str, str]], **kw: object) -> hf_backend.Generation:
        calls.append({"source": source, **kw})
        if failures:
            raise failures.pop(0)
        return hf_backend.Generation(text="Hi Leo", prompt_tokens=12, completion_tokens=3)

    monkeypatch.setattr(hf_backend, "load", lambda source: None)
    monkeypatch.setattr(hf_backend, "generate", fake_generate)
    fast = RetryPolicy(max_attempts=3, base_delay_s=0)
    result = await chat(endpoint, [{"role": "user", "content": "Hi"}], temperature=0, max_tokens=5,
                        json_schema={"type": "object"}, retry=fast, seed=4, stop=["\n"])
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.attempts) == ("Hi Leo", 12, 3, 3)
    assert calls[-1] == {"source": hf_backend.source_of(endpoint), "temperature": 0, "max_tokens": 5,
                         "seed": 4, "stop": ["\n"], "prefill": ""}

    failures[:] = [ConnectionError("a"), ConnectionError("b"), ConnectionError("c")]
    with pytest.raises(LLMCallError, match="gave up after 3 attempts") as gave_up:
        await chat(endpoint, [{"role": "user", "content": "Hi"}], retry=fast)
    assert gave_up.value.retryable and gave_up.value.attempts == 3

    failures[:] = [ValueError("bad prompt")]
    calls.clear()
    with pytest.raises(LLMCallError, match="ValueError: bad prompt") as fatal:
        await chat(endpoint, [{"role": "user", "content": "Hi"}], retry=fast)
    assert fatal.value.attempts == 1 and not fatal.value.retryable and len(calls) == 1


@pytest.mark.slow
async def test_an_unloadable_checkpoint_raises_llm_call_error(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    path.mkdir()
    (path / "config.json").write_text("{not json", encoding="utf-8")
    endpoint = resolve_endpoint(str(path))
    with pytest.raises(LLMCallError) as info:
        await chat(endpoint, [{"role": "user", "content": "Hi"}], max_tokens=4, retry=RetryPolicy(max_attempts=2))
    assert info.value.attempts == 1 and not info.value.retryable
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------------------------------
# A real checkpoint: the converted SmolLM2-135M-Instruct


@pytest.fixture(scope="module")
def smollm2_dir() -> Path:
    """The cached transformers checkpoint of the embedded model (converted once if missing)."""
    require_module("torch")
    require_module("transformers")
    from agents.local_model import local_policy_dir

    return local_policy_dir()


MESSAGES = [
    {"role": "system", "content": "You are Mia, a friendly nurse."},
    {"role": "user", "content": "Say hello to your roommate Leo."},
]


@pytest.mark.slow
async def test_chat_generates_from_a_checkpoint_without_blocking_the_loop(smollm2_dir: Path) -> None:
    endpoint = resolve_endpoint(str(smollm2_dir))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        first = await chat(endpoint, MESSAGES, temperature=0, max_tokens=8)
    finally:
        task.cancel()
    assert ticks >= 3  # the loop ran while the model loaded and generated
    assert first.text.strip()
    assert first.prompt_tokens and first.prompt_tokens > 10
    assert first.completion_tokens and 1 <= first.completion_tokens <= 8
    assert first.latency_s > 0 and first.attempts == 1 and first.model == endpoint.model
    # greedy decoding is deterministic; a stop string cuts the same text short
    again = await chat(endpoint, MESSAGES, temperature=0, max_tokens=8)
    assert again.text == first.text
    words = first.text.split()
    if len(words) >= 2:
        stopped = await chat(endpoint, MESSAGES, temperature=0, max_tokens=8, stop=[words[1]])
        assert stopped.text == first.text[: first.text.index(words[1])]
    # seeded sampling is reproducible
    a = await chat(endpoint, MESSAGES, temperature=1.0, max_tokens=6, seed=11)
    b = await chat(endpoint, MESSAGES, temperature=1.0, max_tokens=6, seed=11)
    assert a.text == b.text


@pytest.mark.slow
async def test_llm_agent_acts_from_a_checkpoint(smollm2_dir: Path) -> None:
    observation = Observation(
        agent="Mia Chen",
        text=(
            "Scenario: Two roommates talk about splitting the rent.\n"
            "You are Mia Chen. Your goal: agree on a fair split.\n"
            'Turn #0: Leo Park said: "Hi Mia, can we talk about the rent?"'
        ),
        turn=1,
        available_actions=[ActionType.speak, ActionType.leave],
    )
    agent = LLMAgent(str(smollm2_dir), temperature=0, max_tokens=24, retry=RetryPolicy(max_attempts=2))
    action = await agent.act(observation)
    assert action.action_type in observation.available_actions
    record = agent.last_turn_record()
    assert record is not None and record.raw_text
    assert record.completion_tokens and record.completion_tokens <= 24 * record.attempts
    endpoint = await agent.endpoint()
    assert isinstance(endpoint, Endpoint) and endpoint.backend == "transformers"
