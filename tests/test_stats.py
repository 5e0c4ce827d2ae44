"""Confidence intervals and per-dimension summaries, checked against known values."""

from __future__ import annotations

import math

import pytest
from test_store import make_episode

from envs.types import EpisodeStatus
from eval.stats import (
    FailureCounts,
    MeanCI,
    bootstrap_ci,
    episode_judgement,
    failure_counts,
    group_means,
    mean_ci,
    score_samples,
    summarize_dimensions,
    t_quantile,
)

# Student t quantiles from standard tables (10 significant digits).
T_TABLE = [
    (0.975, 1, 12.706204736),
    (0.975, 2, 4.302652730),
    (0.975, 3, 3.182446305),
    (0.975, 4, 2.776445105),
    (0.975, 9, 2.262157163),
    (0.975, 10, 2.228138852),
    (0.975, 30, 2.042272456),
    (0.975, 100, 1.983971519),
    (0.975, 1000, 1.962339081),
    (0.995, 7, 3.499483297),
    (0.95, 12, 1.782287556),
    (0.9, 5, 1.475884049),
]


@pytest.mark.parametrize(("p", "df", "expected"), T_TABLE)
def test_t_quantile_matches_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=2e-9)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=2e-9)


def test_t_quantile_large_df_approaches_the_normal_smoothly() -> None:
    # Either side of the switch to the Cornish-Fisher expansion the values agree and decrease to z.
    assert t_quantile(0.975, 1000) > t_quantile(0.975, 1001) > t_quantile(0.975, 10**6) > 1.959963984
    assert t_quantile(0.975, 1001) == pytest.approx(t_quantile(0.975, 1000), abs=3e-6)
    # First-order term of the expansion: t ≈ z + (z³ + z) / (4 df), z = 1.959963985
    assert t_quantile(0.975, 10**7) == pytest.approx(1.959963985 + 2.3722e-7, abs=1e-9)
    assert t_quantile(0.5, 4) == 0.0


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.9, 0), (0.9, 2.5)])
def test_t_quantile_rejects_bad_arguments(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, df)  # type: ignore[arg-type]


def test_mean_ci_known_values() -> None:
    ci = mean_ci([1, 2, 3, 4, 5])
    # mean 3, s = sqrt(2.5), half width = t(0.975, 4) * s / sqrt(5)
    half = 2.776445105 * math.sqrt(2.5) / math.sqrt(5)
    assert (ci.n, ci.mean, ci.std) == (5, 3.0, pytest.approx(math.sqrt(2.5)))
    assert ci.low == pytest.approx(3 - half, abs=1e-8)
    assert ci.high == pytest.approx(3 + half, abs=1e-8)
    assert ci.half_width == pytest.approx(1.963243161, abs=1e-8)
    assert ci.format() == "3.00 ± 1.96 (n=5)"


def test_mean_ci_other_confidence_level() -> None:
    ci = mean_ci([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], confidence=0.99)
    s = math.sqrt(32 / 7)
    assert ci.mean == 5.0
    assert ci.half_width == pytest.approx(3.499483297 * s / math.sqrt(8), abs=1e-8)


def test_mean_ci_small_samples() -> None:
    assert mean_ci([]) == MeanCI(n=0)
    assert mean_ci([]).format() == "– (n=0)"
    one = mean_ci([4.0])
    assert (one.mean, one.low, one.high, one.half_width) == (4.0, None, None, None)
    assert one.format() == "4.00 (n=1)"
    flat = mean_ci([6, 6, 6])
    assert (flat.low, flat.high) == (6.0, 6.0)


def test_bootstrap_is_seeded_and_close_to_t_on_a_large_sample() -> None:
    values = [(i * 37) % 11 for i in range(400)]  # a spread of 0..10
    first = bootstrap_ci(values, seed=1)
    assert first == bootstrap_ci(values, seed=1)
    assert first.method == "bootstrap"
    t = mean_ci(values)
    assert first.mean == pytest.approx(t.mean)
    assert first.low < first.mean < first.high
    assert first.half_width == pytest.approx(t.half_width, rel=0.1)
    assert bootstrap_ci([]).n == 0
    assert bootstrap_ci([3.0]).low is None


def test_episode_judgement_readings() -> None:
    ok = episode_judgement(make_episode("a"))
    assert ok is not None and ok.ok and ok.score("Alice Example") == 7
    failed = episode_judgement(make_episode("b", judged=False))
    assert failed is not None and not failed.ok and failed.error == "judge returned invalid JSON"
    assert episode_judgement(make_episode("c", judged=None)) is None
    flat_only = make_episode("d").model_copy(update={"evaluation": None})
    from_scores = episode_judgement(flat_only)
    assert from_scores is not None and from_scores.ok and from_scores.score("Bob Example") == 5
    foreign = make_episode("e")
    foreign.evaluation = {"ok": False, "error": "quota", "weird": 1}  # validated on assignment
    other = episode_judgement(foreign)
    assert other is not None and not other.ok and other.error == "quota"


def _episodes() -> list:
    return [
        make_episode("e1", goals=(8, 2)),
        make_episode("e2", goals=(6, 4)),
        make_episode("e3", goals=(7, 3), scenario_id="other"),
        make_episode("e4", judged=False),
        make_episode("e5", judged=None),
        make_episode("e6", status=EpisodeStatus.failed, judged=None),
        make_episode("e7", status=EpisodeStatus.running, judged=None),
        # A failed episode that somehow carries scores must still be left out of the means.
        make_episode("e8", goals=(0, 0), status=EpisodeStatus.failed),
    ]


def test_summarize_dimensions_ignores_and_counts_failed_judgements() -> None:
    summary = summarize_dimensions(_episodes())
    assert [d.dimension for d in summary] == [
        "believability", "relationship", "knowledge", "secret", "social_rules",
        "financial_and_material_benefits", "goal",
    ]  # fmt: skip
    goal = summary[-1]
    assert goal.stats == mean_ci([8, 2, 6, 4, 7, 3])
    assert goal.failed == 2  # both agents of e4
    assert summary[0].stats.mean == 8.0 and summary[0].stats.half_width == 0.0


def test_summarize_dimensions_per_model_and_order() -> None:
    by_model = {
        d.dimension: d
        for d in summarize_dimensions(_episodes(), model="model-a", dimensions=["goal", "secret"])
    }
    assert list(by_model)[:2] == ["goal", "secret"]
    assert by_model["goal"].stats == mean_ci([8, 6, 7])
    assert by_model["goal"].failed == 1
    assert summarize_dimensions([], dimensions=["goal"])[0].stats.n == 0


def test_score_samples_and_group_means() -> None:
    samples = score_samples(_episodes())
    assert len(samples) == 3 * 2 * 7
    alice = next(s for s in samples if s.agent == "Alice Example")
    assert (alice.model, alice.partner) == ("model-a", "model-b")
    by_scenario = group_means(samples, lambda s: (s.scenario_id, s.model))
    assert by_scenario[("borrow_car", "model-a")] == mean_ci([8, 6])
    assert by_scenario[("other", "model-b")] == mean_ci([3])
    secret = group_means(samples, lambda s: s.model, dimension="secret")
    assert secret["model-b"].mean == -1.0


def test_failure_counts() -> None:
    assert failure_counts(_episodes()) == FailureCounts(
        episodes=8, finished=5, failed=2, running=1, judged_ok=3, judgement_failed=1, unjudged=1
    )
