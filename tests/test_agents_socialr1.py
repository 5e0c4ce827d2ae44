"""SocialR1Agent: SIP reasoning stays on the record, only the <Answer> act reaches the env."""

from __future__ import annotations

import pytest
from fake_llm_server import FakeLLMServer, Reply

from agents.base import AgentCallError
from agents.client import Endpoint, RetryPolicy
from agents.sip import SIP, SIP_STAGES
from agents.socialr1 import SocialR1Agent
from envs.types import ActionType, AgentAction, Observation

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)
STAGES = [
    "Leo said the rent went up and sighed.",
    "Leo is worried about money and may resist paying more.",
    "I want to pay less than half without hurting our friendship.",
    "Options: insist, offer chores, or propose by room size. Room size is fairest.",
]
OBS = Observation(
    agent="Mia Chen",
    text="Scenario: two roommates discuss the rent.\nYour goal: pay less than half.",
    turn=1,
    available_actions=list(ActionType),
)


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def agent_for(server: FakeLLMServer, local: bool = False) -> SocialR1Agent:
    endpoint = Endpoint(model="openai/fake", api_base=server.api_base, api_key="sk-test", local=local)
    return SocialR1Agent(endpoint, retry=FAST)


async def test_only_answer_reaches_env_and_full_text_is_kept(server: FakeLLMServer) -> None:
    text = SIP.render(STAGES, "How about we split it by room size?")
    server.script(Reply.text(text))
    agent = agent_for(server, local=True)
    action = await agent.act(OBS)
    assert action == AgentAction(action_type=ActionType.speak, argument="How about we split it by room size?")
    record = agent.last_turn_record()
    assert record.raw_text == text
    assert (
        record.reasoning is not None
        and "Cue Encoding" in record.reasoning
        and "Room size is fairest" in record.reasoning
    )
    assert record.sip_ok is True and record.sip_problems == []
    assert record.parse_fallback is False
    sent = server.requests[0]
    assert "response_format" not in sent  # free text, even on the embedded server
    system = sent["messages"][0]["content"]
    assert "<think>" in system and all(stage in system for stage in SIP_STAGES)
    assert "Mia Chen" in system


async def test_json_act_inside_answer(server: FakeLLMServer) -> None:
    server.script(
        Reply.text(SIP.render(STAGES, '{"action_type": "non-verbal communication", "argument": "smiles"}'))
    )
    agent = agent_for(server)
    action = await agent.act(OBS)
    assert action == AgentAction(action_type=ActionType.non_verbal, argument="smiles")
    assert agent.last_turn_record().parse_fallback is False


async def test_missing_answer_tags_uses_text_after_think(server: FakeLLMServer) -> None:
    text = SIP.render(STAGES, "x").split("<Answer>")[0] + "Let's split it by room size."
    server.script(Reply.text(text))
    agent = agent_for(server)
    action = await agent.act(OBS)
    assert action.argument == "Let's split it by room size."
    record = agent.last_turn_record()
    assert record.parse_fallback is True
    assert record.sip_ok is False and any("Answer" in p for p in record.sip_problems)


async def test_reasoning_without_answer_is_retried_and_never_leaked(server: FakeLLMServer) -> None:
    unfinished = "<think>\n1. Cue Encoding: Leo sighed.\n2. Cue Interpretation: he is"
    server.script(Reply.text(unfinished), Reply.text(SIP.render(STAGES, "Room size?")))
    agent = agent_for(server)
    action = await agent.act(OBS)
    assert action.argument == "Room size?"
    assert server.count == 2
    assert agent.last_turn_record().attempts == 2


async def test_never_answering_raises(server: FakeLLMServer) -> None:
    server.script(*[Reply.text("<think>1. Cue Encoding: hmm</think>")] * 3)
    agent = agent_for(server)
    with pytest.raises(AgentCallError, match="reasoning without an <Answer>"):
        await agent.act(OBS)
    assert server.count == 3
    failed = agent.last_turn_record()
    assert failed.error is not None and failed.raw_text == "<think>1. Cue Encoding: hmm</think>"


async def test_empty_answer_is_retried(server: FakeLLMServer) -> None:
    server.script(Reply.text(SIP.render(STAGES, "")), Reply.text(SIP.render(STAGES, "Fine.")))
    agent = agent_for(server)
    assert (await agent.act(OBS)).argument == "Fine."
    assert server.count == 2


async def test_plain_reply_without_any_reasoning_is_speech_fallback(server: FakeLLMServer) -> None:
    server.script(Reply.text("Sure, let's talk about it."))
    agent = agent_for(server)
    action = await agent.act(OBS)
    assert action.argument == "Sure, let's talk about it."
    record = agent.last_turn_record()
    assert record.parse_fallback is True and record.sip_ok is False and record.reasoning is None
