"""The curriculum: each reward term's weight as training progresses (applied by ``training.callbacks.CurriculumCallback``).

The reward functions return raw term values; before every step the callback sets TRL's
``reward_weights`` to the curriculum's weights at ``global_step / max_steps``, and TRL sums the
weighted terms (a term that is None for a row, NaN to TRL, is left out of that row's sum).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from training.rewards.terms import TERM_NAMES


class Phase(BaseModel):
    """A named point of the curriculum: the term weights at training progress ``at``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    at: float = Field(ge=0.0, le=1.0)
    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _known_nonnegative(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(TERM_NAMES))
        if unknown:
            raise ValueError(f"unknown reward terms {unknown}; known: {list(TERM_NAMES)}")
        bad = {k: w for k, w in v.items() if not (math.isfinite(w) and w >= 0)}
        if bad:
            raise ValueError(f"weights must be finite and >= 0, got {bad}")
        return v


DEFAULT_SCHEDULE: tuple[dict[str, Any], ...] = (
    {
        "name": "warmup",
        "at": 0.0,
        "weights": {
            "format": 1.0,
            "structure": 1.0,
            "content": 0.25,
            "length": 0.25,
            "accuracy": 0.5,
            "goal": 0.5,
            "rules": 0.5,
        },
    },
    {
        "name": "grounding",
        "at": 0.3,
        "weights": {
            "format": 0.5,
            "structure": 0.75,
            "content": 1.0,
            "length": 0.5,
            "accuracy": 1.0,
            "goal": 1.0,
            "rules": 1.0,
        },
    },
    {
        "name": "outcome",
        "at": 0.7,
        "weights": {
            "format": 0.25,
            "structure": 0.5,
            "content": 0.75,
            "length": 0.5,
            "accuracy": 1.5,
            "goal": 1.5,
            "rules": 1.5,
        },
    },
)
"""The default curriculum: learn the format first, then ground the stages, then win on outcomes."""


class Curriculum(BaseModel):
    """Term weights as a function of training progress in [0, 1].

    Weights are interpolated linearly between consecutive phases, held at the first phase's
    values before it and at the last phase's after it; a term a phase omits weighs 0 there.
    ``schedule`` is a list of phases, or a mapping ``{name: {"at": ..., "weights": {...}}}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: list[Phase] = Field(default_factory=lambda: [Phase(**p) for p in DEFAULT_SCHEDULE])

    @field_validator("schedule", mode="before")
    @classmethod
    def _from_mapping(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            return [{"name": k, **p} if isinstance(p, Mapping) else p for k, p in v.items()]
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Curriculum:
        if not self.schedule:
            raise ValueError("a curriculum needs at least one phase")
        ats = [p.at for p in self.schedule]
        if any(b <= a for a, b in itertools.pairwise(ats)):
            raise ValueError(f"phase positions must strictly increase, got {ats}")
        names = [p.name for p in self.schedule]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        return self

    @classmethod
    def constant(cls, weights: Mapping[str, float]) -> Curriculum:
        """A curriculum with the same weights throughout."""
        return cls(schedule=[Phase(name="constant", at=0.0, weights=dict(weights))])

    def phase(self, progress: float) -> str:
        """Name of the last phase that has started at ``progress``."""
        _check_progress(progress)
        started = [p for p in self.schedule if p.at <= progress]
        return (started[-1] if started else self.schedule[0]).name

    def weights(self, progress: float) -> dict[str, float]:
        """Weight of every term (all of ``TERM_NAMES``) at ``progress`` in [0, 1]."""
        _check_progress(progress)
        phases = self.schedule
        if progress <= phases[0].at:
            return _full(phases[0].weights)
        for a, b in itertools.pairwise(phases):
            if progress <= b.at:
                t = (progress - a.at) / (b.at - a.at)
                wa, wb = _full(a.weights), _full(b.weights)
                return {k: (1 - t) * wa[k] + t * wb[k] for k in TERM_NAMES}
        return _full(phases[-1].weights)


def _full(weights: Mapping[str, float]) -> dict[str, float]:
    return {k: float(weights.get(k, 0.0)) for k in TERM_NAMES}


def _check_progress(progress: float) -> None:
    if not (isinstance(progress, int | float) and math.isfinite(progress) and 0.0 <= progress <= 1.0):
        raise ValueError(f"progress must be in [0, 1], got {progress!r}")
