"""LLMAgent through the real litellm path against a scripted loopback server."""

from __future__ import annotations

import pytest
from fake_llm_server import FakeLLMServer, Reply

from agents.base import AgentCallError
from agents.client import Endpoint, RetryPolicy
from agents.llm import AgentTurnRecord, LLMAgent
from envs.types import ActionType, AgentAction, Observation

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)
GOOD = '{"action_type": "speak", "argument": "Could we split the rent evenly?"}'


def observation(available: list[ActionType] | None = None) -> Observation:
    return Observation(
        agent="Mia Chen",
        text="You are Mia Chen.\n\nScenario: two roommates discuss the rent.\nYour goal: pay less than half.\nTurn #0: (nothing yet)",
        turn=3,
        available_actions=available or list(ActionType),
    )


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def agent_for(server: FakeLLMServer, **kw) -> LLMAgent:
    return LLMAgent("openai/fake", api_base=server.api_base, api_key="sk-test", retry=FAST, **kw)


async def test_valid_reply_gives_action_and_record(server: FakeLLMServer) -> None:
    server.script(Reply.text(GOOD, prompt_tokens=40, completion_tokens=12))
    agent = agent_for(server, temperature=0.3, max_tokens=77)
    action = await agent.act(observation())
    assert action == AgentAction(action_type=ActionType.speak, argument="Could we split the rent evenly?")
    record = agent.last_turn_record()
    assert isinstance(record, AgentTurnRecord)
    assert (record.index, record.agent, record.raw_text) == (3, "Mia Chen", GOOD)
    assert (record.prompt_tokens, record.completion_tokens, record.attempts) == (40, 12, 1)
    assert record.parse_fallback is False and record.latency_s is not None
    sent = server.requests[0]
    assert sent["temperature"] == 0.3 and sent["max_tokens"] == 77
    prompt = " ".join(m["content"] for m in sent["messages"])
    assert "two roommates" in prompt and "Mia Chen" in prompt and "action_type" in prompt


async def test_retries_429_and_5xx_then_succeeds(server: FakeLLMServer) -> None:
    server.script(Reply.error(429, "slow down"), Reply.error(503), Reply.text(GOOD))
    agent = agent_for(server)
    action = await agent.act(observation())
    assert action.action_type is ActionType.speak
    assert server.count == 3
    assert agent.last_turn_record().attempts == 3


async def test_gives_up_after_retries_with_agent_call_error(server: FakeLLMServer) -> None:
    server.script(*[Reply.error(500)] * 5)
    agent = agent_for(server)
    with pytest.raises(AgentCallError, match="gave up after 3 attempts"):
        await agent.act(observation())
    assert server.count == FAST.max_attempts
    failed = agent.last_turn_record()  # the failure is recorded, never played as an act
    assert failed.error is not None and "gave up" in failed.error and failed.attempts == 3
    assert failed.raw_text is None


@pytest.mark.parametrize("status", [400, 401])
async def test_non_retryable_errors_fail_fast(server: FakeLLMServer, status: int) -> None:
    server.script(Reply.error(status, "nope"), Reply.text(GOOD))
    agent = agent_for(server)
    with pytest.raises(AgentCallError):
        await agent.act(observation())
    assert server.count == 1


@pytest.mark.parametrize("status", [200, 502])
async def test_garbage_body_is_retried(server: FakeLLMServer, status: int) -> None:
    server.script(Reply.garbage(status=status), Reply.text(GOOD))
    agent = agent_for(server)
    action = await agent.act(observation())
    assert action.argument == "Could we split the rent evenly?"
    assert server.count == 2


async def test_garbage_text_becomes_speech_with_fallback(server: FakeLLMServer) -> None:
    server.script(Reply.text("Hmm, I guess I could pay a bit more... maybe?"))
    agent = agent_for(server)
    action = await agent.act(observation())
    assert action == AgentAction(
        action_type=ActionType.speak, argument="Hmm, I guess I could pay a bit more... maybe?"
    )
    assert agent.last_turn_record().parse_fallback is True


async def test_empty_reply_is_retried_then_used(server: FakeLLMServer) -> None:
    server.script(
        Reply.text(""), Reply.text("  \n"), Reply.text(GOOD, prompt_tokens=5, completion_tokens=3)
    )  # 11 + 11 + 5
    agent = agent_for(server)
    action = await agent.act(observation())
    assert action.argument == "Could we split the rent evenly?"
    assert server.count == 3
    record = agent.last_turn_record()
    assert record.attempts == 3 and record.prompt_tokens == 27


async def test_always_empty_reply_raises_never_none(server: FakeLLMServer) -> None:
    server.script(*[Reply.text("")] * 5)
    agent = agent_for(server)
    with pytest.raises(AgentCallError, match="no usable reply after 3 attempts"):
        await agent.act(observation())
    assert server.count == 3
    failed = agent.last_turn_record()
    assert failed.error is not None and failed.raw_text == "" and failed.index == 3


async def test_slow_reply_times_out_and_is_retried(server: FakeLLMServer) -> None:
    slow = '{"action_type": "speak", "argument": "the slow reply"}'
    server.script(Reply.text(slow, delay_s=3.0), Reply.text(GOOD))
    endpoint = Endpoint(model="openai/fake", api_base=server.api_base, api_key="sk-test", timeout_s=0.5)
    agent = LLMAgent(endpoint, retry=FAST)
    action = await agent.act(observation())
    # the second reply was used: the first was given up on (timed out), not waited for
    assert action.argument == "Could we split the rent evenly?"
    assert server.count == 2


async def test_local_endpoint_gets_schema_constrained_json(server: FakeLLMServer) -> None:
    server.script(Reply.text('{"action_type": "non-verbal communication", "argument": "shrugs"}'))
    endpoint = Endpoint(
        model="openai/fake", api_base=server.api_base, api_key="sk-test", local=True, max_concurrency=1
    )
    agent = LLMAgent(endpoint, retry=FAST)
    action = await agent.act(observation([ActionType.speak, ActionType.non_verbal, ActionType.leave]))
    assert action == AgentAction(action_type=ActionType.non_verbal, argument="shrugs")
    response_format = server.requests[0]["response_format"]
    assert response_format["type"] == "json_object"
    enum = response_format["schema"]["properties"]["action_type"]["enum"]
    assert enum == ["speak", "non-verbal communication", "leave"]


async def test_unavailable_action_is_mapped_and_flagged(server: FakeLLMServer) -> None:
    server.script(Reply.text('{"action_type": "leave", "argument": "Bye, I need to go."}'))
    agent = agent_for(server)
    action = await agent.act(observation([ActionType.speak, ActionType.non_verbal]))
    assert action == AgentAction(action_type=ActionType.speak, argument="Bye, I need to go.")
    assert agent.last_turn_record().parse_fallback is True


def test_building_an_agent_resolves_nothing() -> None:
    agent = LLMAgent("local")
    assert agent._endpoint is None and agent.spec == "local"
    with pytest.raises(ValueError):
        LLMAgent("  ")


async def test_reasoning_block_is_kept_off_the_act_and_on_the_record(server: FakeLLMServer) -> None:
    text = '<think>Leaving would be rude: {"action_type": "leave"}</think>\n' + GOOD
    server.script(Reply.text(text))
    agent = agent_for(server)
    action = await agent.act(observation())
    assert action.argument == "Could we split the rent evenly?"
    record = agent.last_turn_record()
    assert record.raw_text == text  # the client keeps the model's full text, <think> included
    assert record.reasoning == 'Leaving would be rude: {"action_type": "leave"}'


def test_every_agent_request_starts_with_the_same_system_message() -> None:
    """The plain agent's prompt on real episodes: one system message for every character, turn and
    scenario (a server can reuse its evaluated prefix), and the observation as the user message,
    which names the character and the action types this turn allows."""
    from envs.social import SocialEpisodeEnv
    from eval.interactive import plan_setups, select_scenarios

    library, ids = select_scenarios("sotopia", 2)
    sent: list[list[dict[str, str]]] = []
    for setup, _ in plan_setups(library, ids, 1):
        env = SocialEpisodeEnv(setup)
        _, infos = env.reset()
        for name, info in infos.items():
            obs = info["observation"]
            if not obs.is_my_turn:
                continue
            agent = LLMAgent("openai/fake")
            agent.reset(setup, name)
            messages = agent.messages(obs)
            sent.append(messages)
            assert [m["role"] for m in messages] == ["system", "user"]
            assert messages[1]["content"] == obs.text.strip()
            assert messages[1]["content"].startswith(f"You are {name}.")
            assert "It is your turn. You may: " in messages[1]["content"]
    assert len(sent) >= 2 and len({m[0]["content"] for m in sent}) == 1
    system = sent[0][0]["content"]
    assert all(kind.value in system for kind in ActionType) and "action_type" in system
