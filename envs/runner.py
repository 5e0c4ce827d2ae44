"""Run social episodes with agents: one, many concurrently, or a recorded one again (replay).

Every episode runs inside its own error boundary: an exception (an agent that cannot act, a bad
cast, an evaluator bug) marks that episode ``failed`` with the error text, keeps the turns played
so far, and never stops the other episodes. Each finished episode goes to the sink as it ends.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from envs.evaluator import Evaluator, aevaluate_safely
from envs.pacing import ConcurrencyTuner, EpisodeGate
from envs.sinks import EpisodeSink
from envs.social import EnvConfig, SocialEpisodeEnv, merge_details
from envs.types import AgentAction, Episode, EpisodeMetadata, EpisodeStatus, Observation, Turn
from scenarios.schema import EpisodeSetup

if TYPE_CHECKING:  # agents import envs, never the other way round at run time
    from agents.base import Agent

TurnCallback = Callable[[Episode, Turn], None]
AgentFactory = Callable[[EpisodeSetup], "Mapping[str, Agent] | Sequence[Agent] | Awaitable[Any]"]


class TurnError(RuntimeError):
    """An agent failed to act; names the agent and the turn (the cause is chained)."""

    def __init__(self, agent: str, turn: int, cause: BaseException) -> None:
        super().__init__(f"{agent} failed on turn {turn}: {type(cause).__name__}: {cause}")
        self.agent = agent
        self.turn = turn


class ReplayMismatch(AssertionError):
    """A replay did not reproduce the recorded episode."""


def bind_agents(setup: EpisodeSetup, agents: Mapping[str, Agent] | Sequence[Agent]) -> dict[str, Agent]:
    """Agents by character name: a mapping keyed by the setup's names, or a list in role order."""
    names = setup.agent_names
    if isinstance(agents, Mapping):
        if set(agents) != set(names):
            raise ValueError(f"agents are keyed {sorted(agents)} but the cast is {names}")
        return {name: agents[name] for name in names}
    agents = list(agents)
    if len(agents) != len(names):
        raise ValueError(f"{len(agents)} agents given for a cast of {len(names)} ({', '.join(names)})")
    return dict(zip(names, agents, strict=True))


def describe_agent(agent: object) -> str:
    """How an agent is labelled on the episode: its ``label``, ``spec`` or ``model``, else its class name."""
    for attribute in ("label", "spec", "model"):
        value = getattr(agent, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(agent).__name__


async def act_with_record(agent: Agent, observation: Observation, timeout_s: float | None = None) -> Turn:
    """Ask ``agent`` to act; return the act as a :class:`Turn` with the agent's production details.

    Wall time is measured here and used when the agent's own record has no latency. Any failure
    (including a timeout) is raised as :class:`TurnError`.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            result = await agent.act(observation)
        action = AgentAction.from_space(result)
    except Exception as exc:
        raise TurnError(observation.agent, observation.turn, exc) from exc
    elapsed = time.perf_counter() - started
    turn = Turn(index=observation.turn, agent=observation.agent, action=action, latency_s=elapsed)
    record = agent.last_turn_record()
    if record is not None:
        turn = merge_details(turn, record)
        if turn.latency_s is None:
            turn = turn.model_copy(update={"latency_s": elapsed})
    return turn


async def play_step(
    env: SocialEpisodeEnv,
    agents: Mapping[str, Agent],
    observations: Mapping[str, Observation],
    fixed: Mapping[str, Any] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Collect the actions for one step: ``fixed`` ones as given, the other acting agents' concurrently."""
    fixed = dict(fixed or {})
    asking = [name for name in env.acting_agents if name not in fixed]
    if len(asking) == 1:
        fixed[asking[0]] = await act_with_record(agents[asking[0]], observations[asking[0]], timeout_s)
    elif asking:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = {
                    name: group.create_task(act_with_record(agents[name], observations[name], timeout_s))
                    for name in asking
                }
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
        fixed.update({name: task.result() for name, task in tasks.items()})
    return fixed


def _first_error(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def failed_episode(setup: EpisodeSetup, error: str, **fields: Any) -> Episode:
    """An episode that failed before its env could start (bad settings, agent factory error)."""
    now = datetime.now(UTC)
    return Episode(
        id=uuid4().hex, setup=setup, status=EpisodeStatus.failed, error=error, finished_at=now, **fields
    )


async def run_episode(
    setup: EpisodeSetup,
    agents: Mapping[str, Agent] | Sequence[Agent],
    env_kwargs: Mapping[str, Any] | None = None,
    evaluator: Evaluator | None = None,
    *,
    on_turn: TurnCallback | None = None,
    act_timeout_s: float | None = None,
    metadata: EpisodeMetadata | None = None,
) -> Episode:
    """Play one episode of ``setup`` with ``agents`` and return its record (never raises for episode errors).

    ``env_kwargs`` are :class:`SocialEpisodeEnv` settings (``turn_mode``, ``max_turns`` ...).
    ``on_turn`` is called with each new turn as it is played. With an ``evaluator`` the finished
    episode is judged (async) and its scores and rewards stored on it.
    """
    try:
        env = SocialEpisodeEnv(setup, **dict(env_kwargs or {}))
        _, infos = env.reset(seed=setup.seed, options={"setup": setup})
    except Exception as exc:
        return failed_episode(
            setup,
            f"cannot start the env: {type(exc).__name__}: {exc}",
            metadata=metadata.model_copy() if metadata is not None else EpisodeMetadata(),
        )
    episode = env.episode
    if metadata is not None:
        episode.metadata.merge(metadata)
    bound: dict[str, Agent] = {}
    try:
        bound = bind_agents(setup, agents)
        episode.agent_models = {name: describe_agent(agent) for name, agent in bound.items()}
        for name, agent in bound.items():
            agent.reset(setup, name)
        while env.agents:
            observations = {name: infos[name]["observation"] for name in env.agents}
            actions = await play_step(env, bound, observations, timeout_s=act_timeout_s)
            before = len(episode.turns)
            _, _, _, _, infos = env.step(actions)
            if on_turn is not None:
                for turn in episode.turns[before:]:
                    on_turn(episode, turn)
        if evaluator is not None:
            env.apply_evaluation(await aevaluate_safely(evaluator, episode))
    except Exception as exc:
        env.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, TurnError) else str(exc))
        if isinstance(exc, TurnError):
            episode.metadata.failed_agent = exc.agent
            episode.metadata.failed_turn = exc.turn
            _keep_failed_record(episode, bound.get(exc.agent), exc.turn)
    return episode


def _keep_failed_record(episode: Episode, agent: Agent | None, turn: int) -> None:
    """Keep what a failing agent produced on its failed turn (e.g. unparsable model text), if it says."""
    record = agent.last_turn_record() if agent is not None else None
    if record is not None and record.index == turn:
        episode.metadata.failed_turn_record = record


async def run_episodes(
    setups: Sequence[EpisodeSetup],
    agent_factory: AgentFactory,
    *,
    concurrency: int | ConcurrencyTuner = 4,
    sink: EpisodeSink | None = None,
    evaluator: Evaluator | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Callable[[Episode], None] | None = None,
    on_turn: TurnCallback | None = None,
    act_timeout_s: float | None = None,
) -> list[Episode]:
    """Play every setup, at most ``concurrency`` at a time; results in ``setups`` order.

    ``concurrency`` is a number, or a :class:`~envs.pacing.ConcurrencyTuner` that raises it while
    the rate of finished turns grows (endpoints of unknown capacity).

    ``agent_factory(setup)`` returns fresh agents for one episode (a mapping by name or a list in
    role order; it may be async). Each episode's ``metadata.batch_index`` is its position in
    ``setups``. As each episode ends it is written to ``sink`` and passed to ``progress``. A sink
    that fails to write aborts the run (losing episodes silently is worse than stopping).
    """
    gate = EpisodeGate(concurrency)

    def turn_seen(episode: Episode, turn: Turn) -> None:
        gate.turn_finished()
        if on_turn is not None:
            on_turn(episode, turn)

    async def one(index: int, setup: EpisodeSetup) -> Episode:
        async with gate:
            metadata = EpisodeMetadata(batch_index=index)
            try:
                agents = agent_factory(setup)
                if inspect.isawaitable(agents):
                    agents = await agents
            except Exception as exc:
                episode = failed_episode(
                    setup, f"agent factory: {type(exc).__name__}: {exc}", metadata=metadata
                )
            else:
                episode = await run_episode(
                    setup,
                    agents,
                    env_kwargs,
                    evaluator,
                    on_turn=turn_seen,
                    act_timeout_s=act_timeout_s,
                    metadata=metadata,
                )
            if sink is not None:
                await sink.write(episode)
            if progress is not None:
                progress(episode)
            return episode

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(index, setup)) for index, setup in enumerate(setups)]
    except BaseExceptionGroup as group_error:
        raise _first_error(group_error) from None
    return [task.result() for task in tasks]


def replay(episode: Episode, *, check: bool = True) -> Episode:
    """Re-run a recorded episode's acts through a fresh env (same settings) and return the new record.

    With ``check`` (default) the new transcript, status and termination reason must equal the
    recorded ones, else :class:`ReplayMismatch`. Production details (raw texts, timings) are
    carried over; the evaluator is not run again. A failed episode replays up to its failure.
    """
    # a stored env config that no longer validates sits in ``other``: replaying it raises, naming the field
    settings = episode.metadata.env or EnvConfig.model_validate(episode.metadata.other.get("env", {}))
    env = SocialEpisodeEnv(episode.setup, config=settings)
    env.reset(seed=episode.metadata.seed, options={"setup": episode.setup})
    steps: dict[int, list[Turn]] = defaultdict(list)
    for turn in episode.turns:
        steps[turn.index].append(turn)
    for index in sorted(steps):
        if not env.agents:
            raise ReplayMismatch(
                f"the replayed episode ended at turn {env.turn}, but turn {index} was recorded"
            )
        if index != env.turn:
            raise ReplayMismatch(f"recorded turn {index} where the env is at turn {env.turn}")
        try:
            env.step({turn.agent: turn for turn in steps[index]})
        except ValueError as exc:
            raise ReplayMismatch(f"turn {index}: the env rejected the recorded acts: {exc}") from exc
    replayed = env.episode
    if episode.status is EpisodeStatus.failed:
        env.fail(episode.error or "failed")
    replayed.agent_models = dict(episode.agent_models)
    if check:
        _check_same(episode, replayed)
    return replayed


def _check_same(recorded: Episode, replayed: Episode) -> None:
    def acts(ep: Episode) -> list[tuple[int, str, AgentAction]]:
        return [(t.index, t.agent, t.action) for t in ep.turns]

    if acts(recorded) != acts(replayed):
        raise ReplayMismatch(
            f"transcripts differ:\nrecorded:\n{recorded.transcript()}\nreplayed:\n{replayed.transcript()}"
        )
    if (recorded.status, recorded.termination_reason) != (replayed.status, replayed.termination_reason):
        raise ReplayMismatch(
            f"recorded {recorded.status.value} ({recorded.termination_reason}), replayed "
            f"{replayed.status.value} ({replayed.termination_reason})"
        )
