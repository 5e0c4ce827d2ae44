"""How far a run's judge scores can be trusted: repeat spread, jury agreement, order effect, rule agreement.

Read off stored episodes (finished ones with an ok evaluation); an evaluation without a
``judgements`` list counts as one judgement by its evaluator, so old runs load too.

- **Repeat spread** per (judge, dimension): the mean over units (episode x agent x order) of the
  sample standard deviation of one judge's repeated scores; with Krippendorff's alpha over the
  repeats as raters (self-agreement).
- **Jury agreement** per dimension: Krippendorff's alpha (interval) with judges as raters and
  (episode, agent) as units, each judge's value its mean over repeats and orders; with the jury mean.
- **Order effect** per (judge, dimension): the mean of (given order - swapped order) per unit, with a
  95% interval.
- **Rules vs judge**: per agent with both a ``rules`` score (all checks decided) and a judge goal
  score: Pearson's r, the mean goal when every check passed and when one failed, and the AUC of the
  goal score for telling the two apart (Mann-Whitney U / n1 n0: 0.5 is chance, 1 perfect).

Alpha is None where it is undefined: fewer than two raters or units with two values, or no
variation at all in the values.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from envs.types import RULES_DIMENSION, Episode, EpisodeStatus, Judgement
from eval.stats import MeanCI, episode_judgement, mean_ci


def krippendorff_alpha(ratings: Sequence[Sequence[float | None]], level: str = "interval") -> float | None:
    """Krippendorff's alpha of a raters x units table (None = missing), via the ``krippendorff`` package.

    None where alpha is undefined (fewer than two raters, no unit rated twice, no variation).
    """
    import krippendorff
    import numpy as np

    table = np.array([[np.nan if v is None else float(v) for v in row] for row in ratings], dtype=float)
    if table.ndim != 2 or table.shape[0] < 2:
        return None
    pairable = np.sum(~np.isnan(table), axis=0) >= 2
    if not pairable.any():
        return None
    values = table[:, pairable]
    values = values[~np.isnan(values)]
    if np.unique(values).size < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        alpha = float(krippendorff.alpha(reliability_data=table, level_of_measurement=level))
    return alpha if math.isfinite(alpha) else None


class Rating(BaseModel):
    """One score of one judgement: who judged which agent of which episode, in which repeat and order."""

    episode_id: str
    agent: str
    judge: str
    repeat: int
    order: str
    dimension: str
    score: float


def ratings(episodes: Iterable[Episode]) -> list[Rating]:
    """Every valid judgement's scores (rule scores excluded) of finished episodes."""
    found: list[Rating] = []
    for episode in episodes:
        if episode.status is not EpisodeStatus.finished:
            continue
        evaluation = episode_judgement(episode)
        if evaluation is None:
            continue
        judgements = evaluation.judgements or (
            [Judgement(judge=evaluation.evaluator or "judge", ok=evaluation.ok, scores=evaluation.scores)]
            if evaluation.ok
            else []
        )
        for judgement in judgements:
            if not judgement.ok:
                continue
            for agent, dims in judgement.scores.items():
                found.extend(
                    Rating(
                        episode_id=episode.id,
                        agent=agent,
                        judge=judgement.judge,
                        repeat=judgement.repeat,
                        order=judgement.order,
                        dimension=dim,
                        score=entry.score,
                    )
                    for dim, entry in dims.items()
                    if dim != RULES_DIMENSION
                )
    return found


class RepeatSpread(BaseModel):
    """One judge's self-consistency on one dimension over repeats."""

    judge: str
    dimension: str
    units: int = Field(description="(episode, agent, order) units judged at least twice.")
    mean_sd: float | None = Field(
        None, description="Mean over units of the repeats' sample standard deviation."
    )
    alpha: float | None = Field(None, description="Krippendorff's alpha with repeats as raters.")


class JuryAgreement(BaseModel):
    """Agreement of the judges on one dimension."""

    dimension: str
    judges: int
    units: int = Field(description="(episode, agent) units scored by at least two judges.")
    alpha: float | None = None
    mean: MeanCI = Field(description="The jury's mean score (mean over judges), over units.")


class OrderEffect(BaseModel):
    """How much presenting the agents in swapped order moves one judge's scores on one dimension."""

    judge: str
    dimension: str
    difference: MeanCI = Field(description="Given-order score minus swapped-order score, per unit.")


class RuleAgreement(BaseModel):
    """Rule checks against the judge's goal score, per agent with both."""

    n: int
    pearson_r: float | None = None
    goal_when_all_passed: MeanCI
    goal_when_some_failed: MeanCI
    auc: float | None = Field(
        None, description="P(goal of an all-pass agent > goal of another); ties count half."
    )


class Reliability(BaseModel):
    """Every statistic of this module for one set of episodes."""

    judges: list[str] = Field(default_factory=list)
    repeats: list[RepeatSpread] = Field(default_factory=list)
    jury: list[JuryAgreement] = Field(default_factory=list)
    order: list[OrderEffect] = Field(default_factory=list)
    rules: RuleAgreement | None = None
    judgements: int = 0
    cached: int = Field(0, description="Judgements answered from the judge cache.")

    @property
    def empty(self) -> bool:
        """True when there is nothing beyond a single judgement per episode to report."""
        return not (self.repeats or self.jury or self.order or self.rules)


def repeat_spread(found: Sequence[Rating]) -> list[RepeatSpread]:
    """Per (judge, dimension) with repeated judgements: mean standard deviation and alpha over repeats."""
    groups: dict[tuple[str, str], dict[tuple[str, str, str], dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in found:
        groups[r.judge, r.dimension][r.episode_id, r.agent, r.order][r.repeat] = r.score
    result = []
    for (judge, dimension), units in groups.items():
        repeated = {u: v for u, v in units.items() if len(v) >= 2}
        if not repeated:
            continue
        repeats = sorted({k for v in repeated.values() for k in v})
        table = [[v.get(k) for v in repeated.values()] for k in repeats]
        result.append(
            RepeatSpread(
                judge=judge,
                dimension=dimension,
                units=len(repeated),
                mean_sd=statistics.fmean(statistics.stdev(v.values()) for v in repeated.values()),
                alpha=krippendorff_alpha(table),
            )
        )
    return result


def _judge_means(found: Sequence[Rating]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """dimension -> (episode, agent) -> judge -> mean over repeats and orders."""
    values: dict[str, dict[tuple[str, str], dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for r in found:
        values[r.dimension][r.episode_id, r.agent][r.judge].append(r.score)
    return {
        dim: {
            unit: {judge: statistics.fmean(v) for judge, v in judges.items()}
            for unit, judges in units.items()
        }
        for dim, units in values.items()
    }


def jury_agreement(found: Sequence[Rating]) -> list[JuryAgreement]:
    """Per dimension, when at least two judges scored: alpha over judges and the jury mean."""
    judges = sorted({r.judge for r in found})
    if len(judges) < 2:
        return []
    result = []
    for dimension, units in _judge_means(found).items():
        table = [[units[u].get(judge) for u in units] for judge in judges]
        shared = sum(1 for u in units if len(units[u]) >= 2)
        result.append(
            JuryAgreement(
                dimension=dimension,
                judges=len(judges),
                units=shared,
                alpha=krippendorff_alpha(table),
                mean=mean_ci(statistics.fmean(scores.values()) for scores in units.values()),
            )
        )
    return result


def order_effect(found: Sequence[Rating]) -> list[OrderEffect]:
    """Per (judge, dimension) judged in both orders: given minus swapped, per (episode, agent, repeat)."""
    pairs: dict[tuple[str, str], dict[tuple[str, str, int], dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in found:
        pairs[r.judge, r.dimension][r.episode_id, r.agent, r.repeat][r.order] = r.score
    result = []
    for (judge, dimension), units in pairs.items():
        diffs = [v["given"] - v["swapped"] for v in units.values() if {"given", "swapped"} <= set(v)]
        if diffs:
            result.append(OrderEffect(judge=judge, dimension=dimension, difference=mean_ci(diffs)))
    return result


def rule_agreement(episodes: Iterable[Episode]) -> RuleAgreement | None:
    """Rule scores against the judge's goal score (the aggregate), over agents with both; None without any."""
    pairs: list[tuple[float, float]] = []
    for episode in episodes:
        if episode.status is not EpisodeStatus.finished:
            continue
        evaluation = episode_judgement(episode)
        if evaluation is None or not evaluation.ok:
            continue
        for agent in evaluation.checks:
            rules, goal = evaluation.rule_score(agent), evaluation.scores.get(agent, {}).get("goal")
            if rules is not None and goal is not None:
                pairs.append((rules, goal.score))
    if not pairs:
        return None
    passed = [g for r, g in pairs if r == 1.0]
    failed = [g for r, g in pairs if r < 1.0]
    r_value = None
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(pairs) >= 3 and len(set(xs)) > 1 and len(set(ys)) > 1:
        from scipy import stats

        r_value = float(stats.pearsonr(xs, ys).statistic)
    auc = None
    if passed and failed:
        from scipy import stats

        auc = float(stats.mannwhitneyu(passed, failed, alternative="two-sided").statistic) / (
            len(passed) * len(failed)
        )
    return RuleAgreement(
        n=len(pairs),
        pearson_r=r_value,
        goal_when_all_passed=mean_ci(passed),
        goal_when_some_failed=mean_ci(failed),
        auc=auc,
    )


def reliability(episodes: Sequence[Episode]) -> Reliability:
    """Every statistic above for ``episodes``."""
    found = ratings(episodes)
    judgements = [
        j
        for e in episodes
        if e.status is EpisodeStatus.finished and (ev := episode_judgement(e)) is not None
        for j in ev.judgements
    ]
    return Reliability(
        judges=sorted({r.judge for r in found}),
        repeats=repeat_spread(found),
        jury=jury_agreement(found),
        order=order_effect(found),
        rules=rule_agreement(episodes),
        judgements=len(judgements),
        cached=sum(j.cached for j in judgements),
    )


class CheckCounts(BaseModel):
    """Rule-check outcomes of one kind."""

    kind: str
    passed: int = 0
    failed: int = 0
    undecidable: int = 0


def check_counts(
    episodes: Iterable[Episode], agents: Iterable[tuple[str, str]] | None = None
) -> list[CheckCounts]:
    """Outcomes per check kind over finished episodes (only the (episode id, agent) pairs given, if any)."""
    keep = set(agents) if agents is not None else None
    counts: dict[str, CheckCounts] = {}
    for episode in episodes:
        if episode.status is not EpisodeStatus.finished:
            continue
        evaluation = episode_judgement(episode)
        if evaluation is None:
            continue
        for agent, results in evaluation.checks.items():
            if keep is not None and (episode.id, agent) not in keep:
                continue
            for result in results:
                row = counts.setdefault(result.kind, CheckCounts(kind=result.kind))
                field = {"pass": "passed", "fail": "failed", "undecidable": "undecidable"}[result.outcome]
                setattr(row, field, getattr(row, field) + 1)
    return sorted(counts.values(), key=lambda c: c.kind)
