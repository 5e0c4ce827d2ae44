"""Training tasks: what one GRPO dataset row stands for (a social episode setup or an MCQ item).

TRL hands ``rollout_func`` only the ``prompt`` column, so each row's prompt is a stable task key
(``social:<n>`` / ``mcq:<item id>``) and the rollout looks the task up here. The other columns
reach the reward functions under exactly the names the terms take (:class:`TrainingRow`), and
the rollout adds its own per-sample fields (:class:`RolloutRow`, returned to TRL as the columns of
:class:`training.rollout.RolloutFields`). What a reward term sees for one sample is the two
together, :class:`RewardRow`; every field a term reads (``training.rewards.terms.TERM_FIELDS``) is
one of its keys.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from eval.items import MCQItem
from scenarios.schema import EpisodeSetup


@dataclass(frozen=True)
class SocialTask:
    """One social episode to play: a setup and which role the policy plays."""

    key: str
    setup: EpisodeSetup
    policy_role: int = 0


@dataclass(frozen=True)
class MCQTask:
    """One multiple-choice question, a one-turn episode."""

    key: str
    item: MCQItem


Task = SocialTask | MCQTask


class TrainingRow(TypedDict):
    """One GRPO dataset row. Field names are the keyword arguments of the reward terms."""

    prompt: str
    """The task key (TRL passes only this column to the rollout)."""
    kind: Literal["mcq", "social"]
    context: str
    """MCQ: the story. Social: the setting."""
    question: str
    """MCQ: the question. Social: empty."""
    goal: str
    """Social: the policy role's goal as that role sees it. MCQ: empty."""
    options: list[str]
    """MCQ options in the order the prompt letters them; empty for free-text items and episodes."""
    answer: int
    """Index of the gold option; -1 when there is none (free text, episodes)."""
    answer_text: str
    """Gold answer as text (free-text items; the gold option's text for lettered items)."""


class RolloutRow(TypedDict):
    """What the rollout adds to one sample's dataset row (one entry of each per-row column of
    :class:`training.rollout.RolloutFields`)."""

    policy_texts: list[str]
    """Each policy turn's text as the env and the rewards read it (think prefill included)."""
    goal_score: float | None
    """The judge's goal score (0..10) of the policy's side; None for MCQ rows or without a judge."""
    rule_score: float | None
    """Share of the policy role's rule checks passed (0..1, scenarios.checks); None for MCQ rows,
    scenarios without checks, or when a check is undecidable."""
    scorable: bool
    """False when the episode failed or the policy never spoke: every reward term gives None."""
    episode_status: str
    """The episode's :class:`envs.types.EpisodeStatus` value (MCQ rows: finished, or failed on error)."""
    rollout_error: str
    """Why the sample failed; empty when it did not."""


class RewardRow(TrainingRow, RolloutRow):
    """What the reward terms see for one sample: its dataset row and what the rollout added."""


def row_features() -> Any:
    """The ``datasets.Features`` of a :class:`TrainingRow` (explicit, so an all-empty column keeps its type)."""
    from datasets import Features, Sequence, Value

    return Features(
        {
            "prompt": Value("string"),
            "kind": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "goal": Value("string"),
            "options": Sequence(Value("string")),
            "answer": Value("int64"),
            "answer_text": Value("string"),
        }
    )


class TaskRegistry:
    """Task key -> task, and the rows of the GRPO dataset that point at them."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, key: str) -> Task:
        try:
            return self._tasks[key]
        except KeyError:
            raise KeyError(f"unknown training task {key!r}: the dataset and the rollout disagree") from None

    def add_social(self, setups: Sequence[EpisodeSetup], roles: Sequence[int] = (0,)) -> list[str]:
        """Register episodes (each setup once per policy role); return their keys."""
        keys = []
        for setup in setups:
            for role in roles:
                if role >= setup.scenario.num_roles:
                    continue
                key = f"social:{len(self._tasks)}"
                self._tasks[key] = SocialTask(key=key, setup=setup, policy_role=role)
                keys.append(key)
        return keys

    def add_mcq(self, items: Iterable[MCQItem]) -> list[str]:
        """Register MCQ items; return their keys."""
        keys = []
        for item in items:
            key = f"mcq:{item.benchmark}:{item.id}"
            self._tasks[key] = MCQTask(key=key, item=item)
            keys.append(key)
        return keys

    def row(self, key: str) -> TrainingRow:
        """The dataset row for one task (uniform columns for both kinds)."""
        task = self[key]
        if isinstance(task, MCQTask):
            item = task.item
            return TrainingRow(
                prompt=key,
                kind="mcq",
                context=item.context,
                question=item.question,
                goal="",
                options=list(item.options),
                answer=-1 if item.answer is None else item.answer,
                answer_text=item.answer_text,
            )
        setup = task.setup
        return TrainingRow(
            prompt=key,
            kind="social",
            context=setup.scenario.setting,
            question="",
            goal=setup.scenario.goals[task.policy_role].for_agent(),
            options=[],
            answer=-1,
            answer_text="",
        )

    def dataset(self, keys: Sequence[str]) -> Any:
        """A ``datasets.Dataset`` of the rows for ``keys`` (typed columns)."""
        from datasets import Dataset

        return Dataset.from_list([dict(self.row(k)) for k in keys], features=row_features())


def mixed_keys(social: Sequence[str], mcq: Sequence[str], n: int, mcq_fraction: float, seed: int) -> list[str]:
    """``n`` task keys drawn with the given MCQ share (seeded); cycles through each pool in order."""
    if not social and not mcq:
        raise ValueError("no training tasks: give --env and/or --mcq")
    rng = random.Random(seed)
    social_pool, mcq_pool = list(social), list(mcq)
    rng.shuffle(social_pool)
    rng.shuffle(mcq_pool)
    keys, si, mi = [], 0, 0
    for _ in range(n):
        use_mcq = bool(mcq_pool) and (not social_pool or rng.random() < mcq_fraction)
        if use_mcq:
            keys.append(mcq_pool[mi % len(mcq_pool)])
            mi += 1
        else:
            keys.append(social_pool[si % len(social_pool)])
            si += 1
    return keys
