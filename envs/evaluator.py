"""The episode evaluator protocol, a sync bridge for async evaluators, and transcript statistics.

An evaluator turns a finished :class:`~envs.types.Episode` into an
:class:`~envs.types.EpisodeEvaluation`. The SOTOPIA judge (``eval.judge``) implements this
protocol; the environment and the runner only depend on the protocol. An evaluator that cannot
judge returns ``ok=False`` with an ``error``: never zeros.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar, runtime_checkable

from envs.types import ActionType, DimensionScore, Episode, EpisodeEvaluation

T = TypeVar("T")


@runtime_checkable
class Evaluator(Protocol):
    """Scores a finished episode per agent and dimension."""

    def evaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Judge the episode (blocking)."""

    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Judge the episode (async)."""


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code.

    Works both with no event loop and from inside a running one (for example a sync env step
    called from async code): then the coroutine runs on its own loop in a worker thread and this
    call blocks until it is done.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="run_sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()


class AsyncEvaluator(ABC):
    """Base for evaluators written as coroutines: implement :meth:`aevaluate`, get :meth:`evaluate`."""

    @abstractmethod
    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Judge the episode (async)."""

    def evaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Judge the episode, blocking (see :func:`run_sync`)."""
        return run_sync(self.aevaluate(episode))


def evaluator_name(evaluator: object) -> str:
    """A label for an evaluator: its ``name`` attribute, else its class name."""
    return str(getattr(evaluator, "name", "") or type(evaluator).__name__)


def failed_evaluation(
    evaluator: object, exc: BaseException, started: float | None = None
) -> EpisodeEvaluation:
    """The record of an evaluator that raised instead of returning ``ok=False``."""
    latency = time.perf_counter() - started if started is not None else None
    return EpisodeEvaluation(
        ok=False,
        error=f"{type(exc).__name__}: {exc}",
        evaluator=evaluator_name(evaluator),
        latency_s=latency,
    )


def evaluate_safely(evaluator: Evaluator, episode: Episode) -> EpisodeEvaluation:
    """``evaluator.evaluate(episode)``, with an exception recorded as a failed evaluation."""
    started = time.perf_counter()
    try:
        return evaluator.evaluate(episode)
    except Exception as exc:
        return failed_evaluation(evaluator, exc, started)


async def aevaluate_safely(evaluator: Evaluator, episode: Episode) -> EpisodeEvaluation:
    """``await evaluator.aevaluate(episode)``, with an exception recorded as a failed evaluation."""
    started = time.perf_counter()
    try:
        return await evaluator.aevaluate(episode)
    except Exception as exc:
        return failed_evaluation(evaluator, exc, started)


class TranscriptStatsEvaluator(AsyncEvaluator):
    """Counts what each agent did: a deterministic, model-free description of an episode.

    These are measurements, not judgements of social skill. Dimensions per agent: ``acts`` (turns
    taken, ``none`` excluded), ``words`` (words spoken), ``speak``, ``non_verbal``, ``action``
    (acts of each type), ``idle`` (``none`` turns) and ``left`` (1 when the agent left, else 0).
    Useful for checking the reward plumbing and for cheap shaping (e.g. reward on ``words``).
    """

    name = "transcript-stats"
    DIMENSIONS = ("acts", "words", "speak", "non_verbal", "action", "idle", "left")

    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Count the acts of every agent in the episode's cast."""
        started = time.perf_counter()
        counts = {name: dict.fromkeys(self.DIMENSIONS, 0) for name in episode.setup.agent_names}
        keys = {
            ActionType.speak: "speak",
            ActionType.non_verbal: "non_verbal",
            ActionType.action: "action",
            ActionType.none: "idle",
            ActionType.leave: "left",
        }
        for turn in episode.turns:
            row = counts.setdefault(turn.agent, dict.fromkeys(self.DIMENSIONS, 0))
            row[keys[turn.action.action_type]] += 1
            if turn.action.action_type is not ActionType.none:
                row["acts"] += 1
            if turn.action.action_type is ActionType.speak:
                row["words"] += len(turn.action.argument.split())
        scores = {
            agent: {
                dim: DimensionScore(score=float(value), reasoning=f"{value} counted in the transcript")
                for dim, value in row.items()
            }
            for agent, row in counts.items()
        }
        return EpisodeEvaluation(
            ok=True, scores=scores, evaluator=self.name, latency_s=time.perf_counter() - started
        )
