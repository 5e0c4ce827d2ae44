"""Scoring as the benchmarks define it, as pure functions of predictions (no model needed).

* A prediction is an original option index (MCQ), a normalised answer text (free-text items),
  or None when the output could not be read.
* Several runs of one item are combined by :func:`majority_vote`; an unreadable run is a vote
  for "no answer", so an item whose plurality is unreadable counts as wrong and unparseable
  (ToMBench itself falls back to "A" there; we report it instead of guessing). Ties go to the
  candidate that appeared first.
* Items sharing a ``group`` form one unit that is correct only when all of them are (EmoBench EU:
  emotion and cause). Accuracy is over units.
* ``aggregate="mean"`` (MotiveBench) scores every run on its own instead of voting: a unit's score
  is the share of runs in which it was right, and accuracy is the mean score, i.e. the mean over
  runs of each run's accuracy.
* A unit with a failed model call (after retries) is counted in ``errors`` and left out of the
  accuracy: no answer is invented for it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from eval.answers import free_text_correct
from eval.items import MCQItem

Prediction = int | str | None
Aggregate = Literal["vote", "mean"]
"""How runs of one item combine: majority ``vote`` (ToMBench), or the ``mean`` of per-run scores (MotiveBench)."""
MAX_GROUP_VALUES = 50
"""A tag with more distinct values than this (ids, sample numbers) is not reported as a group."""


def majority_vote(predictions: Sequence[Hashable | None]) -> Hashable | None:
    """The most frequent prediction (None included as a candidate); ties go to the earliest."""
    if not predictions:
        return None
    counts = Counter(predictions)
    best = max(counts.values())
    return next(p for p in predictions if counts[p] == best)


def is_correct(item: MCQItem, prediction: Prediction) -> bool:
    """Whether ``prediction`` is the gold answer of ``item``."""
    if prediction is None:
        return False
    if item.options:
        return prediction == item.answer
    return isinstance(prediction, str) and free_text_correct(prediction, item.answer_text)


class ItemScore(BaseModel):
    """One item's verdict after voting over its runs."""

    id: str
    vote: Prediction = None
    correct: bool = False
    unparseable: bool = False
    error: bool = False
    run_correct: list[bool] = Field(default_factory=list, description="each run scored on its own")
    unreadable_runs: int = 0


class Summary(BaseModel):
    """Benchmark results: counts are over units (an item, or a group of items scored together)."""

    accuracy: float | None = Field(
        description="mean unit score over scored units (vote: correct / scored); None when nothing was scored"
    )
    n: int = Field(description="units asked")
    scored: int = Field(description="units without a failed call")
    correct: int = Field(description="scored units right (vote), or right in every run (mean)")
    unparseable: int = Field(
        description="scored units with an unreadable answer (vote: the vote; mean: any run), counted wrong"
    )
    errors: int = Field(description="units with a model call that failed for good (not scored)")
    format_ok_rate: float | None = Field(None, description="share of model outputs in the required format")
    groups: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    group_counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    items: int = Field(description="items asked (differs from n when items are grouped)")
    item_accuracy: float | None = None
    aggregate: Aggregate = "vote"
    unit_scores: list[float] = Field(
        default_factory=list, description="each scored unit's score (0/1 under vote), for intervals"
    )


def score_item(item: MCQItem, predictions: Sequence[Prediction], *, errors: int = 0) -> ItemScore:
    """Vote over an item's runs (each run is also scored on its own); a failed call makes it an error."""
    if errors:
        return ItemScore(id=item.id, error=True)
    vote = majority_vote(predictions)
    return ItemScore(
        id=item.id,
        vote=vote,
        correct=is_correct(item, vote),
        unparseable=vote is None,  # type: ignore[arg-type]
        run_correct=[is_correct(item, p) for p in predictions],
        unreadable_runs=sum(p is None for p in predictions),
    )


def _unit_score(scores: Sequence[ItemScore], aggregate: Aggregate) -> tuple[float, bool]:
    """A unit's score and whether it had an unreadable answer (see the module docstring)."""
    if aggregate == "vote":
        return float(all(s.correct for s in scores)), any(s.unparseable for s in scores)
    runs = min(len(s.run_correct) for s in scores)
    if runs == 0:
        return 0.0, True
    right = sum(all(s.run_correct[r] for s in scores) for r in range(runs))
    return right / runs, any(s.unreadable_runs for s in scores)


def _unit_tags(items: Sequence[MCQItem]) -> dict[str, str]:
    first = items[0].tags
    return {k: v for k, v in first.items() if all(it.tags.get(k) == v for it in items[1:])}


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def score_predictions(
    items: Sequence[MCQItem],
    predictions: Mapping[str, Sequence[Prediction]],
    *,
    errors: Mapping[str, int] | None = None,
    format_ok: Sequence[bool] = (),
    aggregate: Aggregate = "vote",
) -> tuple[Summary, list[ItemScore]]:
    """Score every item from its runs' predictions (by item id) and summarise over units.

    ``errors`` counts failed calls per item id; ``format_ok`` holds one flag per model output;
    ``aggregate`` combines runs by majority vote or by the mean of per-run scores.
    """
    if aggregate not in ("vote", "mean"):
        raise ValueError(f"aggregate must be 'vote' or 'mean', got {aggregate!r}")
    errors = errors or {}
    scores = [score_item(it, predictions.get(it.id, ()), errors=errors.get(it.id, 0)) for it in items]
    units: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        units[it.group or f"\x00{it.id}"].append(i)
    n_scored = n_correct = n_unparseable = n_errors = 0
    values: list[float] = []
    by_tag: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for members in units.values():
        unit_scores = [scores[i] for i in members]
        if any(s.error for s in unit_scores):
            n_errors += 1
            continue
        score, unreadable = _unit_score(unit_scores, aggregate)
        values.append(score)
        n_scored += 1
        n_correct += score == 1.0
        n_unparseable += unreadable
        for key, value in _unit_tags([items[i] for i in members]).items():
            tally = by_tag[key][value]
            tally[0] += score
            tally[1] += 1
    groups = {
        k: {v: t[0] / t[1] for v, t in sorted(vals.items())}
        for k, vals in by_tag.items()
        if len(vals) <= MAX_GROUP_VALUES
    }
    counts = {
        k: {v: int(t[1]) for v, t in sorted(vals.items())}
        for k, vals in by_tag.items()
        if len(vals) <= MAX_GROUP_VALUES
    }
    item_scored = [s for s in scores if not s.error]
    summary = Summary(
        accuracy=sum(values) / n_scored if n_scored else None,
        n=len(units),
        scored=n_scored,
        correct=n_correct,
        unparseable=n_unparseable,
        errors=n_errors,
        format_ok_rate=_rate(sum(format_ok), len(format_ok)),
        groups=groups,
        group_counts=counts,
        items=len(items),
        item_accuracy=(
            sum(_unit_score([s], aggregate)[0] for s in item_scored) / len(item_scored)
            if item_scored
            else None
        ),
        aggregate=aggregate,
        unit_scores=values,
    )
    return summary, scores
