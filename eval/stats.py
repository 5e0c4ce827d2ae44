"""Means with 95% confidence intervals over judged episodes, per dimension, model and scenario.

Confidence intervals use Student's t (right for the small n of most runs); a percentile bootstrap
is available as an alternative (``method="bootstrap"``), and shares get Wilson intervals. The
distributions and the resampling are ``scipy.stats``'.

Scores are samples per (episode, agent): in an episode between model A and model B, A's scores
count for A and B's for B. Two agents of one episode are not independent samples; the intervals
treat them as if they were, as SOTOPIA's reporting does. Failed judgements are left out of the
means and counted (``failed``): they are never zeros.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from envs.types import DimensionScore, Episode, EpisodeEvaluation, EpisodeStatus

CIMethod = Literal["t", "bootstrap", "wilson"]
K = TypeVar("K", bound=Hashable)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` (a positive integer) degrees of freedom (``scipy.stats.t``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be strictly between 0 and 1, got {p}")
    if int(df) != df or df < 1:
        raise ValueError(f"degrees of freedom must be a positive integer, got {df}")
    from scipy.stats import t  # scipy is slow to import: only intervals need it

    return float(t.ppf(p, int(df)))


class MeanCI(BaseModel):
    """A sample mean with its confidence interval (``None`` where n is too small to say)."""

    n: int
    mean: float | None = None
    std: float | None = Field(None, description="Sample standard deviation (n - 1).")
    low: float | None = None
    high: float | None = None
    confidence: float = 0.95
    method: CIMethod = "t"

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (the ``±`` figure), None without an interval."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2.0

    def format(self, digits: int = 2) -> str:
        """``7.20 ± 0.31 (n=50)``; ``–`` for no data."""
        if self.mean is None:
            return "– (n=0)"
        text = f"{self.mean:.{digits}f}"
        if self.half_width is not None:
            text += f" ± {self.half_width:.{digits}f}"
        return f"{text} (n={self.n})"


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t interval: mean ± t(1-(1-c)/2, n-1) · s/√n. n=1 gives no interval."""
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return MeanCI(n=0, confidence=confidence)
    mean = statistics.fmean(data)
    if n == 1:
        return MeanCI(n=1, mean=mean, confidence=confidence)
    std = statistics.stdev(data)
    half = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1) * std / math.sqrt(n)
    return MeanCI(n=n, mean=mean, std=std, low=mean - half, high=mean + half, confidence=confidence)


def bootstrap_ci(
    values: Iterable[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> MeanCI:
    """Mean and percentile-bootstrap interval (``scipy.stats.bootstrap``; seeded, so the same data
    gives the same interval)."""
    import numpy as np  # only the bootstrap needs numpy and scipy; keeps the store's CLI quick to start
    from scipy.stats import bootstrap

    data = np.asarray([float(v) for v in values], dtype=float)
    n = int(data.size)
    if n == 0:
        return MeanCI(n=0, confidence=confidence, method="bootstrap")
    mean = float(data.mean())
    if n == 1:
        return MeanCI(n=1, mean=mean, confidence=confidence, method="bootstrap")
    low, high = bootstrap(
        (data,),
        np.mean,
        n_resamples=resamples,
        batch=max(1, 2_000_000 // n),  # bound memory for large samples
        vectorized=True,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return MeanCI(
        n=n, mean=mean, std=float(data.std(ddof=1)), low=float(low), high=float(high),
        confidence=confidence, method="bootstrap",
    )  # fmt: skip


def proportion_ci(successes: int, n: int, confidence: float = 0.95) -> MeanCI:
    """A share ``successes / n`` with its Wilson score interval (``scipy.stats.binomtest``); n=0: no estimate."""
    if n == 0:
        return MeanCI(n=0, confidence=confidence, method="wilson")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    from scipy.stats import binomtest  # scipy is slow to import; only intervals on shares need it

    interval = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return MeanCI(
        n=n, mean=successes / n, low=float(interval.low), high=float(interval.high),
        confidence=confidence, method="wilson",
    )  # fmt: skip


def estimate(values: Sequence[float], confidence: float = 0.95, method: CIMethod = "t") -> MeanCI:
    """:func:`mean_ci` or :func:`bootstrap_ci` by name."""
    return bootstrap_ci(values, confidence) if method == "bootstrap" else mean_ci(values, confidence)


# -- reading scores off episodes ---------------------------------------------------------------


def episode_judgement(episode: Episode) -> EpisodeEvaluation | None:
    """The episode's judgement, or None when it was never judged.

    ``Episode.evaluation`` (an evaluation stored in another shape keeps its ``ok``/``error``/
    ``evaluator``, see :class:`~envs.types.Episode`); an ok one without scores takes them from
    ``Episode.scores``; scores without an evaluation count as an ok judgement without reasoning.
    """
    flat = {
        agent: {dim: DimensionScore(score=value) for dim, value in dims.items()}
        for agent, dims in episode.scores.items()
    }
    evaluation = episode.evaluation
    if evaluation is None:
        return EpisodeEvaluation(ok=True, scores=flat) if flat else None
    if evaluation.ok and not evaluation.scores and flat:
        return evaluation.model_copy(update={"scores": flat})
    return evaluation


class ScoreSample(BaseModel):
    """One judged score of one agent in one episode."""

    episode_id: str
    setup_id: str
    scenario_id: str
    agent: str
    model: str = Field(description="The agent's model/agent spec ('?' when unrecorded).")
    partner: str = Field(description="The other agents' specs, '+'-joined.")
    dimension: str
    score: float


def _models(episode: Episode) -> dict[str, tuple[str, str]]:
    """Agent name -> (its model, its partners' models) for every agent of the episode."""
    names = list(dict.fromkeys([*episode.setup.agent_names, *episode.agent_models]))
    specs = {name: episode.agent_models.get(name, "?") for name in names}
    return {
        name: (spec, "+".join(specs[other] for other in names if other != name) or "-")
        for name, spec in specs.items()
    }


def score_samples(episodes: Iterable[Episode]) -> list[ScoreSample]:
    """Every score of finished episodes' ok judgements, one sample per (episode, agent, dimension)."""
    samples: list[ScoreSample] = []
    for episode in episodes:
        if episode.status is not EpisodeStatus.finished:
            continue
        judgement = episode_judgement(episode)
        if judgement is None or not judgement.ok:
            continue
        models = _models(episode)
        for agent, dimensions in judgement.scores.items():
            model, partner = models.get(agent, (episode.agent_models.get(agent, "?"), "-"))
            samples.extend(
                ScoreSample(
                    episode_id=episode.id,
                    setup_id=episode.setup.id,
                    scenario_id=episode.setup.scenario.id,
                    agent=agent,
                    model=model,
                    partner=partner,
                    dimension=dimension,
                    score=entry.score,
                )
                for dimension, entry in dimensions.items()
            )
    return samples


class FailureCounts(BaseModel):
    """What went wrong in a set of episodes."""

    episodes: int = 0
    finished: int = 0
    failed: int = Field(0, description="Episodes that ended with an error.")
    running: int = Field(0, description="Episodes stored while running (interrupted).")
    judged_ok: int = 0
    judgement_failed: int = 0
    unjudged: int = Field(0, description="Finished episodes with no judgement.")


def failure_counts(episodes: Iterable[Episode]) -> FailureCounts:
    """Count episodes by status and judgements by outcome (judgements only of finished episodes)."""
    counts = FailureCounts()
    for episode in episodes:
        counts.episodes += 1
        if episode.status is EpisodeStatus.failed:
            counts.failed += 1
            continue
        if episode.status is EpisodeStatus.running:
            counts.running += 1
            continue
        counts.finished += 1
        judgement = episode_judgement(episode)
        if judgement is None:
            counts.unjudged += 1
        elif judgement.ok:
            counts.judged_ok += 1
        else:
            counts.judgement_failed += 1
    return counts


class DimensionSummary(BaseModel):
    """One dimension's mean and interval over a set of episodes."""

    dimension: str
    stats: MeanCI
    failed: int = Field(0, description="Agent samples left out because the judgement failed.")


def summarize_dimensions(
    episodes: Iterable[Episode],
    *,
    model: str | None = None,
    confidence: float = 0.95,
    method: CIMethod = "t",
    dimensions: Sequence[str] | None = None,
) -> list[DimensionSummary]:
    """Per-dimension mean ± CI over finished episodes' ok judgements (only ``model``'s agents if given).

    Dimensions come in ``dimensions`` order, then any others seen in first-seen order.
    """
    finished = [e for e in episodes if e.status is EpisodeStatus.finished]
    failed = 0
    for episode in finished:
        judgement = episode_judgement(episode)
        if judgement is not None and not judgement.ok:
            failed += sum(1 for spec, _ in _models(episode).values() if model is None or spec == model)
    values: dict[str, list[float]] = {name: [] for name in dimensions or ()}
    for sample in score_samples(finished):
        if model is None or sample.model == model:
            values.setdefault(sample.dimension, []).append(sample.score)
    return [
        DimensionSummary(dimension=name, stats=estimate(scores, confidence, method), failed=failed)
        for name, scores in values.items()
    ]


def group_means(
    samples: Iterable[ScoreSample],
    key: Callable[[ScoreSample], K],
    *,
    dimension: str = "goal",
    confidence: float = 0.95,
    method: CIMethod = "t",
) -> dict[K, MeanCI]:
    """Mean ± CI of one dimension per group (e.g. ``key=lambda s: (s.model, s.partner)``)."""
    groups: dict[K, list[float]] = defaultdict(list)
    for sample in samples:
        if sample.dimension == dimension:
            groups[key(sample)].append(sample.score)
    return {group: estimate(scores, confidence, method) for group, scores in groups.items()}
