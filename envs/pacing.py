"""How many episodes run at once: a fixed number, or one that grows while the endpoint keeps up.

A single-slot server (the embedded llama.cpp model) is saturated by a handful of episodes in
flight; a vLLM or provider endpoint serves hundreds. :class:`ConcurrencyTuner` finds the point
from what the run itself measures: it doubles the number of episodes in flight while the rate of
finished agent turns grows by at least ``gain`` per doubling, and settles on the best level seen
once a doubling stops paying. :class:`EpisodeGate` is the runner's gate, whose limit may change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ConcurrencyTuner:
    """Doubling search for the episode concurrency with the highest turn rate.

    :meth:`observe` is fed finished turns and the time they took; after each window of
    ``window_per_episode x limit`` turns it decides the next limit. Pure: no clock, no I/O.
    """

    start: int = 4
    maximum: int = 256
    gain: float = 1.15
    """A doubling must raise the turn rate by this factor to be kept."""
    window_per_episode: int = 2
    limit: int = field(init=False)
    settled: bool = field(init=False, default=False)
    history: list[tuple[int, float]] = field(init=False, default_factory=list)
    """(limit, turns per second) for every finished window, in order."""
    _turns: int = field(init=False, default=0)
    _seconds: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.maximum:
            raise ValueError(f"need 1 <= start <= maximum, got start {self.start}, maximum {self.maximum}")
        if self.gain <= 1:
            raise ValueError(f"gain must be above 1, got {self.gain}")
        self.limit = self.start

    def observe(self, turns: int, seconds: float) -> int:
        """Count ``turns`` finished over ``seconds``; return the limit to use from now on."""
        if self.settled:
            return self.limit
        self._turns += turns
        self._seconds += seconds
        if self._turns < self.window_per_episode * self.limit or self._seconds <= 0:
            return self.limit
        rate = self._turns / self._seconds
        self._turns, self._seconds = 0, 0.0
        best_limit, best_rate = max(self.history, key=lambda entry: entry[1], default=(0, 0.0))
        self.history.append((self.limit, rate))
        if best_rate and rate < best_rate * self.gain:
            # the doubling did not pay: keep it only if it was at least a little faster
            self.limit, self.settled = (best_limit if rate <= best_rate else self.limit), True
        elif self.limit >= self.maximum:
            self.settled = True
        else:
            self.limit = min(self.limit * 2, self.maximum)
        return self.limit


class EpisodeGate:
    """An asyncio gate for episodes whose limit can change while they run (fixed, or tuned)."""

    def __init__(self, limit: int | ConcurrencyTuner, clock: Callable[[], float] = time.monotonic) -> None:
        self.tuner = limit if isinstance(limit, ConcurrencyTuner) else None
        self.limit = self.tuner.limit if self.tuner else limit
        if self.limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.limit}")
        self.in_flight = 0
        self._clock = clock
        self._last: float | None = None  # time of the last finished turn; the wait for the first is not counted
        self._condition = asyncio.Condition()
        self._wake: asyncio.Task[None] | None = None  # held so the notifying task is not collected

    async def __aenter__(self) -> EpisodeGate:
        async with self._condition:
            await self._condition.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._condition:
            self.in_flight -= 1
            self._condition.notify()  # one slot freed: wake one waiter, not every queued episode

    def turn_finished(self) -> None:
        """Tell the tuner one agent turn ended (no-op for a fixed limit); admit more episodes if it grew."""
        if self.tuner is None:
            return
        now = self._clock()
        if self._last is None:  # start-up (a server starting, the first prompts) is not the rate
            self._last = now
            return
        elapsed, self._last = now - self._last, now
        new_limit = self.tuner.observe(1, elapsed)
        if new_limit != self.limit:
            self.limit = new_limit
            self._wake = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()
