"""A person playing one character from the terminal.

The observation is shown with rich (only what is new since the previous turn, when the new text
extends the old), then the player picks an action type (a number or a name; Enter means speak)
and types the text. Reading input runs in a worker thread, so other episodes keep going while
the player thinks. Input and output streams are injectable, which makes the agent testable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from rich.console import Console
from rich.panel import Panel

from agents import prompts
from agents.base import AgentCallError
from agents.llm import action_type_from_text
from envs.types import ActionType, AgentAction, Observation, Turn
from scenarios.schema import EpisodeSetup

_NEEDS_TEXT = {ActionType.speak, ActionType.non_verbal, ActionType.action}
_TEXT_PROMPT = {
    ActionType.speak: "What do you say?",
    ActionType.non_verbal: "What gesture or expression?",
    ActionType.action: "What do you do?",
}


class HumanAgent:
    """Ask a person at the terminal for each act.

    ``stdin``/``stdout`` default to the process's streams. End of input raises
    :class:`~agents.base.AgentCallError` (the episode is marked failed, not given a fake act).
    """

    def __init__(self, *, stdin: TextIO | None = None, stdout: TextIO | None = None, name: str = "") -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.console = Console(file=stdout if stdout is not None else sys.stdout, highlight=False)
        self.name = name
        self.spec = "human"
        self.setup: EpisodeSetup | None = None
        self._shown = ""
        self._last: Turn | None = None

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Start a new episode as ``name``."""
        self.setup = setup
        self.name = name
        self._shown = ""
        self._last = None

    def last_turn_record(self) -> Turn | None:
        """The record of the most recent act (what was typed, and how long it took)."""
        return self._last

    async def act(self, observation: Observation) -> AgentAction:
        """Show the observation and read an act; raises :class:`AgentCallError` at end of input."""
        self._last = None
        started = time.perf_counter()
        action, typed = await asyncio.to_thread(self._ask, observation)
        self._last = Turn(
            index=observation.turn,
            agent=observation.agent,
            action=action,
            raw_text=typed,
            latency_s=time.perf_counter() - started,
        )
        return action

    # ---- blocking part (runs in a worker thread) ----

    def _readline(self, prompt: str) -> str:
        self.console.print(prompt, end=" ", markup=False)
        self.console.file.flush()
        line = self.stdin.readline()
        if line == "":
            raise AgentCallError(
                f"{self.name or 'human'}: input closed (end of file) while waiting for an act"
            )
        return line.rstrip("\r\n")

    def _show(self, observation: Observation) -> None:
        text = observation.text
        new = text[len(self._shown) :] if self._shown and text.startswith(self._shown) else text
        self._shown = text
        title = f"{observation.agent} — turn {observation.turn}"
        self.console.print(
            Panel(new.strip() or "(nothing new)", title=title, title_align="left"), markup=False
        )

    def _choose(self, options: list[ActionType]) -> ActionType:
        menu = "  ".join(f"{i}) {kind.value}" for i, kind in enumerate(options, 1))
        default = ActionType.speak if ActionType.speak in options else options[0]
        while True:
            self.console.print(menu, markup=False)
            answer = self._readline(f"Action [{default.value}]:").strip()
            if not answer:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            named = action_type_from_text(answer)
            if named in options:
                return named
            self.console.print(f"Not an available action: {answer!r}. Type a number or a name.", markup=False)

    def _ask(self, observation: Observation) -> tuple[AgentAction, str]:
        self._show(observation)
        options = prompts.ordered_actions(observation.available_actions)
        if not options:
            raise AgentCallError(f"{observation.agent}: no action is available on turn {observation.turn}")
        while True:
            kind = self._choose(options)
            if kind not in _NEEDS_TEXT:
                return AgentAction(action_type=kind), kind.value
            text = self._readline(_TEXT_PROMPT[kind]).strip()
            if text:
                return AgentAction(action_type=kind, argument=text), text
            self.console.print("Nothing typed; choose again.", markup=False)
