"""The ``goal`` and ``rules`` terms: scores the finished episode already carries, scaled to [0, 1]."""

from __future__ import annotations

import math
from typing import Any


def goal_reward(completion: str | None = None, goal_score: float | None = None, **_: Any) -> float | None:
    """The episode judge's goal score (0..10) scaled to [0, 1]: goal_score / 10; None without one.

    Rows that are not episodes (MCQ items) carry no ``goal_score`` and get None, which TRL skips
    (NaN in its weighted sum). A score outside 0..10 raises ValueError.
    """
    if goal_score is None or (isinstance(goal_score, float) and math.isnan(goal_score)):
        return None
    score = float(goal_score)
    if not 0.0 <= score <= 10.0:
        raise ValueError(f"goal score {goal_score} outside 0..10")
    return score / 10.0


def rules_reward(completion: str | None = None, rule_score: float | None = None, **_: Any) -> float | None:
    """The share of the policy role's rule checks passed (``scenarios.checks``), in [0, 1]; None without one.

    Rows without rule-checked goals (MCQ items, scenarios without checks) and rows whose checks
    were not all decided carry no ``rule_score`` and get None. A score outside 0..1 raises ValueError.
    """
    if rule_score is None or (isinstance(rule_score, float) and math.isnan(rule_score)):
        return None
    score = float(rule_score)
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"rule score {rule_score} outside 0..1")
    return score
