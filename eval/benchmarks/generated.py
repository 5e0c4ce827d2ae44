"""Procedurally generated theory-of-mind items (:mod:`eval.tom_generator`): no file needed."""

from __future__ import annotations

from eval.benchmarks.errors import BenchmarkError
from eval.items import MCQItem


def load_generated(*, n: int = 100, seed: int = 0) -> list[MCQItem]:
    """``n`` generated items, reproducible from ``seed``."""
    if n < 1:
        raise BenchmarkError(f"generated: n must be at least 1, got {n}")
    try:
        from eval.tom_generator import generate_items
    except ImportError as exc:
        raise BenchmarkError(f"generated: the story generator is unavailable ({exc})") from None
    return list(generate_items(n, seed=seed))
