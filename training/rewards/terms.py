"""The reward terms by name: which function scores each, and which row fields it reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agents.sip import SIP
from training.rewards.accuracy import accuracy_reward
from training.rewards.content import content_reward
from training.rewards.length import length_reward
from training.rewards.outcome import goal_reward, rules_reward

TermFn = Callable[..., float | None]
"""A term: ``f(completion: str, **item_fields) -> float | None`` (None: the row is not this term's to score)."""

TERMS: dict[str, TermFn] = {
    "format": SIP.format_reward,
    "structure": SIP.structure_reward,
    "content": content_reward,
    "length": length_reward,
    "accuracy": accuracy_reward,
    "goal": goal_reward,
    "rules": rules_reward,
}
"""Term name -> reward function."""

TERM_NAMES: tuple[str, ...] = tuple(TERMS)
"""Names of the reward terms, as used by the curriculum, the TRL adapter and the logs."""

TERM_FIELDS: dict[str, tuple[str, ...]] = {
    "format": (),
    "structure": (),
    "content": ("context", "question", "goal", "options"),
    "length": (),
    "accuracy": ("options", "answer", "answer_text"),
    "goal": ("goal_score",),
    "rules": ("rule_score",),
}
"""The row fields each term reads: keys of :class:`training.tasks.RewardRow` (a dataset column of
:class:`~training.tasks.TrainingRow` or a field the rollout adds, :class:`~training.tasks.RolloutRow`),
each a named parameter of the term's function (tests/test_training_rows.py checks both). The TRL
adapter refuses a batch that lacks one, so a renamed column fails loudly instead of silently
changing what a term scores."""

PER_TURN: frozenset[str] = frozenset({"format", "structure", "content", "length"})
"""Terms that judge each policy turn of an episode (averaged over its turns); the others judge its end."""


def term(name: str) -> TermFn:
    """The function of the term ``name``; KeyError naming the known terms otherwise."""
    if name not in TERMS:
        raise KeyError(f"unknown reward term {name!r}; known: {', '.join(TERM_NAMES)}")
    return TERMS[name]


def reward_terms(
    completion: str, names: Iterable[str] = TERM_NAMES, **fields: Any
) -> dict[str, float | None]:
    """Every named term for one completion and its item fields."""
    return {name: term(name)(completion, **fields) for name in names}
