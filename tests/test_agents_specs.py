"""Agent specs: every accepted form, and clear errors for malformed ones."""

from __future__ import annotations

import io

import pytest

import agents
from agents import build_agent
from agents.base import Agent
from agents.human import HumanAgent
from agents.llm import LLMAgent
from agents.scripted import ScriptedAgent
from agents.socialr1 import SocialR1Agent
from agents.specs import AgentSpecError
from envs.types import ActionType


def test_model_specs() -> None:
    agent = build_agent("openai/gpt-4o", temperature=0.2, max_tokens=99, seed=3)
    assert type(agent) is LLMAgent and agent.spec == "openai/gpt-4o"
    assert (agent.temperature, agent.max_tokens, agent.seed) == (0.2, 99, 3)
    vllm = build_agent("my-model", api_base="http://127.0.0.1:8000/v1")
    assert type(vllm) is LLMAgent and vllm.api_base == "http://127.0.0.1:8000/v1"
    local = build_agent("local")
    assert type(local) is LLMAgent and local.spec == "local" and local._endpoint is None
    bedrock = build_agent("bedrock/anthropic.claude-3-sonnet-20240229-v1:0")
    assert bedrock.spec.endswith("v1:0")


def test_sip_specs() -> None:
    for spec, model in [
        ("sip:local", "local"),
        ("sip:hosted_vllm/Qwen/Qwen3-4B", "hosted_vllm/Qwen/Qwen3-4B"),
    ]:
        agent = build_agent(spec)
        assert type(agent) is SocialR1Agent and agent.spec == model
        assert agent.max_tokens >= 256


def test_checkpoint_specs(tmp_path) -> None:
    hub = build_agent("hf:HuggingFaceTB/SmolLM2-135M-Instruct")
    assert type(hub) is LLMAgent and hub.spec == "hf:HuggingFaceTB/SmolLM2-135M-Instruct"
    folder = tmp_path / "my run" / "checkpoint-3"
    folder.mkdir(parents=True)
    sip_ckpt = build_agent(f"sip:{folder}")
    assert type(sip_ckpt) is SocialR1Agent and sip_ckpt.spec == str(folder)
    assert type(build_agent("sip:transformers:/models/x")) is SocialR1Agent


def test_human_spec_ignores_model_options() -> None:
    agent = build_agent("human", temperature=0.5, stdin=io.StringIO(""), stdout=io.StringIO())
    assert type(agent) is HumanAgent


async def test_scripted_from_text_and_file(tmp_path) -> None:
    agent = build_agent("scripted:Hello | [action] sits down | [leave]", then="error")
    assert type(agent) is ScriptedAgent and len(agent.actions) == 3
    assert agent.actions[1].action_type is ActionType.action
    script = tmp_path / "partner.txt"
    script.write_text("# a comment\nHi there\n\n[non-verbal] nods\n")
    from_file = build_agent(f"scripted:{script}")
    assert [a.argument for a in from_file.actions] == ["Hi there", "nods"]


def test_every_agent_meets_the_protocol() -> None:
    for spec in ["local", "sip:local", "openai/gpt-4o", "scripted:hi", "human"]:
        assert isinstance(build_agent(spec), Agent)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("sip:", "no model"),
        ("scripted:", "no script"),
        ("scripted: | ", "no lines"),
        ("sipp:local", "unknown agent kind 'sipp'"),
        ("sip:sip:local", "unknown agent kind 'sip'"),
        ("sip:human", "not a model"),
        ("gpt 4o", "no spaces"),
    ],
)
def test_malformed_specs_list_accepted_forms(spec: str, reason: str) -> None:
    with pytest.raises(AgentSpecError) as info:
        build_agent(spec)
    message = str(info.value)
    assert reason in message
    assert "sip:MODEL" in message and "scripted:PATH_OR_TEXT" in message and "human" in message


def test_public_api_is_exported() -> None:
    for name in [
        "LLMAgent",
        "SocialR1Agent",
        "HumanAgent",
        "ScriptedAgent",
        "build_agent",
        "parse_action",
        "AgentCallError",
    ]:
        assert hasattr(agents, name)
    assert agents.__doc__.startswith("Agents: litellm partners")


def test_sip_agents_are_labelled_with_their_prefix() -> None:
    from agents.specs import build_agent
    from envs.runner import describe_agent

    assert describe_agent(build_agent("sip:local")) == "sip:local"
    assert describe_agent(build_agent("local")) == "local"
    assert describe_agent(build_agent("scripted:hi")) != "sip:local"
