"""Agents: litellm partners, the SIP-structured SocialR1 agent, a human agent, the embedded model."""

from agents.base import Agent, AgentCallError
from agents.human import HumanAgent
from agents.llm import (
    AgentTurnRecord,
    EmptyOutputError,
    LLMAgent,
    action_type_from_text,
    fit_to_available,
    parse_action,
)
from agents.scripted import ScriptedAgent
from agents.socialr1 import SocialR1Agent
from agents.specs import ACCEPTED_FORMS, AgentSpecError, build_agent

__all__ = [
    "ACCEPTED_FORMS",
    "Agent",
    "AgentCallError",
    "AgentSpecError",
    "AgentTurnRecord",
    "EmptyOutputError",
    "HumanAgent",
    "LLMAgent",
    "ScriptedAgent",
    "SocialR1Agent",
    "action_type_from_text",
    "build_agent",
    "fit_to_available",
    "parse_action",
]
