"""The agent protocol every policy (LLM, SIP, human, scripted) implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from envs.types import AgentAction, Observation, Turn
from scenarios.schema import EpisodeSetup


class AgentCallError(RuntimeError):
    """An agent could not produce an action (after retries). The episode is marked failed."""


@runtime_checkable
class Agent(Protocol):
    """A participant in a social episode."""

    name: str

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Prepare for a new episode in which this agent plays ``name``."""

    async def act(self, observation: Observation) -> AgentAction:
        """Choose the next act. Raise :class:`AgentCallError` when no act can be produced."""

    def last_turn_record(self) -> Turn | None:
        """Details of the most recent act (raw text, reasoning, tokens), or None."""
