"""Playing an episode in the browser: a person in one role, agent specs in the others.

A :class:`PlaySession` runs one episode with the same runner as every other episode
(:func:`envs.runner.run_episode`); the person's role is a :class:`~agents.human.RemoteHumanAgent`
whose acts come from the play page's form, and every other role is built from its agent spec by
:func:`agents.specs.build_agent`. Each change (a turn played, the player's turn starting or
ending, the end) bumps the session's version, which wakes the page's event stream. A finished
or failed episode is written to the play folder's episode store, where the app lists it like
any stored run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from agents.human import RemoteHumanAgent
from agents.specs import AgentSpecError, build_agent
from envs.evaluator import Evaluator, aevaluate_safely
from envs.outcome import apply_evaluation
from envs.registry import resolve_scenario_spec
from envs.render import briefing
from envs.runner import run_episode
from envs.social import TurnMode
from envs.types import Episode, EpisodeMetadata, EpisodeStatus, Turn
from eval.judge import SotopiaJudge
from eval.serve.forms import FormModel
from eval.store import EpisodeStore
from scenarios.collection import LibraryError, ScenarioLibrary
from scenarios.graph import sample_setups
from scenarios.schema import EpisodeSetup, Scenario

PLAY_RUN_CONFIG = {"kind": "play", "app": "eval.serve"}


class PlayError(ValueError):
    """A new game that cannot start as asked (the message says which field and why)."""


class PlayRequest(FormModel):
    """The new-game form."""

    scenario: str = Field(description="Scenario id (one the app offers).")
    role: int = Field(1, ge=1, description="Your role, 1-based, in the scenario's role order.")
    partners: str = Field(
        description="Agent specs for the other roles, one per line in role order; one spec plays them all."
    )
    judge: str | None = Field(
        None, description="A model to judge the finished episode (none: rule checks only)."
    )
    max_turns: int | None = Field(None, ge=1, le=200, description="Turn limit (blank: the scenario's).")
    turn_mode: TurnMode = TurnMode.round_robin
    seed: int | None = Field(None, ge=0, description="Seed for drawing the cast (blank: random).")

    def partner_specs(self, others: int) -> list[str]:
        """The spec of each other role, in role order (``PlayError`` when the count does not fit)."""
        specs = [line.strip() for line in self.partners.replace("\r", "").split("\n") if line.strip()]
        if not specs:
            raise PlayError("partners: give an agent spec (e.g. local, sip:local, scripted:Hi|Bye)")
        if len(specs) == 1:
            return specs * others
        if len(specs) != others:
            raise PlayError(
                f"partners: {len(specs)} specs given, but the scenario has {others} other role(s): "
                "give one per line, or a single spec for all of them"
            )
        return specs


class ScenarioBook:
    """The scenarios the play page offers, from ``--scenarios`` specs (those of ``python -m envs.episode``)."""

    def __init__(self, specs: Sequence[str]) -> None:
        self._where: dict[str, ScenarioLibrary] = {}
        for spec in specs:
            library, ids = resolve_scenario_spec(spec)
            for scenario_id in ids:
                known = self._where.get(scenario_id)
                if known is not None and known.scenario(scenario_id) != library.scenario(scenario_id):
                    raise LibraryError(
                        f"--scenarios {spec!r}: scenario id {scenario_id!r} is already offered by an earlier "
                        "--scenarios with different content; rename one of them"
                    )
                self._where[scenario_id] = library

    def scenarios(self) -> list[Scenario]:
        """Every offered scenario, by id."""
        return [self._where[sid].scenario(sid) for sid in sorted(self._where)]

    def setup(self, scenario_id: str, seed: int) -> EpisodeSetup:
        """A cast for one offered scenario (``PlayError`` if it is not offered or has no cast)."""
        library = self._where.get(scenario_id)
        if library is None:
            raise PlayError(f"scenario: {scenario_id!r} is not offered here (see the list)")
        try:
            return sample_setups(library, [scenario_id], n=1, seed=seed)[0]
        except (ValueError, LibraryError) as exc:
            raise PlayError(f"scenario {scenario_id!r}: no cast can be drawn ({exc})") from exc


class PlaySession:
    """One episode being played in the browser (see the module docstring)."""

    def __init__(self, setup: EpisodeSetup, role: int, specs: list[str], request: PlayRequest) -> None:
        self.id = secrets.token_urlsafe(12)
        self.setup = setup
        self.role = role
        self.human = setup.agent_names[role]
        self.specs = dict(zip(setup.agent_names, specs, strict=True))
        self.request = request
        self.created_at = datetime.now(UTC)
        self.turns: list[Turn] = []
        self.episode: Episode | None = None
        self.saved_to: str | None = None
        self.save_error: str | None = None
        self.judging = False
        self.version = 0
        self._event = asyncio.Event()
        self.agent = RemoteHumanAgent(name=self.human, on_change=self.bump)
        self.task: asyncio.Task[None] | None = None

    def bump(self) -> None:
        """Mark a change: wakes every :meth:`wait` in progress."""
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seen: int, timeout_s: float) -> int:
        """Return once the version differs from ``seen`` (or after ``timeout_s``); the version then."""
        if self.version == seen:
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)
        return self.version

    @property
    def status(self) -> EpisodeStatus:
        """running until the episode record comes back, then its status."""
        return self.episode.status if self.episode is not None else EpisodeStatus.running

    def briefing(self) -> list[tuple[str, str]]:
        """What the player's character knows before anything is said (the env's own rendering)."""
        return briefing(self.setup, self.human, show_hints=True)

    def on_turn(self, episode: Episode, turn: Turn) -> None:
        """The runner's turn callback: keep the public act."""
        self.turns.append(turn)
        self.bump()


class PlayManager:
    """Starts play sessions, keeps them for their pages, and saves each episode when it ends."""

    def __init__(
        self,
        book: ScenarioBook,
        play_dir: Path,
        *,
        api_base: str | None = None,
        act_timeout_s: float | None = 1800.0,
        max_live: int = 8,
        keep: int = 100,
    ) -> None:
        self.book = book
        self.play_dir = Path(play_dir)
        self.api_base = api_base
        self.act_timeout_s = act_timeout_s
        self.max_live = max_live
        self.keep = keep
        self.sessions: dict[str, PlaySession] = {}
        self._store: EpisodeStore | None = None

    def get(self, session_id: str) -> PlaySession:
        """The session with this id (``KeyError`` if none)."""
        return self.sessions[session_id]

    def live(self) -> list[PlaySession]:
        """Sessions whose episode is still being played."""
        return [s for s in self.sessions.values() if s.episode is None]

    def _build_partner(self, spec: str, field: str) -> Any:
        if spec.strip() == "human":
            raise PlayError(f"{field}: 'human' is you; give an agent spec for the other roles")
        try:
            return build_agent(spec, api_base=self.api_base)
        except AgentSpecError as exc:
            raise PlayError(f"{field}: {exc}") from exc

    def _judge(self, spec: str | None) -> SotopiaJudge | None:
        if spec is None:
            return None
        spec = spec.strip()
        if spec == "human" or spec.startswith(("scripted:", "sip:")):
            raise PlayError(f"judge: {spec!r} is not a model; give 'local' or a litellm model string")
        return SotopiaJudge(spec, api_base=self.api_base)

    async def start(self, request: PlayRequest) -> PlaySession:
        """Check the request, draw the cast and start the episode (``PlayError`` for a bad request)."""
        if len(self.live()) >= self.max_live:
            raise PlayError(f"{self.max_live} episodes are being played already; finish one first")
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        setup = self.book.setup(request.scenario, seed)
        roles = setup.scenario.num_roles
        if request.role > roles:
            raise PlayError(f"role: the scenario has {roles} roles; choose 1 to {roles}")
        role = request.role - 1
        specs = request.partner_specs(roles - 1)
        partners = [self._build_partner(spec, "partners") for spec in specs]
        judge = self._judge(request.judge)
        specs.insert(role, "human")
        session = PlaySession(setup, role, specs, request.model_copy(update={"seed": seed}))
        agents: list[Any] = [*partners[:role], session.agent, *partners[role:]]
        session.agent.timeout_s = self.act_timeout_s
        self.sessions[session.id] = session
        self._forget_old()
        env_kwargs = {"turn_mode": request.turn_mode, "max_turns": request.max_turns}
        session.task = asyncio.create_task(self._play(session, agents, env_kwargs, judge))
        return session

    async def _play(
        self, session: PlaySession, agents: list[Any], env_kwargs: dict[str, Any], judge: Evaluator | None
    ) -> None:
        if isinstance(judge, SotopiaJudge):
            # The embedded judge's server starts on first use: start it off the event loop.
            await asyncio.to_thread(lambda: judge.endpoint)
        metadata = EpisodeMetadata(played_in="eval.serve", human=session.human, play_session=session.id)
        episode = await run_episode(
            session.setup, agents, env_kwargs, on_turn=session.on_turn, metadata=metadata
        )
        if judge is not None and episode.status is EpisodeStatus.finished:
            # Judged here rather than inside the runner, so the page can say that the judge is at work.
            session.judging = True
            session.bump()
            apply_evaluation(episode, await aevaluate_safely(judge, episode))
        episode.agent_models = dict(session.specs)
        try:
            await asyncio.to_thread(self._save, episode)
            session.saved_to = episode.id
        except Exception as exc:  # the page says the episode was not saved, and why
            session.save_error = f"{type(exc).__name__}: {exc}"
        session.episode = episode
        session.bump()

    def _save(self, episode: Episode) -> None:
        if self._store is None:
            self._store = EpisodeStore(self.play_dir)
            self._store.start_run(config=PLAY_RUN_CONFIG, models=["human"])
        self._store.put(episode)

    def _forget_old(self) -> None:
        ended = [s for s in self.sessions.values() if s.episode is not None]
        for session in sorted(ended, key=lambda s: s.created_at)[: max(0, len(ended) - self.keep)]:
            del self.sessions[session.id]

    async def close(self) -> None:
        """End every live session (its episode fails with "the server stopped" and is saved)."""
        for session in self.live():
            session.agent.give_up("the server stopped before the episode ended")
        tasks = [s.task for s in self.sessions.values() if s.task is not None and not s.task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        for task in tasks:
            task.cancel()
        if self._store is not None:
            self._store.close()
