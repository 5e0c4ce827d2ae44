"""A single-agent view of a social episode, for a learner playing against embedded partner agents.

The learner plays one role (``learner_role``, in role order); partner agents play the others and
act through their own ``Agent.act`` whenever it is their turn. :meth:`SingleAgentEnv.reset` and
:meth:`SingleAgentEnv.step` return only when it is the learner's turn again or the episode is
over, so the learner sees only its own observations. The API is async because partners call
models::

    view = SingleAgentEnv(make("sotopia"), partners=partner_agent)
    obs, info = await view.reset(seed=0)
    while True:
        obs, reward, terminated, truncated, info = await view.step(my_action(obs))
        if terminated or truncated:
            break

A partner that fails marks the episode failed (``info["failed"]``, ``info["error"]``) and ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from envs.evaluator import Evaluator, aevaluate_safely
from envs.outcome import AgentInfo, LearnerInfo, outcome_info
from envs.runner import TurnError, describe_agent, play_step
from envs.social import SocialEpisodeEnv, TerminationReason
from envs.types import AgentAction, Episode, EpisodeStatus, Observation, Turn

if TYPE_CHECKING:
    from agents.base import Agent

StepResult = tuple[Observation, float, bool, bool, LearnerInfo]


class SingleAgentEnv:
    """One learner against embedded partners (see the module docstring).

    ``partners`` is one agent (for two-role scenarios) or one per other role, in role order.
    ``evaluator`` judges each finished episode (async); the learner's final reward is its score
    on the env's ``reward_dimension``. Give the evaluator here, not to the env.
    """

    def __init__(
        self,
        env: SocialEpisodeEnv,
        partners: Agent | Sequence[Agent],
        *,
        learner_role: int = 0,
        evaluator: Evaluator | None = None,
        act_timeout_s: float | None = None,
    ) -> None:
        self.env = env
        self.partners = list(partners) if isinstance(partners, Sequence) else [partners]
        self.learner_role = learner_role
        self.evaluator = evaluator
        self.act_timeout_s = act_timeout_s
        self.learner = ""
        self._bound: dict[str, Agent] = {}
        self._infos: dict[str, AgentInfo] = {}
        self._last: Observation | None = None
        self._judged = False

    @property
    def episode(self) -> Episode:
        """The record of the current episode."""
        return self.env.episode

    async def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, LearnerInfo]:
        """Start an episode and play partner turns until the learner must act."""
        _, self._infos = self.env.reset(seed=seed, options=options)
        self._judged = False
        setup = self.env.episode.setup
        names = setup.agent_names
        if not 0 <= self.learner_role < len(names):
            raise ValueError(
                f"learner_role {self.learner_role} is not a role of {setup.scenario.id!r} ({len(names)} roles)"
            )
        if len(self.partners) != len(names) - 1:
            raise ValueError(
                f"{len(self.partners)} partner agent(s) for {len(names) - 1} partner role(s) in {setup.scenario.id!r}"
            )
        self.learner = names[self.learner_role]
        others = [name for name in names if name != self.learner]
        self._bound = dict(zip(others, self.partners, strict=True))
        for name, agent in self._bound.items():
            agent.reset(setup, name)
        self.env.episode.agent_models = {name: describe_agent(agent) for name, agent in self._bound.items()}
        self.env.episode.agent_models[self.learner] = "learner"
        self._last = self._infos[self.learner]["observation"]
        obs, _, _, _, info = await self._advance()
        return obs, info

    async def step(self, action: AgentAction | dict[str, Any] | Turn) -> StepResult:
        """Play the learner's act (a :class:`Turn` also records its raw text etc.), then partners' turns."""
        if self.learner not in self.env.agents:
            raise RuntimeError("the learner's episode is over: call reset()")
        observations = self._observations()
        try:
            actions = await play_step(
                self.env,
                self._bound,
                observations,
                fixed={self.learner: action},
                timeout_s=self.act_timeout_s,
            )
        except TurnError as exc:
            return self._failed(exc)
        _, _, _, _, self._infos = self.env.step(actions)
        return await self._advance()

    def _observations(self) -> dict[str, Observation]:
        return {name: self._infos[name]["observation"] for name in self.env.agents}

    async def _advance(self) -> StepResult:
        """Play partner-only steps until the learner acts next or the episode ends; then evaluate."""
        while self.env.agents and self.learner not in self.env.acting_agents:
            try:
                actions = await play_step(
                    self.env, self._bound, self._observations(), timeout_s=self.act_timeout_s
                )
            except TurnError as exc:
                return self._failed(exc)
            _, _, _, _, self._infos = self.env.step(actions)
        if self.learner in self._infos:
            self._last = self._infos[self.learner]["observation"]
        info = LearnerInfo(**self._infos.get(self.learner, {}))
        episode = self.env.episode
        if self.env.agents:
            return self._require_last(), 0.0, False, False, info
        await self._judge()
        info.update(outcome_info(episode, self.learner))
        truncated = episode.termination_reason in ("max_turns", "token_cap")
        reward = float(episode.rewards.get(self.learner, 0.0))
        return self._require_last(), reward, not truncated, truncated, info

    async def truncate(self, reason: str = "token_cap") -> None:
        """End the running episode before the learner's next turn (a truncation), and judge it."""
        self.env.end(TerminationReason(reason))
        await self._judge()

    async def _judge(self) -> None:
        """Judge the ended episode once (the env's own rule checks may already be on it)."""
        if self.evaluator is not None and not self._judged:
            self._judged = True
            self.env.apply_evaluation(await aevaluate_safely(self.evaluator, self.env.episode))

    def _failed(self, exc: TurnError) -> StepResult:
        self.env.fail(str(exc))
        episode = self.env.episode
        episode.metadata.failed_agent = exc.agent
        episode.metadata.failed_turn = exc.turn
        info = LearnerInfo(failed=True, error=episode.error, status=EpisodeStatus.failed.value)
        return self._require_last(), 0.0, True, False, info

    def _require_last(self) -> Observation:
        if self._last is None:
            raise RuntimeError("no observation yet: call reset() first")
        return self._last
