"""A person playing one character: from the terminal (:class:`HumanAgent`) or from elsewhere, such as
the web app's play page (:class:`RemoteHumanAgent`).

In the terminal the observation is shown with rich (only what is new since the previous turn, when
the new text extends the old), then the player picks an action type (a number or a name; Enter
means speak) and types the text. Reading input runs in a worker thread, so other episodes keep
going while the player thinks. Input and output streams are injectable, which makes the agent
testable. A remote player's acts are handed in with :meth:`RemoteHumanAgent.submit`; both check
an act the same way (:func:`check_act`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
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


class ActRejected(ValueError):
    """A person's act that cannot be played now (not their turn, an unavailable action, no text)."""


def check_act(observation: Observation, kind: ActionType | str, text: str = "") -> AgentAction:
    """The act a person chose, checked against what ``observation`` allows (:class:`ActRejected` if not)."""
    options = prompts.ordered_actions(observation.available_actions)
    chosen = kind if isinstance(kind, ActionType) else action_type_from_text(str(kind))
    if chosen is None or chosen not in options:
        allowed = ", ".join(k.value for k in options)
        raise ActRejected(
            f"{kind!r} is not an available action on turn {observation.turn} (choose: {allowed})"
        )
    text = text.strip()
    if chosen in _NEEDS_TEXT and not text:
        raise ActRejected(f"{_TEXT_PROMPT[chosen]} Type some text for {chosen.value!r}.")
    return AgentAction(action_type=chosen, argument=text if chosen in _NEEDS_TEXT else "")


def _record(observation: Observation, action: AgentAction, typed: str, started: float) -> Turn:
    return Turn(
        index=observation.turn,
        agent=observation.agent,
        action=action,
        raw_text=typed,
        latency_s=time.perf_counter() - started,
    )


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
        self._last = _record(observation, action, typed, started)
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
                return check_act(observation, kind), kind.value
            text = self._readline(_TEXT_PROMPT[kind]).strip()
            if text:
                return check_act(observation, kind, text), text
            self.console.print("Nothing typed; choose again.", markup=False)


class RemoteHumanAgent:
    """A person whose acts arrive from elsewhere (the web app's play page) through :meth:`submit`.

    While the agent waits for an act, :attr:`waiting` holds the observation it was given;
    ``on_change`` (if given) is called whenever it starts or stops waiting. No act within
    ``timeout_s`` seconds, or :meth:`give_up`, raises :class:`~agents.base.AgentCallError` from
    :meth:`act`, so the episode ends as failed with the reason (never with an invented act).
    """

    def __init__(
        self,
        *,
        name: str = "",
        timeout_s: float | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.spec = "human"
        self.timeout_s = timeout_s
        self.on_change = on_change
        self.waiting: Observation | None = None
        self._pending: asyncio.Future[tuple[AgentAction, str]] | None = None
        self._last: Turn | None = None

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Start a new episode as ``name``."""
        self.name = name
        self._last = None

    def last_turn_record(self) -> Turn | None:
        """The record of the most recent act (what was typed, and how long the person took)."""
        return self._last

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def act(self, observation: Observation) -> AgentAction:
        """Wait for the person's act on this observation (see the class docstring for failures)."""
        self._last = None
        if not prompts.ordered_actions(observation.available_actions):
            raise AgentCallError(f"{observation.agent}: no action is available on turn {observation.turn}")
        started = time.perf_counter()
        self._pending = asyncio.get_running_loop().create_future()
        self.waiting = observation
        self._changed()
        try:
            async with asyncio.timeout(self.timeout_s):
                action, typed = await self._pending
        except TimeoutError:
            raise AgentCallError(
                f"{observation.agent}: no act from the player within {self.timeout_s:g} s"
            ) from None
        finally:
            self.waiting = None
            self._pending = None
            self._changed()
        self._last = _record(observation, action, typed, started)
        return action

    def submit(self, kind: ActionType | str, text: str = "", *, turn: int | None = None) -> AgentAction:
        """Play the person's act (checked by :func:`check_act`); ``turn``, when given, must be the turn
        being waited on (a form sent twice is not played twice). Raises :class:`ActRejected`."""
        observation, pending = self.waiting, self._pending
        if observation is None or pending is None or pending.done():
            raise ActRejected("it is not your turn")
        if turn is not None and turn != observation.turn:
            raise ActRejected(f"that act was for turn {turn}, but the episode is at turn {observation.turn}")
        action = check_act(observation, kind, text)
        pending.set_result((action, text.strip() or action.action_type.value))
        return action

    def give_up(self, reason: str) -> None:
        """End the wait for an act: the episode fails with ``reason``."""
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(AgentCallError(f"{self.name or 'human'}: {reason}"))
