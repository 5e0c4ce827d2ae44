"""``python -m eval.report RUN_DIR... -o report.html``: one self-contained HTML report over run folders.

The page works offline: plotly.js is inlined once, nothing is fetched, and a Content-Security-Policy
with a per-report nonce lets only the report's own scripts run. Every piece of model, scenario and
judge text goes through jinja2's autoescaping; chart data is embedded as JSON inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u003c``-style escapes,
so no text can close the script element; chart labels are HTML-escaped for plotly, which
interprets a few tags in labels.

A suite folder (``python -m eval.suite --out DIR``) adds a suite section (:mod:`eval.suite_report`)
and its SOTOPIA episode stores join the other sections.

Sections: per-dimension means with 95% CIs for every (run, model) side by side (chart + table),
goal score distributions, model-vs-partner comparison, a sortable per-scenario table, failure
counts with the most common errors, rule-check outcomes (where scenarios have rule checks), judge
reliability (repeat spread, jury agreement as Krippendorff's alpha, order effect, rule checks vs the
judge's goal score), each invocation's run card, and every transcript with the SIP reasoning folded
under each turn and the judge's reasoning, rule checks and single judgements under each episode.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.utils import PlotlyJSONEncoder
from pydantic import BaseModel, ConfigDict

from envs.types import Episode, EpisodeStatus
from eval.judge import SOTOPIA_DIMENSIONS
from eval.reliability import check_counts, reliability
from eval.runcard import RunCard
from eval.stats import (
    DimensionSummary,
    FailureCounts,
    MeanCI,
    episode_judgement,
    failure_counts,
    group_means,
    mean_ci,
    score_samples,
    summarize_dimensions,
)
from eval.store import EpisodeStore, StoreError, StoreSummary
from scenarios.schema import EpisodeSetup

TEMPLATES = Path(__file__).with_name("templates")
DIMENSION_RANGES = {d.name: (d.low, d.high) for d in SOTOPIA_DIMENSIONS}
PALETTE = ("#3558a8", "#d9822b", "#2f9e72", "#c2455a", "#7a5cc2", "#8c6d3f", "#3b9bb5", "#9a9a2e")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


class RunData(BaseModel):
    """One run folder's store, read into memory."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    path: Path
    summary: StoreSummary
    episodes: list[Episode]


class Series(BaseModel):
    """One (run, model) column of the comparison."""

    key: str
    run: str
    model: str
    label: str
    color: str
    dimensions: dict[str, DimensionSummary]
    goals: list[float]


def script_json(value: Any) -> str:
    """JSON that is safe inside ``<script>``: no ``</script>``, ``<!--`` or line separators survive."""
    text = json.dumps(value, cls=PlotlyJSONEncoder, ensure_ascii=False)
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def load_run(run_dir: str | Path, label: str | None = None) -> RunData:
    """Read one run folder's store (an error names the path if it is missing or unreadable)."""
    with EpisodeStore(run_dir, create=False) as store:
        return RunData(
            label=label or store.run_dir.name,
            path=store.path,
            summary=store.summary(),
            episodes=store.episodes(),
        )


def unique_labels(paths: Sequence[Path]) -> list[str]:
    """Short distinct labels for run folders: their names, with parent folders added where names clash."""
    labels = [p.name for p in paths]
    for depth in (2, 3):
        counts = Counter(labels)
        labels = [
            "/".join(p.parts[-depth:]) if counts[label] > 1 else label
            for p, label in zip(paths, labels, strict=True)
        ]
    counts = Counter(labels)
    return [f"{label} #{i + 1}" if counts[label] > 1 else label for i, label in enumerate(labels)]


def _dimension_order(runs: Sequence[RunData]) -> list[str]:
    seen = {s.dimension for run in runs for s in score_samples(run.episodes)}
    known = [name for name in DIMENSION_RANGES if name in seen]
    return known + sorted(seen - set(known))


def _dimension_name(name: str) -> str:
    """Display name of a dimension, without its range."""
    return (
        "Financial & material"
        if name == "financial_and_material_benefits"
        else name.replace("_", " ").capitalize()
    )


def _dimension_label(name: str) -> str:
    """Display name with the dimension's range, e.g. ``Goal (0..10)``."""
    low_high = DIMENSION_RANGES.get(name)
    return f"{_dimension_name(name)} ({low_high[0]}..{low_high[1]})" if low_high else _dimension_name(name)


def _build_series(runs: Sequence[RunData], dimensions: list[str]) -> list[Series]:
    series: list[Series] = []
    many_runs = len(runs) > 1
    for run in runs:
        models = sorted({spec for e in run.episodes for spec in e.agent_models.values()})
        samples = score_samples(run.episodes)
        for model in models or ["?"]:
            summaries = summarize_dimensions(run.episodes, model=model, dimensions=dimensions)
            goals = [s.score for s in samples if s.model == model and s.dimension == "goal"]
            index = len(series)
            series.append(
                Series(
                    key=f"s{index}",
                    run=run.label,
                    model=model,
                    label=f"{run.label} · {model}" if many_runs else model,
                    color=PALETTE[index % len(PALETTE)],
                    dimensions={d.dimension: d for d in summaries},
                    goals=goals,
                )
            )
    return series


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "font": {"family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13},
        "margin": {"l": 56, "r": 16, "t": 24, "b": 56},
        "legend": {"orientation": "h", "y": -0.22, "x": 0},
        "height": 420,
    }
    layout.update(extra)
    return layout


def _dimension_chart(series: Sequence[Series], dimensions: list[str]) -> dict[str, Any]:
    figure = go.Figure(layout=_layout(barmode="group", yaxis={"title": {"text": "mean score (95% CI)"}}))
    x = [html.escape(_dimension_label(d)) for d in dimensions]
    for s in series:
        stats = [s.dimensions[d].stats if d in s.dimensions else MeanCI(n=0) for d in dimensions]
        figure.add_bar(
            name=html.escape(s.label),
            x=x,
            y=[st.mean for st in stats],
            marker_color=s.color,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [st.high - st.mean if st.high is not None else None for st in stats],
                "arrayminus": [st.mean - st.low if st.low is not None else None for st in stats],
                "thickness": 1.4,
                "width": 4,
            },
            customdata=[[st.n] for st in stats],
            hovertemplate="%{x}<br>mean %{y:.2f}<br>n=%{customdata[0]}<extra>%{fullData.name}</extra>",
        )
    return figure.to_plotly_json()


def _goal_chart(series: Sequence[Series]) -> dict[str, Any]:
    figure = go.Figure(
        layout=_layout(
            barmode="group",
            bargap=0.15,
            xaxis={"title": {"text": "goal score"}, "dtick": 1, "range": [-0.6, 10.6]},
            yaxis={"title": {"text": "% of agents"}},
        )
    )
    for s in series:
        figure.add_histogram(
            name=html.escape(s.label),
            x=s.goals,
            histnorm="percent",
            xbins={"start": -0.5, "end": 10.5, "size": 1},
            marker_color=s.color,
            hovertemplate="goal %{x}: %{y:.1f}%<extra>%{fullData.name}</extra>",
        )
    return figure.to_plotly_json()


def _cell(stats: MeanCI | None) -> dict[str, Any]:
    """A table cell: display text, sort value, and a short note."""
    if stats is None or stats.mean is None:
        return {"text": "–", "sort": "", "n": 0, "hw": None}
    return {"text": f"{stats.mean:.2f}", "sort": f"{stats.mean:.6f}", "n": stats.n, "hw": stats.half_width}


def _model_matrix(runs: Sequence[RunData]) -> dict[str, Any]:
    samples = [s for run in runs for s in score_samples(run.episodes)]
    table = group_means(samples, lambda s: (s.model, s.partner))
    models = sorted({m for m, _ in table})
    partners = sorted({p for _, p in table})
    overall = group_means(samples, lambda s: s.model)
    return {
        "partners": partners,
        "rows": [
            {
                "model": m,
                "cells": [_cell(table.get((m, p))) for p in partners],
                "overall": _cell(overall.get(m)),
            }
            for m in models
        ],
    }


def _scenario_rows(runs: Sequence[RunData], dimensions: list[str], many_runs: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for run in runs:
        names = {e.setup.scenario.id: e.setup.scenario.codename for e in run.episodes}
        episode_counts = Counter(e.setup.scenario.id for e in run.episodes)
        failed_counts = Counter(
            e.setup.scenario.id for e in run.episodes if e.status is not EpisodeStatus.finished
        )
        samples = score_samples(run.episodes)
        per_dim = {
            d: group_means(samples, lambda s: (s.scenario_id, s.model), dimension=d) for d in dimensions
        }
        for scenario_id in sorted(names):
            models = sorted({s.model for s in samples if s.scenario_id == scenario_id})
            for model in models or [None]:
                rows.append(
                    {
                        "run": run.label if many_runs else None,
                        "scenario": scenario_id,
                        "codename": names[scenario_id],
                        "model": model or "–",
                        "episodes": episode_counts[scenario_id],
                        "failed": failed_counts[scenario_id],
                        "cells": [_cell(per_dim[d].get((scenario_id, model))) for d in dimensions],
                    }
                )
    return rows


def _top_errors(episodes: Sequence[Episode], limit: int = 8) -> list[tuple[str, str, int]]:
    errors: Counter[tuple[str, str]] = Counter()
    for episode in episodes:
        if episode.error:
            errors["episode", episode.error.strip()[:400]] += 1
        judgement = episode_judgement(episode)
        if judgement is not None and not judgement.ok:
            errors["judgement", (judgement.error or "no reason recorded").strip()[:400]] += 1
        for turn in episode.turns:
            if turn.error:
                errors["turn", turn.error.strip()[:400]] += 1
    return [(kind, text, count) for (kind, text), count in errors.most_common(limit)]


def _failures(run: RunData) -> dict[str, Any]:
    counts: FailureCounts = failure_counts(run.episodes)
    return {
        "run": run.label,
        "counts": counts,
        "turn_errors": sum(1 for e in run.episodes for t in e.turns if t.error),
        "parse_fallbacks": sum(1 for e in run.episodes for t in e.turns if t.parse_fallback),
        "replaced": run.summary.replaced_versions,
        "errors": _top_errors(run.episodes),
    }


def _trust_view(run: RunData) -> dict[str, Any]:
    """Rule checks, judge reliability and run cards of one run (the reliability.html.j2 section)."""
    rule_scores: dict[str, list[float]] = {}
    for episode in run.episodes:
        judgement = episode_judgement(episode) if episode.status is EpisodeStatus.finished else None
        for agent in judgement.checks if judgement is not None else {}:
            score = judgement.rule_score(agent)  # type: ignore[union-attr]
            if score is not None:
                rule_scores.setdefault(episode.agent_models.get(agent, "?"), []).append(score)
    cards = [RunCard.model_validate(r.card) for r in run.summary.runs if r.card]
    return {
        "run": run.label,
        "checks": check_counts(run.episodes),
        "rule_means": sorted((model, mean_ci(values)) for model, values in rule_scores.items()),
        "reliability": reliability(run.episodes),
        "cards": cards,
        "warnings": sorted({w for card in cards for w in card.warnings}),
    }


def _relationship_view(setup: EpisodeSetup) -> dict[str, str]:
    """The relationship line of a transcript: the pair's, or in a group every pair's (with its history)."""
    if len(setup.agents) == 2:
        return {
            "relationship": setup.relationship.type.value.replace("_", " "),
            "background": setup.relationship.background,
        }
    names = setup.agent_names
    pairs, histories = [], []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            relationship = setup.relationship_between(a, b)
            pairs.append(f"{names[a]} & {names[b]}: {relationship.type.value.replace('_', ' ')}")
            if relationship.background:
                histories.append(relationship.background)
    return {"relationship": "; ".join(pairs), "background": " ".join(histories)}


def episode_view(run_label: str, episode: Episode, dimensions: Sequence[str]) -> dict[str, Any]:
    """What the transcript block (``episode.html.j2``'s ``episode_block``) shows of one episode."""
    setup = episode.setup
    judgement = episode_judgement(episode)
    agents = []
    for name, profile, goal in zip(setup.agent_names, setup.agents, setup.scenario.goals, strict=False):
        scores = judgement.scores.get(name, {}) if judgement is not None else {}
        ordered = [d for d in dimensions if d in scores] + [d for d in scores if d not in dimensions]
        agents.append(
            {
                "name": name,
                "model": episode.agent_models.get(name, "?"),
                "profile": f"{profile.age}, {profile.occupation} ({profile.pronouns})",
                "goal": goal.for_judge(),
                "secret": profile.secret,
                "scores": [
                    {
                        "dimension": _dimension_label(d),
                        "score": scores[d].score,
                        "reasoning": scores[d].reasoning,
                    }
                    for d in ordered
                ],
                "goal_score": scores["goal"].score if "goal" in scores else None,
            }
        )
    duration = None
    if episode.finished_at is not None:
        try:
            duration = (episode.finished_at - episode.started_at).total_seconds()
        except TypeError:
            duration = None
    return {
        "id": episode.id,
        "run": run_label,
        "scenario": setup.scenario.id,
        "codename": setup.scenario.codename,
        "setting": setup.scenario.setting,
        **_relationship_view(setup),
        "status": episode.status.value,
        "error": episode.error,
        "termination": episode.termination_reason,
        "started": episode.started_at.strftime("%Y-%m-%d %H:%M:%S"),
        "duration": duration,
        "agents": agents,
        "speaker": {name: index % 4 for index, name in enumerate(setup.agent_names)},
        "turns": episode.turns,
        "judgement": judgement,
        "step": episode.metadata.training_step,
        "search": " ".join([episode.id, setup.scenario.id, setup.scenario.codename, *setup.agent_names,
                            *episode.agent_models.values()]).lower(),
    }  # fmt: skip


def template_environment(*extra_templates: Path) -> jinja2.Environment:
    """The report's jinja2 environment (autoescaping, filters); ``extra_templates`` folders are searched first."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*extra_templates, TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = lambda value: jinja2.utils.markupsafe.Markup(script_json(value))
    env.filters["num"] = lambda value, digits=2: "–" if value is None else f"{value:.{digits}f}"
    env.filters["score"] = lambda value: f"{value:g}"
    env.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


def _plotly_js() -> str:
    code = get_plotlyjs()
    if "</script" in code.lower():  # would end our inline <script> early; never expected
        raise RuntimeError("the installed plotly.js bundle contains '</script' and cannot be inlined safely")
    return code


def render_report(
    runs: Sequence[RunData], title: str = "SocialGym evaluation report", suites: Sequence[Any] = ()
) -> str:
    """The whole report as one HTML string (``suites``: :class:`eval.suite_report.SuiteView` s)."""
    dimensions = _dimension_order(runs)
    series = _build_series(runs, dimensions)
    many_runs = len(runs) > 1
    context = {
        "title": title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nonce": secrets.token_urlsafe(18),
        "plotly_js": jinja2.utils.markupsafe.Markup(_plotly_js()),
        "runs": runs,
        "many_runs": many_runs,
        "dimensions": [
            {"name": d, "label": _dimension_label(d), "short": _dimension_name(d)} for d in dimensions
        ],
        "series": series,
        "charts": {
            "dimensions": _dimension_chart(series, dimensions) if dimensions else None,
            "goals": _goal_chart(series) if any(s.goals for s in series) else None,
        },
        "cell": _cell,
        "matrix": _model_matrix(runs),
        "scenario_rows": _scenario_rows(runs, dimensions, many_runs),
        "failures": [_failures(run) for run in runs],
        "trust": [_trust_view(run) for run in runs],
        "episodes": [episode_view(run.label, e, dimensions) for run in runs for e in run.episodes],
        "suites": list(suites),
    }
    return template_environment().get_template("report.html.j2").render(**context)


def write_report(
    run_dirs: Sequence[str | Path], out: str | Path, title: str = "SocialGym evaluation report"
) -> Path:
    """Read the run folders and write the report to ``out``; returns its path."""
    from eval.suite_report import is_suite, read_suite, sotopia_runs

    suites, paths = [], []
    for path in map(Path, run_dirs):
        if is_suite(path):
            suites.append(read_suite(path))
            paths.extend(sotopia_runs(suites[-1].summary))
        else:
            paths.append(path)
    labels = unique_labels([p.parent if p.suffix == ".sqlite" else p for p in paths])
    runs = [load_run(path, label) for path, label in zip(paths, labels, strict=True)]
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(runs, title, suites), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m eval.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dirs",
        nargs="+",
        type=Path,
        help="run folders (each with episodes.sqlite), or suite folders (python -m eval.suite)",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="HTML file to write")
    parser.add_argument("--title", default="SocialGym evaluation report")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.run_dirs, args.output, args.title)
    except (StoreError, ValueError) as exc:  # ValueError: eval.suite_report.SuiteError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
