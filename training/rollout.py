"""Trajectory-level rollouts for GRPO: whole social episodes (and one-turn MCQ items) as samples.

TRL's ``GRPOTrainer(rollout_func=...)`` hands us the per-process prompts (task keys, already
repeated ``num_generations`` times by TRL's sampler: one episode per entry) and expects token
ids back. For a social episode the sample is the policy's side of the conversation as one token
stream::

    prompt_ids     = chat template of [system: SIP instructions, user: first observation]
    completion_ids = policy turn 1 | partners' acts as a user turn | policy turn 2 | ...
    env_mask       =      1...1    |           0...0              |     1...1    | ...

With ``think_prefill`` (e.g. ``"<think>\n1. Cue Encoding:"``) every policy turn opens with those
tokens already written (mask 0: the policy did not choose them), the R1-style way to start a
small model inside the reasoning format; the text the rewards and the env see starts with it.

Partner and environment tokens carry ``env_mask = 0`` and stay out of the loss; every policy
token of an episode gets that episode's (group-normalised) advantage. Each policy turn is
generated as a continuation of exactly these tokens, so the trainer's log-probabilities are
computed on the context the policy really saw.

All live episodes' policy turns go to the model in one generate call per round; partner turns
(litellm) run concurrently; under several processes every rank makes the same number of generate
calls (ranks without live episodes generate for a one-token dummy prompt), or ZeRO-3 and vLLM's
server mode would deadlock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from agents import sip
from agents.base import Agent
from agents.chat_format import ChatTokens
from agents.llm import UnusableOutputError
from agents.socialr1 import SocialR1Agent
from envs.evaluator import Evaluator
from envs.social import SocialEpisodeEnv
from envs.types import (
    RULES_DIMENSION,
    ActionType,
    AgentAction,
    Episode,
    EpisodeMetadata,
    EpisodeStatus,
    Observation,
    Turn,
)
from envs.wrappers import SingleAgentEnv
from training.tasks import MCQTask, SocialTask, TaskRegistry


class PolicyGenerator(Protocol):
    """Generates one continuation per token-id prompt (the policy model, in one batched call)."""

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], list[list[float]] | None]:
        """Return completion ids (and their sampling log-probs, if known) for each prompt."""


class TRLGenerator:
    """Generation through the trainer's own single-turn path (HF generate, ZeRO-3 gathering, vLLM).

    The one place that touches a private TRL method; ``trl`` is pinned to 1.16.* for it.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], list[list[float]] | None]:
        """Generate one completion per prompt."""
        completion_ids, logprobs = self.trainer._generate_single_turn(prompt_ids, None, {}, 1)
        return [list(map(int, ids)) for ids in completion_ids], logprobs


@dataclass
class Trajectory:
    """The token stream and outcome of one sample."""

    task: SocialTask | MCQTask
    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    policy_texts: list[str] = field(default_factory=list)
    episode: Episode | None = None
    goal_score: float | None = None
    rule_score: float | None = None
    error: str | None = None

    def add(self, ids: Sequence[int], mask: int, logprobs: Sequence[float] | None = None) -> None:
        """Append tokens with one mask value (log-probs 0.0 where unknown or masked)."""
        self.completion_ids.extend(ids)
        self.env_mask.extend([mask] * len(ids))
        self.logprobs.extend(list(logprobs) if logprobs is not None and mask else [0.0] * len(ids))


class RolloutFields(TypedDict):
    """What the rollout returns to TRL: its token fields, then one column per field of
    :class:`training.tasks.RolloutRow` (what each sample adds to its row for the reward terms)."""

    prompt_ids: list[list[int]]
    completion_ids: list[list[int]]
    logprobs: list[list[float]]
    env_mask: list[list[int]]
    policy_texts: list[list[str]]
    goal_score: list[float | None]
    rule_score: list[float | None]
    scorable: list[bool]
    episode_status: list[str]
    rollout_error: list[str]


@dataclass
class _Live:
    trajectory: Trajectory
    view: SingleAgentEnv
    policy: SocialR1Agent
    observation: Observation
    ended_with_eos: bool = True


PartnerFactory = Callable[[SocialTask], Agent]
EpisodeCallback = Callable[[Episode], Any]


class TrajectoryRollout:
    """The ``rollout_func`` for TRL: plays social episodes and MCQ items for a batch of task keys."""

    def __init__(
        self,
        tasks: TaskRegistry,
        tokenizer: Any,
        partner_factory: PartnerFactory,
        *,
        evaluator: Evaluator | None = None,
        max_turns: int = 4,
        on_episode: EpisodeCallback | None = None,
        env_settings: dict[str, Any] | None = None,
        think_prefill: str = "",
        max_episode_tokens: int | None = None,
        turn_tokens: int = 0,
    ) -> None:
        self.tasks = tasks
        self.think_prefill = think_prefill
        self._prefill_ids: list[int] = (
            list(tokenizer(think_prefill, add_special_tokens=False)["input_ids"]) if think_prefill else []
        )
        self.chat = ChatTokens(tokenizer)
        self.partner_factory = partner_factory
        self.evaluator = evaluator
        self.max_turns = max_turns
        context = getattr(getattr(tokenizer, "init_kwargs", {}), "get", lambda *_: None)("model_max_length")
        self.max_episode_tokens = max_episode_tokens or (
            context if isinstance(context, int) and context < 10**7 else None
        )
        self.turn_tokens = turn_tokens
        self.on_episode = on_episode
        self.env_settings = dict(env_settings or {})
        self.step = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.timings: dict[str, float] = {}
        """Seconds the last call spent generating policy turns and waiting on the env (partner, judge, store)."""

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        """TRL entry point."""
        self.step = int(trainer.state.global_step)
        sync = _RankSync(trainer.accelerator) if trainer.accelerator.num_processes > 1 else None
        return self.run([str(p) for p in prompts], TRLGenerator(trainer), sync=sync)

    def run(self, keys: list[str], generator: PolicyGenerator, sync: RankSync | None = None) -> RolloutFields:
        """Play every task key; return TRL's rollout dict (plus per-row fields for the rewards).

        An unscorable row (:meth:`scorable`) keeps its tokens but gets ``env_mask`` all 0, so it
        takes no part in the loss, and ``scorable=False``, so every reward term gives it None and
        TRL leaves it out of its group's mean and spread (advantage 0).
        """
        trajectories = self._play(keys, generator, sync)
        scorable = [self.scorable(t) for t in trajectories]
        return RolloutFields(
            prompt_ids=[t.prompt_ids for t in trajectories],
            completion_ids=[t.completion_ids for t in trajectories],
            logprobs=[t.logprobs for t in trajectories],
            env_mask=[
                t.env_mask if ok else [0] * len(t.env_mask)
                for t, ok in zip(trajectories, scorable, strict=True)
            ],
            policy_texts=[t.policy_texts for t in trajectories],
            goal_score=[t.goal_score for t in trajectories],
            rule_score=[t.rule_score for t in trajectories],
            scorable=scorable,
            episode_status=[
                t.episode.status.value if t.episode is not None else ("failed" if t.error else "finished")
                for t in trajectories
            ],
            rollout_error=[t.error or "" for t in trajectories],
        )

    def scorable(self, t: Trajectory) -> bool:
        """Whether a sample can be scored: the policy spoke, its episode did not fail, the judge
        (when there is one) gave the episode a goal score, and a scenario's rule checks (when it
        has any) were all decided."""
        if t.error or not any(t.env_mask) or not t.policy_texts:
            return False
        if isinstance(t.task, SocialTask):
            if t.episode is None or t.episode.status is EpisodeStatus.failed:
                return False
            if self.evaluator is not None and t.goal_score is None:
                return False
            if t.task.setup.scenario.has_checks and t.rule_score is None:
                return False
        return True

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """One event loop for the rollout's lifetime: partner clients and the store stay bound to it."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop

    def _play(self, keys: list[str], generator: PolicyGenerator, sync: RankSync | None) -> list[Trajectory]:
        # Generation and cross-rank collectives run here, outside the event loop; only partner
        # turns, judging and storage run inside it.
        loop = self.loop
        timings = self.timings = {"generate_s": 0.0, "env_s": 0.0}

        def in_env(coroutine: Any) -> Any:
            begun = time.perf_counter()
            try:
                return loop.run_until_complete(coroutine)
            finally:
                timings["env_s"] += time.perf_counter() - begun

        trajectories = [Trajectory(task=self.tasks[key]) for key in keys]
        social = [t for t in trajectories if isinstance(t.task, SocialTask)]
        started = in_env(_gather(self._start_guarded(t) for t in social))
        live = [entry for entry in started if entry is not None]
        pending = [t for t in trajectories if isinstance(t.task, MCQTask)]
        for t in pending:
            assert isinstance(t.task, MCQTask)
            t.prompt_ids = self.chat.prompt(sip.mcq_messages(t.task.item, sip=True)) + self._prefill_ids
        while True:
            capped = [entry for entry in live if self._over_cap(entry)]
            in_env(_gather(self._guarded(entry, self._close(entry, "token_cap")) for entry in capped))
            batch = [entry for entry in live if entry.trajectory.episode is None]
            prompts = [t.prompt_ids for t in pending]
            prompts += [entry.trajectory.prompt_ids + entry.trajectory.completion_ids for entry in batch]
            # Under several processes every rank sends the same number of prompts each round (the
            # cross-rank maximum, padded with one-token dummies): TRL's vLLM server mode gathers all
            # ranks' prompts and hands each rank back the slice at its rank position.
            width = sync.most(len(prompts)) if sync is not None else len(prompts)
            if width == 0:
                break
            padded = prompts + [[self.chat.tokenizer.eos_token_id or 0]] * (width - len(prompts))
            begun = time.perf_counter()
            ids, logprobs = generator.generate(padded)
            timings["generate_s"] += time.perf_counter() - begun
            if not prompts:
                continue  # a dummy round that keeps this rank in step with the others
            for index, t in enumerate(pending):
                self._finish_mcq(t, ids[index], None if logprobs is None else logprobs[index])
            offset, pending = len(pending), []
            in_env(
                _gather(
                    self._guarded(
                        entry,
                        self._policy_turn(
                            entry, ids[offset + i], None if logprobs is None else logprobs[offset + i]
                        ),
                    )
                    for i, entry in enumerate(batch)
                )
            )
        in_env(_gather(self._guarded(entry, self._close(entry)) for entry in live))
        for t in trajectories:
            # An episode that failed before the policy spoke still needs a well-formed row: it has
            # no reward (unscorable rows get no advantage) and its one token is masked out.
            if not t.prompt_ids:
                t.prompt_ids = self.chat.prompt([{"role": "user", "content": t.error or "episode failed"}])
            if not t.completion_ids:
                t.add([self.chat.tokenizer.eos_token_id or 0], 0)
        return trajectories

    async def _guarded(self, entry: _Live, coroutine: Any) -> None:
        """Run one episode's step; an exception ends that episode as failed, recorded on its row.

        It must not escape: under several processes the other ranks would wait forever in the
        next collective for a rank that left the loop.
        """
        try:
            await coroutine
        except Exception as exc:
            t = entry.trajectory
            t.error = f"{type(exc).__name__}: {exc}"
            episode = entry.view.env.episode
            if episode.status is EpisodeStatus.running:
                entry.view.env.fail(f"rollout error: {t.error}")
            t.episode = episode

    def _over_cap(self, entry: _Live) -> bool:
        """Whether another policy turn could push a live episode past ``max_episode_tokens``."""
        t = entry.trajectory
        if self.max_episode_tokens is None or t.episode is not None:
            return False
        return len(t.prompt_ids) + len(t.completion_ids) + self.turn_tokens > self.max_episode_tokens

    def _finish_mcq(self, t: Trajectory, ids: list[int], logprobs: list[float] | None) -> None:
        t.add(ids, 1, logprobs)
        t.policy_texts.append(self.think_prefill + self.chat.decode(ids))

    async def _start_guarded(self, t: Trajectory) -> _Live | None:
        try:
            return await self._start(t)
        except Exception as exc:  # recorded on the row (unscorable), never escaping to the rank
            t.error = f"{type(exc).__name__}: {exc}"
            return None

    async def _start(self, t: Trajectory) -> _Live | None:
        task = t.task
        assert isinstance(task, SocialTask)
        env = SocialEpisodeEnv(task.setup, max_turns=self.max_turns, **self.env_settings)
        # one partner per other seat: a group episode (3-4 roles) has the policy in one seat of N
        partners = [self.partner_factory(task) for _ in range(task.setup.scenario.num_roles - 1)]
        view = SingleAgentEnv(env, partners, learner_role=task.policy_role, evaluator=self.evaluator)
        policy = SocialR1Agent("local-policy")
        try:
            observation, info = await view.reset(options={"setup": task.setup})
        except Exception as exc:  # a partner failing before the policy's first turn
            t.error = f"{type(exc).__name__}: {exc}"
            t.episode = env.episode if env._episode is not None else None
            return None
        policy.reset(task.setup, view.learner)
        entry = _Live(trajectory=t, view=view, policy=policy, observation=observation)
        t.prompt_ids = self.chat.prompt(policy.messages(observation)) + self._prefill_ids
        if info.get("failed") or view.learner not in env.agents:
            await self._close(entry)
        return entry

    async def _policy_turn(self, entry: _Live, ids: list[int], logprobs: list[float] | None) -> None:
        t = entry.trajectory
        t.add(ids, 1, logprobs)
        entry.ended_with_eos = bool(ids) and ids[-1] in self.chat.eos_ids
        text = self.think_prefill + self.chat.decode(ids)
        t.policy_texts.append(text)
        entry.policy.dialogue.add_reply(text)
        observation = entry.observation
        try:
            interpretation = entry.policy.interpret(text, observation)
            action, error = interpretation.action, None
            reasoning = interpretation.reasoning
        except (UnusableOutputError, ValueError) as exc:
            # The policy's own failure to act is a real outcome of this sample: recorded, not hidden.
            action = AgentAction(action_type=ActionType.none)
            error, reasoning = f"policy output had no usable act: {exc}", None
        turn = Turn(
            index=entry.view.env.turn,
            agent=entry.view.learner,
            action=action,
            raw_text=text,
            reasoning=reasoning,
            completion_tokens=len(ids),
            error=error,
        )
        observation, _, terminated, truncated, _ = await entry.view.step(turn)
        entry.observation = observation
        if terminated or truncated:
            await self._close(entry)
            return
        # The partner's reply goes into the stream now, so the next turn is generated seeing it;
        # its text comes from the same SIPDialogue that builds the evaluated agent's context.
        update = entry.policy.dialogue.add_update(observation)
        t.add(self.chat.feedback(update, entry.ended_with_eos) + self._prefill_ids, 0)

    async def _close(self, entry: _Live, cut: str | None = None) -> None:
        """Finish an episode: record it, its goal score and, with ``cut``, why the rollout ended it early."""
        t = entry.trajectory
        if t.episode is not None:
            return
        episode = entry.view.env.episode
        if cut is not None and episode.status is EpisodeStatus.running:
            await entry.view.truncate(cut)
        t.episode = episode
        episode.metadata.merge(
            EpisodeMetadata(training_step=self.step, task=t.task.key, policy=entry.view.learner)
        )
        if episode.status is EpisodeStatus.failed:
            t.error = episode.error
        dimension = episode.reward_dimension  # the env's reward_dimension ("goal" unless set)
        score = (episode.scores.get(entry.view.learner) or {}).get(dimension)
        t.goal_score = None if score is None else float(score)
        if self.evaluator is not None and t.goal_score is None and not t.error:
            error = episode.evaluation.error if episode.evaluation is not None else None
            t.error = f"judge gave no {dimension} score: {error or f'no {dimension} for the policy in its judgement'}"
        rules = (episode.scores.get(entry.view.learner) or {}).get(RULES_DIMENSION)
        t.rule_score = None if rules is None else float(rules)
        if episode.setup.scenario.has_checks and t.rule_score is None and not t.error:
            checks = episode.evaluation.checks.get(entry.view.learner, []) if episode.evaluation else []
            reasons = "; ".join(r.evidence for r in checks if r.outcome == "undecidable")
            t.error = f"rule checks undecidable: {reasons or 'no checks were run'}"
        if self.on_episode is not None:
            result = self.on_episode(episode)
            if asyncio.iscoroutine(result):
                await result


async def _gather(coroutines: Any) -> list[Any]:
    """``asyncio.gather`` started inside the running loop (futures bind to the loop they start in)."""
    return list(await asyncio.gather(*coroutines))


class RankSync(Protocol):
    """Agreement between processes on each generation round's width."""

    def most(self, count: int) -> int:
        """The largest prompt count of any rank this round (0 ends the rollout everywhere)."""


class _RankSync:
    """Keeps every process's generate calls equal in number and in width."""

    def __init__(self, accelerator: Any) -> None:
        self.accelerator = accelerator

    def most(self, count: int) -> int:
        """The largest prompt count of any rank this round."""
        import torch

        value = torch.tensor([count], device=self.accelerator.device)
        return int(self.accelerator.gather(value).max().item())
