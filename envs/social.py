"""The social episode as a PettingZoo ``ParallelEnv``.

Agents are named by character (:attr:`EpisodeSetup.agent_names`). Each step, the agents whose turn
it is act; everyone gets a new text observation (see :mod:`envs.render` for what each may see).
The env keeps the :class:`~envs.types.Episode` record as it goes (:attr:`SocialEpisodeEnv.episode`).

Turn-taking (:class:`TurnMode`):

* ``round-robin`` (default): one agent acts per step, in role order, skipping those who left. Its
  available actions are all five (``none`` included, so silence is a legal choice and stale
  turns can end an episode); everyone else may only do ``none``. Actions given for agents whose
  turn it is not are ignored and reported in ``infos[agent]["ignored_action"]``.
* ``simultaneous``: every agent still present acts each step; all acts of one step share a turn
  index.

An episode ends when an agent leaves and fewer than two remain (termination; with three or more
agents the others go on), after ``max_stale_turns`` steps in a row in which nobody did anything
but ``none`` (termination), or after ``max_turns`` steps (truncation).

Rewards are zero during the episode. When it ends and the env has an evaluator, each agent's
reward is its score on ``reward_dimension`` (default ``goal``) and ``infos`` carry all its scores;
without one, rewards stay 0 and ``infos[agent]["evaluated"]`` is False, except in a scenario with
rule checks (:mod:`scenarios.checks`), which is always checked (no model needed): its results sit
beside any judge scores in ``Episode.evaluation.checks``, and ``reward_dimension="rules"``
rewards each role with the share of its checks passed. The async runner instead
evaluates after the episode and calls :meth:`SocialEpisodeEnv.apply_evaluation`.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol
from uuid import uuid4

import numpy as np
from gymnasium.spaces import Dict, Discrete, Text
from pettingzoo import ParallelEnv

from envs.evaluator import Evaluator, evaluate_safely
from envs.outcome import ActionMask, AgentInfo, apply_evaluation, outcome_info
from envs.render import render_observation, render_transcript
from envs.rules import RuleChecker
from envs.types import (
    ActionType,
    AgentAction,
    EnvConfig,
    Episode,
    EpisodeEvaluation,
    EpisodeMetadata,
    EpisodeStatus,
    Observation,
    PublicAct,
    Turn,
    TurnMode,
)
from scenarios.graph import relationship_graph, scenario_casts
from scenarios.schema import AgentProfile, EpisodeSetup

SAMPLE_CHARSET = string.ascii_letters + string.digits + " .,;:!?'-"
"""Characters :class:`UnicodeText` draws from when sampling (membership accepts any character)."""


class UnicodeText(Text):
    """A gymnasium ``Text`` space whose members are any Unicode strings within the length bounds.

    gymnasium's ``Text`` checks membership character by character against its charset, which
    defaults to ASCII letters and digits; dialogue has spaces, punctuation, quotes, emoji and
    every script, so such observations and utterances would be "out of the space". This space
    keeps a small printable charset only for :meth:`sample` and accepts every ``str`` whose
    length is within ``[min_length, max_length]``.
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        """True for any string of allowed length."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"


class TextObservation(str):
    """An observation: a plain ``str`` that also carries ``dtype = str``, the dtype ``Text`` spaces declare.

    PettingZoo's AEC ``api_test`` compares each observation's ``dtype`` with its space's, which
    assumes NumPy observations; this subclass lets text observations state their type. It behaves
    as an ordinary string everywhere else.
    """

    dtype = str


class TerminationReason(StrEnum):
    """Why an episode ended (stored in :attr:`Episode.termination_reason`)."""

    leave = "leave"
    stale_turns = "stale_turns"
    max_turns = "max_turns"
    token_cap = "token_cap"
    """Ended from outside before its next turn (a training rollout's episode token cap): a truncation."""


DETAIL_FIELDS = (
    "raw_text",
    "reasoning",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "parse_fallback",
    "error",
)
"""The fields of a :class:`Turn` that describe how an act was produced (not the act itself)."""


def merge_details(turn: Turn, details: Turn) -> Turn:
    """``turn`` with the production details (raw text, reasoning, timing, tokens) of ``details``."""
    return turn.model_copy(update={name: getattr(details, name) for name in DETAIL_FIELDS})


class _Library(Protocol):
    """The parts of :class:`scenarios.ScenarioLibrary` the env uses."""

    scenarios: Mapping[str, Any]
    characters: Mapping[str, AgentProfile]

    def setup(self, scenario_id: str, agent_ids: Sequence[str], seed: int | None = None) -> EpisodeSetup: ...

    def fixed_pairings(self, scenario_id: str) -> list[Any]: ...


def _cast_names(profiles: Sequence[AgentProfile]) -> list[str]:
    # The display names EpisodeSetup.agent_names gives this cast (it reads only ``agents``).
    return EpisodeSetup.model_construct(agents=list(profiles)).agent_names


class SetupSource:
    """Where an env's episodes come from: one fixed setup, a list of setups, or a scenario library.

    A list is drawn from uniformly; a library first draws a scenario (among ``scenario_ids``,
    default all) uniformly, then one of its casts: its fixed pairings when it has any, else
    every eligible cast (:func:`scenarios.graph.scenario_casts`).
    """

    def __init__(
        self,
        source: EpisodeSetup | Sequence[EpisodeSetup] | _Library,
        scenario_ids: Sequence[str] | None = None,
    ):
        self.library: _Library | None = None
        self.setups: list[EpisodeSetup] = []
        self.casts: dict[str, list[tuple[str, ...]]] = {}
        if isinstance(source, EpisodeSetup):
            self.setups = [source]
        elif hasattr(source, "characters") and hasattr(source, "scenarios") and hasattr(source, "setup"):
            self.library = source
            self.casts = self._library_casts(source, scenario_ids)
        elif isinstance(source, Sequence) and not isinstance(source, str):
            self.setups = [
                s if isinstance(s, EpisodeSetup) else EpisodeSetup.model_validate(s) for s in source
            ]
            if not self.setups:
                raise ValueError("an env needs at least one episode setup; the list is empty")
        else:
            raise TypeError(
                f"an env is built from an EpisodeSetup, a list of them or a ScenarioLibrary, not {type(source).__name__}"
            )
        if scenario_ids is not None and self.library is None:
            raise ValueError("scenario_ids only applies when the env is built from a ScenarioLibrary")

    @staticmethod
    def _library_casts(
        library: _Library, scenario_ids: Sequence[str] | None
    ) -> dict[str, list[tuple[str, ...]]]:
        ids = list(library.scenarios) if scenario_ids is None else list(scenario_ids)
        if not ids:
            raise ValueError("no scenarios to draw episodes from")
        graph = relationship_graph(library)  # type: ignore[arg-type]
        casts: dict[str, list[tuple[str, ...]]] = {}
        for sid in ids:
            if sid not in library.scenarios:
                raise ValueError(f"unknown scenario {sid!r}")
            casts[sid] = scenario_casts(library, sid, graph)  # type: ignore[arg-type]
        uncastable = [sid for sid, found in casts.items() if not found]
        if uncastable:
            raise ValueError(
                f"no character cast fits scenario(s) {', '.join(uncastable)}: add characters or "
                "relationships of the required type, or leave these scenarios out (scenario_ids)"
            )
        return casts

    @property
    def possible_agents(self) -> list[str]:
        """Every agent name this source can produce, in first-seen order."""
        names: dict[str, None] = {}
        if self.library is not None:
            for casts in self.casts.values():
                for cast in casts:
                    names.update(dict.fromkeys(_cast_names([self.library.characters[c] for c in cast])))
        for setup in self.setups:
            names.update(dict.fromkeys(setup.agent_names))
        return list(names)

    def draw(self, rng: random.Random) -> EpisodeSetup:
        """One setup; with a library, its episode seed is drawn from ``rng`` too."""
        if self.library is None:
            return self.setups[0] if len(self.setups) == 1 else rng.choice(self.setups)
        scenario_id = rng.choice(sorted(self.casts))
        cast = rng.choice(self.casts[scenario_id])
        return self.library.setup(scenario_id, list(cast), seed=rng.randrange(2**31))


class SocialEpisodeEnv(ParallelEnv):
    """A SOTOPIA-style social episode: characters with private goals act in turns (see the module docs).

    ``source`` is an :class:`EpisodeSetup`, a list of them, or a ``ScenarioLibrary`` (optionally
    restricted to ``scenario_ids``); ``seed`` seeds the draws until ``reset(seed=...)`` reseeds.
    Settings are :class:`EnvConfig` fields, given as ``config`` or as keywords.
    ``reset(options={"setup": setup})`` plays a given setup (its cast must be in
    ``possible_agents``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "socialgym_v0",
        "render_modes": ["ansi", "human"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        source: EpisodeSetup | Sequence[EpisodeSetup] | Any,
        *,
        scenario_ids: Sequence[str] | None = None,
        evaluator: Evaluator | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
        config: EnvConfig | None = None,
        **settings: Any,
    ) -> None:
        if config is not None and settings:
            raise TypeError("give either config or keyword settings, not both")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}"
            )
        self.config = config or EnvConfig(**settings)
        self.source = SetupSource(source, scenario_ids)
        self.evaluator = evaluator
        self.render_mode = render_mode
        self.possible_agents: list[str] = self.source.possible_agents
        self.agents: list[str] = []
        self.observation_spaces = {
            a: UnicodeText(self.config.max_observation_chars, min_length=1) for a in self.possible_agents
        }
        self.action_spaces = {
            a: Dict(
                {
                    "action_type": Discrete(len(ActionType)),
                    "argument": UnicodeText(self.config.max_argument_chars),
                }
            )
            for a in self.possible_agents
        }
        self._rng = random.Random(seed)
        self._episode: Episode | None = None
        self.setup: EpisodeSetup | None = None
        self._roles: list[str] = []
        self._turn = 0
        self._stale = 0
        self._next_role = 0
        self._order_rng = random.Random(0)
        self._left: list[str] = []
        self._max_turns = 0

    # ------------------------------------------------------------------------------ spaces

    def observation_space(self, agent: str) -> UnicodeText:
        """The text observation space of ``agent`` (the same object every call)."""
        return self.observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> Dict:
        """``Dict(action_type=Discrete(5), argument=UnicodeText)``; action types in :class:`ActionType` order."""
        return self.action_spaces[self._known(agent)]

    def _known(self, agent: str) -> str:
        if agent not in self.observation_spaces:
            raise KeyError(f"unknown agent {agent!r}; possible agents: {', '.join(self.possible_agents)}")
        return agent

    # ------------------------------------------------------------------------------ state

    @property
    def episode(self) -> Episode:
        """The record of the current (or last) episode."""
        if self._episode is None:
            raise RuntimeError("no episode yet: call reset() first")
        return self._episode

    @property
    def turn(self) -> int:
        """Index of the next step (0-based): how many steps the episode has taken."""
        return self._turn

    @property
    def max_turns(self) -> int:
        """Steps after which the current episode is truncated."""
        return self._max_turns

    @property
    def acting_agents(self) -> list[str]:
        """The agents whose action the next step needs."""
        if not self.agents:
            return []
        if self.config.turn_mode is TurnMode.simultaneous:
            return list(self.agents)
        count = len(self._roles)
        for k in range(count):
            name = self._roles[(self._next_role + k) % count]
            if name in self.agents:
                return [name]
        return []

    # ------------------------------------------------------------------------------ API

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, TextObservation], dict[str, AgentInfo]]:
        """Start an episode: ``options={"setup": EpisodeSetup}`` plays that setup, else one is drawn.

        ``seed`` reseeds the draws and the action/observation spaces' samplers.
        """
        if seed is not None:
            self._rng = random.Random(seed)
            for offset, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(seed + offset)
                self.observation_spaces[agent].seed(seed + offset)
        # Other keys are ignored, as gymnasium/PettingZoo expect (their API tests pass made-up options).
        setup = (options or {}).get("setup") or self.source.draw(self._rng)
        if not isinstance(setup, EpisodeSetup):
            setup = EpisodeSetup.model_validate(setup)
        outsiders = [n for n in setup.agent_names if n not in self.observation_spaces]
        if outsiders:
            raise ValueError(
                f"setup {setup.id!r} casts {outsiders}, who are not among this env's possible agents; "
                "build the env from that setup (or a library that contains it)"
            )
        self.setup = setup
        self._roles = list(setup.agent_names)
        self.agents = list(self._roles)
        self._turn = self._stale = self._next_role = 0
        self._left = []
        self._order_rng = random.Random(f"turn-order:{setup.seed if setup.seed is not None else seed}")
        if self.config.turn_mode is TurnMode.random:
            self._next_role = self._order_rng.randrange(len(self._roles))
        self._max_turns = self.config.max_turns or setup.scenario.max_turns
        self._episode = Episode(
            id=uuid4().hex,
            setup=setup,
            metadata=EpisodeMetadata(env=self.config.model_copy(), seed=seed, max_turns=self._max_turns),
        )
        return self._outputs(self.agents)

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, TextObservation],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, AgentInfo],
    ]:
        """Apply one step. Values may be space dicts, :class:`AgentAction` or :class:`Turn` (its details are kept)."""
        episode = self.episode
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() to start another")
        live = list(self.agents)
        actors = self.acting_agents
        strangers = [a for a, v in actions.items() if v is not None and a not in live]
        if strangers:
            raise ValueError(f"actions given for {strangers}, who are not in the episode (now: {live})")
        missing = [a for a in actors if actions.get(a) is None]
        if missing:
            raise ValueError(f"turn {self._turn}: no action for {missing}, whose turn it is")
        ignored = {}
        for agent in live:
            if agent not in actors and actions.get(agent) is not None:
                action, _ = self._coerce(agent, actions[agent])
                if action.action_type is not ActionType.none:
                    ignored[agent] = action.render(agent)
        new_turns = []
        for agent in actors:
            action, details = self._coerce(agent, actions[agent])
            turn = Turn(index=self._turn, agent=agent, action=action)
            new_turns.append(merge_details(turn, details) if details is not None else turn)
        episode.turns.extend(new_turns)

        if self.config.turn_mode is TurnMode.round_robin:
            self._next_role = (self._roles.index(actors[0]) + 1) % len(self._roles)
        self._stale = (
            self._stale + 1 if all(t.action.action_type is ActionType.none for t in new_turns) else 0
        )
        self._turn += 1
        leavers = [t.agent for t in new_turns if t.action.action_type is ActionType.leave]
        self._left.extend(leavers)
        terminations = {a: a in leavers for a in live}
        truncations = dict.fromkeys(live, False)
        remaining = [a for a in live if a not in leavers]
        reason: TerminationReason | None = None
        if leavers and len(remaining) < 2:
            reason = TerminationReason.leave
            terminations = dict.fromkeys(live, True)
        elif self.config.max_stale_turns is not None and self._stale >= self.config.max_stale_turns:
            reason = TerminationReason.stale_turns
            terminations = dict.fromkeys(live, True)
        elif self._turn >= self._max_turns:
            reason = TerminationReason.max_turns
            truncations = {a: not terminations[a] for a in live}
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        if self.config.turn_mode is TurnMode.random and self.agents:
            pool = [a for a in self.agents if a not in actors] or self.agents
            self._next_role = self._roles.index(self._order_rng.choice(pool))
        if reason is not None:
            self._finish(reason)
        observations, infos = self._outputs(live)
        rewards = {a: float(episode.rewards.get(a, 0.0)) if reason is not None else 0.0 for a in live}
        for agent, text in ignored.items():
            infos[agent]["ignored_action"] = text
        return observations, rewards, terminations, truncations, infos

    def record_turn_details(self, agent: str, details: Turn) -> Turn:
        """Attach how ``agent``'s latest act was produced (raw text, reasoning, timing, tokens).

        The act itself is never changed: ``details.action`` is ignored. Returns the updated turn.
        """
        turns = self.episode.turns
        for position in range(len(turns) - 1, -1, -1):
            if turns[position].agent == agent:
                turns[position] = merge_details(turns[position], details)
                return turns[position]
        raise ValueError(f"{agent!r} has not acted yet in this episode")

    def apply_evaluation(self, evaluation: EpisodeEvaluation) -> dict[str, float]:
        """Store an evaluation, with the scenario's rule checks added, on the episode; returns the rewards
        (score on ``reward_dimension``; see :func:`envs.outcome.apply_evaluation`).

        A failed evaluation (``ok=False``) is stored as such and sets no judge scores and no judge
        rewards; rule checks (and a ``rules`` reward) still count.
        """
        return apply_evaluation(self.episode, evaluation, self.config.reward_dimension)

    def fail(self, error: str) -> None:
        """Mark the episode failed (an agent or the runner could not go on) and end it."""
        episode = self.episode
        episode.status = EpisodeStatus.failed
        episode.error = error
        episode.finished_at = datetime.now(UTC)
        self.agents = []

    def end(self, reason: TerminationReason) -> None:
        """End a running episode from outside (e.g. a rollout's token cap); judged like any finished one."""
        if self.episode.status is not EpisodeStatus.running:
            raise RuntimeError(f"the episode is already {self.episode.status.value}")
        self._finish(reason)
        self.agents = []

    def render(self) -> str | None:
        """The transcript so far: returned for ``ansi``, printed for ``human``."""
        if self.render_mode is None or self._episode is None:
            return None
        text = render_transcript(self._episode.turns)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        """Nothing to release."""

    # ------------------------------------------------------------------------------ helpers

    def _coerce(self, agent: str, value: Any) -> tuple[AgentAction, Turn | None]:
        details = value if isinstance(value, Turn) else None
        try:
            action = AgentAction.from_space(value.action if details is not None else value)
        except (IndexError, ValueError) as exc:
            raise ValueError(f"invalid action for {agent}: {value!r} ({exc})") from exc
        if len(action.argument) > self.config.max_argument_chars:
            raise ValueError(
                f"{agent}'s action argument has {len(action.argument)} characters; the action space "
                f"allows {self.config.max_argument_chars} (EnvConfig.max_argument_chars)"
            )
        return action, details

    def _finish(self, reason: TerminationReason) -> None:
        episode = self.episode
        episode.status = EpisodeStatus.finished
        episode.termination_reason = reason.value
        episode.finished_at = datetime.now(UTC)
        if self.evaluator is not None:
            self.apply_evaluation(evaluate_safely(self.evaluator, episode))
        elif episode.setup.scenario.has_checks:
            # deterministic and free: a rule-checked scenario is always checked
            self.apply_evaluation(evaluate_safely(RuleChecker(), episode))

    def _ended_text(self, agent: str) -> str | None:
        episode = self.episode
        if episode.status is EpisodeStatus.failed:
            return f"failed: {episode.error}"
        if episode.status is EpisodeStatus.finished:
            reason = TerminationReason(episode.termination_reason)
            if reason is TerminationReason.leave:
                return f"{' and '.join(self._left)} left"
            if reason is TerminationReason.stale_turns:
                return f"nothing happened for {self._stale} turns"
            return f"the turn limit of {self._max_turns} was reached"
        if agent in self._left:
            return "you left"
        return None

    def _outputs(self, names: Sequence[str]) -> tuple[dict[str, TextObservation], dict[str, AgentInfo]]:
        episode = self.episode
        actors = self.acting_agents
        observations: dict[str, TextObservation] = {}
        infos: dict[str, AgentInfo] = {}
        for name in names:
            mine = name in actors
            available = list(ActionType) if mine else [ActionType.none]
            text = render_observation(
                episode.setup,
                name,
                episode.turns,
                turn=self._turn,
                available_actions=available,
                waiting_for=actors,
                show_hints=self.config.show_hints,
                ended=self._ended_text(name),
            )
            if len(text) > self.config.max_observation_chars:
                raise RuntimeError(
                    f"{name}'s observation has {len(text)} characters, over the space's "
                    f"{self.config.max_observation_chars} (raise EnvConfig.max_observation_chars)"
                )
            observations[name] = TextObservation(text)
            mask = np.array([1 if a in available else 0 for a in ActionType], dtype=np.int8)
            info = AgentInfo(
                observation=Observation(
                    agent=name,
                    text=text,
                    turn=self._turn,
                    available_actions=available,
                    is_my_turn=mine,
                    public_acts=[
                        PublicAct(index=t.index, agent=t.agent, text=t.action.render(t.agent))
                        for t in episode.turns
                    ],
                ),
                turn=self._turn,
                action_mask=ActionMask(action_type=mask, argument=None),
            )
            if episode.status is not EpisodeStatus.running:
                info.update(outcome_info(episode, name))
            infos[name] = info
        return observations, infos
