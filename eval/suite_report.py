"""The suite section of ``python -m eval.report``: a suite run folder (``python -m eval.suite --out DIR``)
read into what ``templates/suite.html.j2`` shows.

The section has the suite table (models x benchmarks, each number with its interval, n and
protocol), then per benchmark a breakdown: MCQ accuracy by the benchmark's own groups (ability,
question type, category, ...), FanToM's scores for the false-belief and control tasks with their
protocols, SOTOPIA's seven dimensions. The SOTOPIA episode stores inside the folder also feed the
report's usual sections.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from eval.fantom.run import HEADLINE as FANTOM_HEADLINE
from eval.judge import SOTOPIA_DIMENSIONS
from eval.stats import MeanCI
from eval.suite import LABELS, MCQ_SUITE, SOTOPIA, SUMMARY_FILE, Cell, SuiteSummary, cell_text


class SuiteError(ValueError):
    """A folder whose ``summary.json`` is not a readable suite summary."""


class SuiteView(BaseModel):
    """Everything the template shows for one suite folder."""

    label: str
    path: str
    summary: SuiteSummary
    table: list[dict[str, Any]]
    breakdowns: list[dict[str, Any]]
    fantom: dict[str, Any] | None = None
    sotopia: dict[str, Any] | None = None
    notes: list[dict[str, str]]
    protocols: list[dict[str, str]]


def is_suite(path: Path) -> bool:
    """Whether ``path`` is a suite run folder (its ``summary.json`` says so)."""
    file = path / SUMMARY_FILE
    if not file.is_file():
        return False
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("kind") == "socialgym-suite"
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def sotopia_runs(summary: SuiteSummary) -> list[Path]:
    """The SOTOPIA episode stores of a suite, one per model that played."""
    found = []
    for model in summary.models:
        result = model.benchmarks.get(SOTOPIA)
        if result is not None and result.out and (Path(result.out) / "episodes.sqlite").is_file():
            found.append(Path(result.out))
    return found


def _ci_text(ci: MeanCI | None, percent: bool) -> str:
    if ci is None or ci.low is None or ci.high is None:
        return ""
    scale = 100 if percent else 1
    digits = 1 if percent else 2
    return f"95% CI [{scale * ci.low:.{digits}f}, {scale * ci.high:.{digits}f}]"


def _tip(cell: Cell | None, percent: bool) -> str:
    if cell is None:
        return ""
    parts = [f"n={cell.n}", _ci_text(cell.ci, percent), cell.protocol]
    if not cell.comparable:
        parts.append("not comparable to the paper")
    return " · ".join(p for p in parts if p)


def _table(summary: SuiteSummary) -> list[dict[str, Any]]:
    rows = []
    for model in summary.models:
        cells = []
        for key, _ in summary.columns:
            name, _, part = key.partition(":")
            if key == "mcq_average":
                cell: Cell | None = model.mcq_average
                tip = f"over {', '.join(model.mcq_average_of) or 'none'} · {cell.protocol}"
            else:
                result = model.benchmarks.get(name)
                cell = result.cells.get(part or "accuracy") if result is not None else None
                tip = _tip(cell, name != SOTOPIA)
                if result is not None and result.status in ("no data", "error") and result.message:
                    tip = result.message
            text = cell_text(model, key)
            cells.append(
                {"text": text, "tip": tip, "status": text if text in ("no data", "error", "skipped") else ""}
            )
        rows.append({"model": model.model, "cells": cells})
    return rows


def _mcq_breakdown(summary: SuiteSummary, name: str) -> dict[str, Any] | None:
    results = [(m.model, m.benchmarks.get(name)) for m in summary.models]
    ok = [(model, r) for model, r in results if r is not None and r.status == "ok"]
    if not ok:
        return None
    groups: dict[str, dict[str, dict[str, str]]] = {}
    for model, r in ok:
        for group, values in r.detail.get("groups", {}).items():
            counts = r.detail.get("group_counts", {}).get(group, {})
            for value, accuracy in values.items():
                groups.setdefault(group, {}).setdefault(value, {})[model] = (
                    f"{100 * accuracy:.1f} (n={counts.get(value, '?')})"
                )
    return {
        "name": name,
        "label": LABELS[name],
        "models": [model for model, _ in ok],
        "overall": {
            model: {
                "accuracy": cell_text_for(r.cells.get("accuracy")), "ci": _ci_text(r.cells["accuracy"].ci, True),
                "n": r.detail.get("n"), "errors": r.errors, "unparseable": r.detail.get("unparseable"),
                "format_ok": r.detail.get("format_ok_rate"), "asked": r.asked, "reused": r.reused,
            }
            for model, r in ok
        },
        "groups": [
            {"group": group, "rows": [{"value": v, "cells": cells} for v, cells in sorted(values.items())]}
            for group, values in groups.items()
            if len(values) > 1
        ],
        "protocol": ok[0][1].protocol,
    }  # fmt: skip


def cell_text_for(cell: Cell | None, percent: bool = True) -> str:
    """A cell's number as the table prints it."""
    if cell is None or cell.value is None:
        return "–"
    return f"{100 * cell.value:.1f}" if percent else f"{cell.value:.2f}"


def _fantom_breakdown(summary: SuiteSummary) -> dict[str, Any] | None:
    ok = [(m.model, m.benchmarks["fantom"]) for m in summary.models if m.benchmarks.get("fantom") and
          m.benchmarks["fantom"].status == "ok"]  # fmt: skip
    if not ok:
        return None
    rows = []
    for key, label in FANTOM_HEADLINE:
        row: dict[str, Any] = {"label": label, "cells": []}
        for _, r in ok:
            scores = r.detail["scores"]
            for task in ("fantom", "control"):
                metric = scores[task]["metrics"][key]
                value = metric["value"]
                row["cells"].append({
                    "text": "unavailable" if value is None else f"{100 * value:.1f}",
                    "tip": " · ".join(p for p in (f"n={metric['n']}", metric["protocol"], metric.get("note") or "") if p),
                    "comparable": metric["comparable"],
                })  # fmt: skip
        rows.append(row)
    fact = [r.detail["scores"]["fact_token_f1"] for _, r in ok]
    return {
        "models": [model for model, _ in ok],
        "rows": rows,
        "fact": [("–" if f["value"] is None else f"{100 * f['value']:.1f}") for f in fact],
        "judge": ok[0][1].protocol.get("free_response_judge", ""),
        "sets": {model: r.detail.get("sets") for model, r in ok},
        "errors": {model: r.errors for model, r in ok},
    }


def _sotopia_breakdown(summary: SuiteSummary) -> dict[str, Any] | None:
    ok = [(m.model, m.benchmarks[SOTOPIA]) for m in summary.models if m.benchmarks.get(SOTOPIA) and
          m.benchmarks[SOTOPIA].status == "ok"]  # fmt: skip
    if not ok:
        return None
    rows = []
    for dimension in SOTOPIA_DIMENSIONS:
        cells = []
        for _, r in ok:
            pair = (r.detail.get("pairs") or [{}])[0]
            stats = MeanCI.model_validate(pair.get("dimensions", {}).get(dimension.name, {"n": 0}))
            text = "–" if stats.mean is None else f"{stats.mean:.2f}"
            if stats.half_width is not None:
                text += f" ± {stats.half_width:.2f}"
            cells.append(f"{text} (n={stats.n})")
        rows.append({"label": f"{dimension.name} ({dimension.low}..{dimension.high})", "cells": cells})
    counts = []
    for _, r in ok:
        pair = (r.detail.get("pairs") or [{}])[0]
        counts.append(
            f"{pair.get('finished', 0)}/{pair.get('planned', 0)} finished, {pair.get('judged_ok', 0)} judged, "
            f"{pair.get('judgement_failed', 0)} judge failures, {pair.get('failed', 0)} failed"
        )
    return {
        "models": [model for model, _ in ok],
        "rows": rows,
        "counts": counts,
        "protocol": ok[0][1].protocol,
    }


def read_suite(path: Path, label: str | None = None) -> SuiteView:
    """Read a suite folder into its view (``SuiteError`` naming the file when it cannot be read)."""
    file = path / SUMMARY_FILE
    try:
        summary = SuiteSummary.model_validate_json(file.read_text(encoding="utf-8"))
    except (OSError, ValidationError, UnicodeDecodeError) as exc:
        raise SuiteError(
            f"{file}: not a readable suite summary ({type(exc).__name__}); rerun python -m eval.suite"
        ) from None
    breakdowns = [b for name in MCQ_SUITE if (b := _mcq_breakdown(summary, name)) is not None]
    notes = []
    for model in summary.models:
        for name, result in model.benchmarks.items():
            if result.status in ("no data", "error") and result.message:
                note = {"benchmark": LABELS[name], "status": result.status, "text": result.message,
                        "model": model.model}  # fmt: skip
                if result.status == "error" or note["text"] not in {n["text"] for n in notes}:
                    notes.append(note)
    protocols = [
        {"benchmark": LABELS[name], "text": "; ".join(f"{k}: {v}" for k, v in result.protocol.items() if v not in ([], ""))}
        for name, result in summary.models[0].benchmarks.items()
        if result.status != "skipped"
    ]  # fmt: skip
    return SuiteView(
        label=label or path.name, path=str(path), summary=summary, table=_table(summary), breakdowns=breakdowns,
        fantom=_fantom_breakdown(summary), sotopia=_sotopia_breakdown(summary), notes=notes, protocols=protocols,
    )  # fmt: skip
