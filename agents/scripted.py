"""A deterministic agent that plays a fixed list of acts: for tests and scripted training partners.

A line is an :class:`~envs.types.AgentAction` or a string. A string is speech unless it starts
with an action type in brackets: ``[action] opens the window``, ``[non-verbal] smiles``,
``[leave]``, ``[none]``.
"""

from __future__ import annotations

import re
from typing import Literal

from agents.base import AgentCallError
from agents.llm import action_type_from_text, fit_to_available
from envs.types import ActionType, AgentAction, Observation, Turn
from scenarios.schema import EpisodeSetup

_BRACKET_RE = re.compile(r"^\s*\[([^\]]+)\]\s*(.*)$", re.DOTALL)

Then = Literal["leave", "none", "repeat", "error"]


def parse_line(line: str | AgentAction) -> AgentAction:
    """One script line as an act (``[type] text`` or plain speech)."""
    if isinstance(line, AgentAction):
        return line
    match = _BRACKET_RE.match(line)
    if match:
        kind = action_type_from_text(match.group(1))
        if kind is None:
            raise ValueError(f"unknown action type in script line {line!r}")
        argument = match.group(2).strip() if kind not in (ActionType.leave, ActionType.none) else ""
        return AgentAction(action_type=kind, argument=argument)
    return AgentAction(action_type=ActionType.speak, argument=line.strip())


class ScriptedAgent:
    """Plays ``lines`` in order, one per turn; then ``then``: ``leave``, ``none`` (idle),
    ``repeat`` (start over) or ``error`` (raise :class:`~agents.base.AgentCallError`).

    An act whose type is not available is mapped (see :func:`agents.llm.fit_to_available`) and
    the record's ``parse_fallback`` is set. :meth:`reset` rewinds the script.
    """

    def __init__(self, lines: list[str | AgentAction], then: Then = "leave", *, name: str = "") -> None:
        if then not in ("leave", "none", "repeat", "error"):
            raise ValueError(f"then must be leave, none, repeat or error, not {then!r}")
        if then == "repeat" and not lines:
            raise ValueError("a repeating script needs at least one line")
        self.actions = [parse_line(line) for line in lines]
        self.then = then
        self.name = name
        self.spec = "scripted"
        self.position = 0
        self._last: Turn | None = None

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Start a new episode as ``name`` from the first line."""
        self.name = name
        self.position = 0
        self._last = None

    def last_turn_record(self) -> Turn | None:
        """The record of the most recent act."""
        return self._last

    def _next(self, observation: Observation) -> AgentAction:
        if self.position < len(self.actions):
            action = self.actions[self.position]
        elif self.then == "repeat":
            action = self.actions[self.position % len(self.actions)]
        elif self.then == "leave":
            action = AgentAction(action_type=ActionType.leave)
        elif self.then == "none":
            action = AgentAction(action_type=ActionType.none)
        else:
            raise AgentCallError(
                f"{observation.agent}: the script ended after {len(self.actions)} lines (turn {observation.turn})"
            )
        self.position += 1
        return action

    async def act(self, observation: Observation) -> AgentAction:
        """The next scripted act."""
        self._last = None
        action, mapped = fit_to_available(self._next(observation), observation.available_actions)
        self._last = Turn(
            index=observation.turn,
            agent=observation.agent,
            action=action,
            raw_text=action.argument or action.action_type.value,
            latency_s=0.0,
            parse_fallback=mapped,
        )
        return action
