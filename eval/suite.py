"""One command for the three settings Social-R1 reports: ``python -m eval.suite``.

    python -m eval.suite --model sip:local --data-root ../shared/data --out runs/suite
    python -m eval.suite --model openai/gpt-4o --model sip:runs/grpo/checkpoint-600 --data-root ~/tom-data --out runs/cmp
    python -m eval.report runs/suite -o suite.html

For every ``--model`` it runs, concurrently: the paper's eight multiple-choice benchmarks through
:mod:`eval.mcq` (ToMBench, ToMBench-Hard, SocialIQA, SimpleToM, EmoBench EA and EU, MotiveBench,
Hi-ToM, TactfulToM), FanToM through :mod:`eval.fantom`, and a small SOTOPIA-hard set through
:mod:`eval.interactive`. Each benchmark's files are looked for where :func:`eval.benchmarks.location`
puts them under ``--data-root`` (FanToM: ``fantom/``); a benchmark without them is listed as
"no data" with where to put them. ``--n`` keeps a seeded sample of N units per benchmark (FanToM:
N question sets); every benchmark's seed and protocol go into the results.

Resume: replies are kept per model and benchmark (``OUT/<model>/<benchmark>/replies/``) and
SOTOPIA episodes in ``OUT/<model>/sotopia/episodes.sqlite``; rerunning the same command asks only
for what is missing, then rebuilds every summary.

Output: one table (rows: models; columns: each benchmark, the MCQ average, FanToM's scores,
SOTOPIA goal and overall) printed with rich and written with everything behind it to
``OUT/summary.json``. Exit status: 0 when every benchmark with data ran, 1 when one failed,
2 for bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from agents.client import ResponseCache, RetryPolicy, resolve_endpoint
from agents.sip import THINK_PREFILL
from eval.benchmarks import BenchmarkError, get_benchmark, load_benchmark
from eval.benchmarks.registry import Benchmark, location
from eval.fantom.data import data_file, flatten, load_fantom
from eval.fantom.judges import PUBLISHED_EMBEDDER, BeliefJudge, build_judge
from eval.fantom.run import PLAIN_MAX_TOKENS as FANTOM_PLAIN_TOKENS
from eval.fantom.run import SIP_MAX_TOKENS as FANTOM_SIP_TOKENS
from eval.fantom.run import FantomSettings, run_fantom, select_sets
from eval.interactive import SUMMARY_FILE, InteractiveConfig, UsageError, plan_run, write_summary
from eval.interactive import build_judge as build_sotopia_judge
from eval.interactive import evaluate as play_sotopia
from eval.judge import SOTOPIA_DIMENSIONS
from eval.mcq import (
    Settings,
    default_max_tokens,
    model_answer_fn,
    parse_model_spec,
    run_benchmark,
    select_units,
    write_results,
)
from eval.stats import MeanCI, episode_judgement, mean_ci, proportion_ci
from eval.store import EpisodeStore

REPLIES_DIR = "replies"
MCQ_SUITE = (
    "tombench", "tombench-hard", "socialiqa", "simpletom", "emobench-ea", "emobench-eu", "motivebench", "hi-tom",
    "tactfultom",
)  # fmt: skip
"""The paper's eight MCQ benchmarks (EmoBench as its two parts), in table order."""
PAPER_EIGHT: dict[str, tuple[str, ...]] = {
    "ToMBench": ("tombench",), "ToMBench-Hard": ("tombench-hard",), "SocialIQA": ("socialiqa",),
    "SimpleToM": ("simpletom",), "EmoBench": ("emobench-ea", "emobench-eu"), "MotiveBench": ("motivebench",),
    "Hi-ToM": ("hi-tom",), "TactfulToM": ("tactfultom",),
}  # fmt: skip
"""How the MCQ average counts the eight: EmoBench is the mean of its two parts."""
FANTOM = "fantom"
SOTOPIA = "sotopia"
FANTOM_HOME = "fantom"
FANTOM_SOURCE = (
    "FanToM's release (fantom.tar.gz from github.com/skywalker023/fantom) unpacked: fantom_v1.json"
)
ALL_BENCHMARKS = (*MCQ_SUITE, FANTOM, SOTOPIA)
FANTOM_COLUMNS = (("all_star", "FanToM All*"), ("all", "FanToM All"), ("belief_choice", "FanToM BeliefQ[Choice]"),
                  ("belief_dist", "FanToM BeliefQ[Dist]"))  # fmt: skip
LABELS = {
    "tombench": "ToMBench", "tombench-hard": "ToMBench-Hard", "socialiqa": "SocialIQA", "simpletom": "SimpleToM",
    "emobench-ea": "EmoBench-EA", "emobench-eu": "EmoBench-EU", "motivebench": "MotiveBench", "hi-tom": "Hi-ToM",
    "tactfultom": "TactfulToM", FANTOM: "FanToM", SOTOPIA: "SOTOPIA",
}  # fmt: skip
Status = Literal["ok", "no data", "error", "skipped"]


class SuiteConfig(BaseModel):
    """What one ``python -m eval.suite`` invocation was asked to do."""

    models: list[str] = Field(min_length=1)
    data_root: str
    out: str
    n: int | None = Field(None, ge=1, description="seeded sample of units per MCQ benchmark (None: all)")
    fantom_sets: int | None = Field(None, ge=1, description="FanToM question sets (None: --n, or all)")
    fantom_context: Literal["short", "full"] = "short"
    fantom_embedder: str = PUBLISHED_EMBEDDER
    fantom_judge: str | None = None
    sotopia_scenarios: str = "sotopia-hard"
    sotopia_limit: int = Field(2, ge=1)
    sotopia_episodes: int = Field(1, ge=1)
    max_turns: int | None = Field(None, ge=1)
    partner: str = "local"
    judge: str = "local"
    seed: int = 0
    concurrency: int = Field(8, ge=1)
    retries: int = Field(4, ge=1)
    api_base: str | None = None
    partner_api_base: str | None = None
    judge_api_base: str | None = None
    only: list[str] = Field(default_factory=list)
    skip: list[str] = Field(default_factory=list)

    def wanted(self, name: str) -> bool:
        """Whether ``--only`` / ``--skip`` keep benchmark ``name``."""
        return (not self.only or name in self.only) and name not in self.skip


class Cell(BaseModel):
    """One headline number of one benchmark for one model."""

    value: float | None = None
    ci: MeanCI | None = None
    n: int = 0
    protocol: str = ""
    comparable: bool = True


class BenchmarkResult(BaseModel):
    """One benchmark's outcome for one model."""

    benchmark: str
    kind: Literal["mcq", "fantom", "sotopia"]
    status: Status
    message: str | None = Field(None, description="no data: where to put it; error: what went wrong")
    data: str | None = None
    out: str | None = None
    protocol: dict[str, Any] = Field(default_factory=dict)
    cells: dict[str, Cell] = Field(default_factory=dict, description="headline numbers by column key")
    errors: int = Field(
        0, description="model calls (MCQ units, FanToM questions, episodes) that failed for good"
    )
    asked: int = 0
    reused: int = Field(0, description="replies taken from an earlier run")
    wall_s: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict, description="the piece's own summary")


class ModelResult(BaseModel):
    """Every benchmark of one model, and its MCQ average."""

    model: str
    folder: str
    benchmarks: dict[str, BenchmarkResult] = Field(default_factory=dict)
    mcq_average: Cell = Field(default_factory=Cell)
    mcq_average_of: list[str] = Field(default_factory=list)
    wall_s: float | None = None


class SuiteSummary(BaseModel):
    """``OUT/summary.json``."""

    kind: Literal["socialgym-suite"] = "socialgym-suite"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    config: SuiteConfig
    columns: list[tuple[str, str]] = Field(description="(key, label) of every table column, in order")
    models: list[ModelResult]
    wall_s: float | None = None

    def table_rows(self) -> list[list[str]]:
        """The table as text: one row per model, one cell per column."""
        return [[m.model, *(cell_text(m, key) for key, _ in self.columns)] for m in self.models]


def slug(spec: str) -> str:
    """A folder name for a model spec (``sip:local`` -> ``sip_local``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", spec.strip()).strip("_.") or "model"


def model_folders(models: Sequence[str]) -> dict[str, str]:
    """One distinct folder name per model spec."""
    folders: dict[str, str] = {}
    for spec in models:
        name = slug(spec)
        while name in folders.values():
            name += "_"
        folders[spec] = name
    return folders


def columns() -> list[tuple[str, str]]:
    """The table's columns: each MCQ benchmark, the average, FanToM's scores, SOTOPIA's goal and overall."""
    cols = [(name, LABELS[name]) for name in MCQ_SUITE] + [("mcq_average", "MCQ avg")]
    cols += [(f"{FANTOM}:{key}", label) for key, label in FANTOM_COLUMNS]
    return [*cols, (f"{SOTOPIA}:goal", "SOTOPIA goal"), (f"{SOTOPIA}:overall", "SOTOPIA overall")]


def _cell_value(cell: Cell, percent: bool) -> str:
    if cell.value is None:
        return "unavailable" if cell.protocol.startswith("unavailable") else "–"
    text = f"{100 * cell.value:.1f}" if percent else f"{cell.value:.2f}"
    return text if cell.comparable else f"{text}†"


def cell_text(model: ModelResult, key: str) -> str:
    """What the table shows for ``key``: a number, "no data", "error", "skipped" or "unavailable"."""
    if key == "mcq_average":
        return _cell_value(model.mcq_average, True) + (
            f" ({len(model.mcq_average_of)}/8)" if model.mcq_average_of else ""
        )
    name, _, part = key.partition(":")
    result = model.benchmarks.get(name)
    if result is None or result.status == "skipped":
        return "skipped"
    if result.status != "ok":
        return result.status
    cell = result.cells.get(part or "accuracy")
    return "–" if cell is None else _cell_value(cell, name != SOTOPIA)


# -- protocol records ---------------------------------------------------------------------------------


def mcq_protocol(bench: Benchmark, config: SuiteConfig) -> dict[str, Any]:
    """How an MCQ benchmark is asked and scored in this run."""
    return {
        "runs": bench.runs, "shuffle": bench.shuffle and not bench.orders, "orders": [list(o) for o in bench.orders],
        "aggregate": bench.aggregate, "correct": bench.correct, "seed": config.seed,
        "sample": f"seeded sample of {config.n} units" if config.n else "all units", "source": bench.source,
    }  # fmt: skip


def fantom_protocol(config: SuiteConfig, judge: BeliefJudge) -> dict[str, Any]:
    """How FanToM is asked and scored in this run."""
    return {
        "input": f"{config.fantom_context} conversation", "aggregation": "set", "choice_order_seed": config.seed,
        "free_response_judge": judge.protocol, "comparable_free_response": judge.comparable,
        "sample": f"seeded sample of {config.fantom_sets or config.n} sets" if (config.fantom_sets or config.n)
        else "all sets", "source": FANTOM_SOURCE,
    }  # fmt: skip


def sotopia_protocol(config: SuiteConfig) -> dict[str, Any]:
    """How the SOTOPIA episodes are played and judged in this run."""
    return {
        "scenarios": f"{config.sotopia_scenarios}, first {config.sotopia_limit} by id",
        "episodes_per_scenario": config.sotopia_episodes, "max_turns": config.max_turns or "each scenario's",
        "partner": config.partner, "judge": config.judge, "dimensions": [d.name for d in SOTOPIA_DIMENSIONS],
        "test_side": "first", "seed": config.seed,
        "overall": "per episode, the mean of the seven dimensions of the test model's side; then mean and 95% t-interval",
    }  # fmt: skip


# -- running the pieces -------------------------------------------------------------------------------


class Hooks:
    """Progress callbacks of the suite's display: ``start(key, total)`` then ``step(key)`` / ``finish(key)``."""

    def __init__(self, progress: Any | None = None) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def start(self, key: str, total: int | None) -> Callable[[], None]:
        """Register a task; returns its step function."""
        if self.progress is None:
            return lambda: None
        self.tasks[key] = self.progress.add_task(key, total=total)
        return lambda: self.progress.advance(self.tasks[key])

    def finish(self, key: str, text: str) -> None:
        """Mark a task done (or print a line when there is no display)."""
        if self.progress is None:
            print(f"{key}: {text}", file=sys.stderr, flush=True)
            return
        if key in self.tasks:
            total = self.progress.tasks[self.tasks[key]].total or 1
            self.progress.update(self.tasks[key], total=total, completed=total, description=f"{key}: {text}")


def _answer_fn(spec: str, config: SuiteConfig, cache: ResponseCache, max_tokens: int) -> Any:
    model, sip = parse_model_spec(spec)
    endpoint = resolve_endpoint(model, config.api_base)
    prefill = THINK_PREFILL if sip and endpoint.backend == "transformers" else ""
    ask = model_answer_fn(endpoint, temperature=0.0, max_tokens=max_tokens, retry=RetryPolicy(max_attempts=config.retries),
                          prefill=prefill)  # fmt: skip
    return cache.wrap(ask, spec, temperature=0.0, max_tokens=max_tokens, prefill=prefill)


async def run_mcq(name: str, spec: str, folder: Path, config: SuiteConfig, hooks: Hooks) -> BenchmarkResult:
    """One MCQ benchmark for one model (``no data`` when its files are not under the data root)."""
    bench = get_benchmark(name)
    where = location(bench, Path(config.data_root))
    result = BenchmarkResult(
        benchmark=name, kind="mcq", status="ok", data=str(where), protocol=mcq_protocol(bench, config)
    )
    if not where.exists():
        result.status, result.message = "no data", f"put {bench.source} at {where}"
        return result
    items = select_units(load_benchmark(name, where), config.n, sample=True, seed=config.seed)
    _, sip = parse_model_spec(spec)
    settings = Settings(
        model=spec, benchmark=name, data=str(where), sip=sip, runs=bench.runs, shuffle=bench.shuffle,
        orders=[list(o) for o in bench.orders], aggregate=bench.aggregate, seed=config.seed, limit=config.n,
        sample=config.n is not None, concurrency=config.concurrency, temperature=0.0,
        max_tokens=default_max_tokens(items, sip), api_base=config.api_base,
    )  # fmt: skip
    out = folder / name
    cache = ResponseCache(out / REPLIES_DIR)
    answer_fn = _answer_fn(spec, config, cache, settings.max_tokens or 0)
    step = hooks.start(f"{spec} · {LABELS[name]}", len(items) * settings.runs)
    summary, records = await run_benchmark(items, answer_fn, settings, on_done=step)
    summary["timings"].update(asked=cache.stored, reused=cache.hits)
    write_results(out, summary, records)
    scored, accuracy = summary["scored"], summary["accuracy"]
    if summary["aggregate"] == "mean":
        ci = mean_ci(summary["unit_scores"])
    else:
        ci = proportion_ci(summary["correct"], scored)
    result.cells["accuracy"] = Cell(value=accuracy, ci=ci, n=scored, protocol=f"{name} ({bench.correct})")
    result.out, result.errors, result.detail = str(out), summary["errors"], summary
    result.asked, result.reused, result.wall_s = cache.stored, cache.hits, summary["timings"]["wall_s"]
    hooks.finish(f"{spec} · {LABELS[name]}", "no score" if accuracy is None else f"{100 * accuracy:.1f}%")
    return result


async def run_fantom_for(
    spec: str, folder: Path, config: SuiteConfig, judge: BeliefJudge, hooks: Hooks
) -> BenchmarkResult:
    """FanToM for one model."""
    where = Path(config.data_root) / FANTOM_HOME
    result = BenchmarkResult(benchmark=FANTOM, kind="fantom", status="ok", data=str(where),
                             protocol=fantom_protocol(config, judge))  # fmt: skip
    try:
        file = data_file(where)
    except BenchmarkError:
        result.status, result.message = "no data", f"put {FANTOM_SOURCE} at {where}/"
        return result
    limit = config.fantom_sets or config.n
    sets = select_sets(load_fantom(file), limit, sample=True, seed=config.seed)
    questions = flatten(sets, context=config.fantom_context, seed=config.seed)
    _, sip = parse_model_spec(spec)
    settings = FantomSettings(
        model=spec, data=str(file), sip=sip, context=config.fantom_context, seed=config.seed, limit=limit,
        sample=limit is not None, concurrency=config.concurrency, temperature=0.0,
        max_tokens=FANTOM_SIP_TOKENS if sip else FANTOM_PLAIN_TOKENS, api_base=config.api_base, judge=judge.protocol,
    )  # fmt: skip
    out = folder / FANTOM
    cache = ResponseCache(out / REPLIES_DIR)
    answer_fn = _answer_fn(spec, config, cache, settings.max_tokens or 0)
    step = hooks.start(f"{spec} · FanToM", len(questions))
    summary, records = await run_fantom(questions, answer_fn, settings, judge, on_done=step)
    summary["timings"].update(asked=cache.stored, reused=cache.hits)
    write_results(out, summary, records)
    metrics = summary["scores"]["fantom"]["metrics"]
    for key, _ in FANTOM_COLUMNS:
        m = metrics[key]
        result.cells[key] = Cell(
            value=m["value"], ci=m["ci"], n=m["n"], protocol=m["protocol"], comparable=m["comparable"]
        )
    result.out, result.errors, result.detail = str(out), summary["scores"]["errors"], summary
    result.asked, result.reused, result.wall_s = cache.stored, cache.hits, summary["timings"]["wall_s"]
    hooks.finish(f"{spec} · FanToM", f"{summary['sets']} sets")
    return result


def sotopia_config(spec: str, folder: Path, config: SuiteConfig) -> InteractiveConfig:
    """The :mod:`eval.interactive` run of one model."""
    return InteractiveConfig(
        models=[spec], partners=[config.partner], judge=config.judge, scenarios=config.sotopia_scenarios,
        limit=config.sotopia_limit, episodes_per_scenario=config.sotopia_episodes, max_turns=config.max_turns,
        seed=config.seed, concurrency=min(config.concurrency, 4), api_base=config.api_base,
        partner_api_base=config.partner_api_base, judge_api_base=config.judge_api_base, out=str(folder / SOTOPIA),
    )  # fmt: skip


def overall_scores(run: InteractiveConfig) -> list[float]:
    """Per judged episode of the run's plan: the mean of the test side's seven dimension scores."""
    plan = plan_run(run, build_sotopia_judge(run))
    names = [d.name for d in SOTOPIA_DIMENSIONS]
    values = []
    with EpisodeStore(run.out, create=False) as store:
        for item in plan:
            episode = store.get(item.episode_id)
            judgement = episode_judgement(episode) if episode is not None else None
            if judgement is None or not judgement.ok:
                continue
            scores = judgement.scores.get(item.test_agent, {})
            if all(name in scores for name in names):
                values.append(statistics.fmean(scores[name].score for name in names))
    return values


async def run_sotopia_for(spec: str, folder: Path, config: SuiteConfig, hooks: Hooks) -> BenchmarkResult:
    """The small SOTOPIA-hard set for one model, through :func:`eval.interactive.evaluate`."""
    run = sotopia_config(spec, folder, config)
    result = BenchmarkResult(benchmark=SOTOPIA, kind="sotopia", status="ok", data=config.sotopia_scenarios,
                             out=run.out, protocol=sotopia_protocol(config))  # fmt: skip
    hooks.start(f"{spec} · SOTOPIA", None)
    summary = await play_sotopia(run, Console(file=io.StringIO()))
    pair = summary.pairs[0]
    goal = pair.dimensions.get("goal", MeanCI(n=0))
    overall = mean_ci(overall_scores(run))
    protocol = f"judge {config.judge}, partner {config.partner}"
    result.cells["goal"] = Cell(value=goal.mean, ci=goal, n=goal.n, protocol=protocol)
    result.cells["overall"] = Cell(value=overall.mean, ci=overall, n=overall.n, protocol=protocol)
    result.errors = pair.failed + pair.missing
    result.asked, result.reused, result.wall_s = summary.ran, summary.skipped, summary.wall_s
    result.detail = summary.model_dump(mode="json")
    hooks.finish(f"{spec} · SOTOPIA",
                 f"{pair.finished}/{pair.planned} episodes, {pair.judged_ok} judged, {pair.judgement_failed} judge failures")  # fmt: skip
    return result


async def _guard(name: str, kind: Any, coro: Any) -> BenchmarkResult:
    """Run one benchmark; a failure becomes an ``error`` result instead of stopping the others."""
    try:
        return await coro
    except (BenchmarkError, UsageError, ValueError, OSError) as exc:
        return BenchmarkResult(benchmark=name, kind=kind, status="error", message=str(exc))
    except Exception as exc:  # a model that cannot be reached, a server that will not start
        return BenchmarkResult(
            benchmark=name, kind=kind, status="error", message=f"{type(exc).__name__}: {exc}"
        )


def mcq_average(result: ModelResult) -> None:
    """The mean over the paper's eight that have a score (EmoBench: mean of EA and EU)."""
    values, counted = [], []
    for label, parts in PAPER_EIGHT.items():
        cells = [result.benchmarks[p].cells.get("accuracy") for p in parts if p in result.benchmarks]
        scores = [c.value for c in cells if c is not None and c.value is not None]
        if len(scores) == len(parts):
            values.append(statistics.fmean(scores))
            counted.append(label)
    result.mcq_average = Cell(value=statistics.fmean(values) if values else None, n=len(values),
                              protocol="unweighted mean of the benchmark accuracies (EmoBench = mean of EA and EU)")  # fmt: skip
    result.mcq_average_of = counted


async def run_model(
    spec: str, folder: Path, config: SuiteConfig, fantom_judge: BeliefJudge, hooks: Hooks
) -> ModelResult:
    """Every wanted benchmark of one model, concurrently."""
    started = time.perf_counter()
    jobs: dict[str, Any] = {}
    for name in MCQ_SUITE:
        if config.wanted(name):
            jobs[name] = _guard(name, "mcq", run_mcq(name, spec, folder, config, hooks))
    if config.wanted(FANTOM):
        jobs[FANTOM] = _guard(FANTOM, "fantom", run_fantom_for(spec, folder, config, fantom_judge, hooks))
    if config.wanted(SOTOPIA):
        jobs[SOTOPIA] = _guard(SOTOPIA, "sotopia", run_sotopia_for(spec, folder, config, hooks))
    done = await asyncio.gather(*jobs.values())
    result = ModelResult(model=spec, folder=str(folder))
    for name in ALL_BENCHMARKS:
        kind = "mcq" if name in MCQ_SUITE else name
        result.benchmarks[name] = (
            done[list(jobs).index(name)] if name in jobs else BenchmarkResult(benchmark=name, kind=kind, status="skipped")
        )  # fmt: skip
    mcq_average(result)
    result.wall_s = time.perf_counter() - started
    return result


async def run_suite(config: SuiteConfig, hooks: Hooks | None = None) -> SuiteSummary:
    """Run every model's benchmarks and write ``OUT/summary.json``."""
    started = time.perf_counter()
    hooks = hooks or Hooks()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    judge = build_judge(
        config.fantom_embedder, config.fantom_judge, api_base=config.judge_api_base, seed=config.seed
    )
    folders = model_folders(config.models)
    results = await asyncio.gather(
        *(run_model(spec, out / folders[spec], config, judge, hooks) for spec in config.models)
    )
    summary = SuiteSummary(
        config=config, columns=columns(), models=list(results), wall_s=time.perf_counter() - started
    )
    write_summary(summary, out)
    return summary


# -- output -------------------------------------------------------------------------------------------


def render(summary: SuiteSummary, console: Console) -> None:
    """The suite table, then what had no data or failed, and every benchmark's protocol."""
    table = Table(title=f"SocialGym suite ({len(summary.models)} model(s); accuracy %, SOTOPIA 0..10)")
    table.add_column("model", no_wrap=True)
    for _, label in summary.columns:
        table.add_column(label, justify="right", overflow="fold", min_width=min(len(label), 11))
    for row in summary.table_rows():
        table.add_row(*row)
    console.print(table)
    console.print(
        "† not comparable to the paper's figures (another protocol; see summary.json)", highlight=False
    )
    notes: dict[str, str] = {}
    for model in summary.models:
        for name, result in model.benchmarks.items():
            if result.status == "no data" and result.message:
                notes.setdefault(f"no data  {LABELS[name]}", result.message)
            elif result.status == "error":
                notes[f"error    {LABELS[name]} ({model.model})"] = result.message or "?"
            elif result.errors:
                notes[f"failed   {LABELS[name]} ({model.model})"] = (
                    f"{result.errors} unit(s) with failed calls, not scored"
                )
    for head, text in notes.items():
        console.print(f"{head}: {text}", markup=False, highlight=False)
    protocols = Table(title="protocols (recorded per benchmark in summary.json)")
    protocols.add_column("benchmark")
    protocols.add_column("protocol")
    first = summary.models[0]
    for name, result in first.benchmarks.items():
        if result.status == "skipped":
            continue
        text = "; ".join(
            f"{k}={v}" for k, v in result.protocol.items() if k not in ("source", "orders") and v != []
        )
        protocols.add_row(LABELS[name], text)
    console.print(protocols)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m eval.suite`` argument parser."""
    p = argparse.ArgumentParser(prog="python -m eval.suite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="SPEC",
        help="model to evaluate (repeatable): local, sip:MODEL, a litellm model string, a checkpoint",
    )
    p.add_argument("--data-root", type=Path, required=True, help="folder holding each benchmark's files")
    p.add_argument("--out", type=Path, required=True, help="run folder; rerun into it to resume")
    p.add_argument(
        "--n", type=int, help="seeded sample of N units per MCQ benchmark and N FanToM sets (default all)"
    )
    p.add_argument("--fantom-sets", type=int, help="FanToM question sets (default: --n)")
    p.add_argument("--fantom-context", choices=["short", "full"], default="short")
    p.add_argument(
        "--fantom-embedder",
        default=PUBLISHED_EMBEDDER,
        help="sentence-transformers model for FanToM free responses, local files only; 'none' to skip",
    )
    p.add_argument(
        "--fantom-judge", help="judge FanToM free responses with this LLM instead (not the paper's metric)"
    )
    p.add_argument("--sotopia-scenarios", default="sotopia-hard", help="scenario set for eval.interactive")
    p.add_argument("--sotopia-limit", type=int, default=2, help="first K scenarios of the set (default 2)")
    p.add_argument("--sotopia-episodes", type=int, default=1, help="episodes per scenario (default 1)")
    p.add_argument("--max-turns", type=int, help="SOTOPIA turn limit (default: each scenario's)")
    p.add_argument("--partner", default="local", help="SOTOPIA partner spec (default local)")
    p.add_argument("--judge", default="local", help="SOTOPIA judge model (default local)")
    p.add_argument("--seed", type=int, default=0, help="sampling, shuffling and cast seed (default 0)")
    p.add_argument("--concurrency", type=int, default=8, help="calls in flight per benchmark (default 8)")
    p.add_argument(
        "--retries", type=int, default=4, help="attempts per call for transient errors (default 4)"
    )
    p.add_argument("--api-base", help="OpenAI-compatible server of the model(s)")
    p.add_argument("--partner-api-base", help="OpenAI-compatible server of the partner")
    p.add_argument("--judge-api-base", help="OpenAI-compatible server of the judges")
    p.add_argument("--only", help=f"comma list of benchmarks to run ({', '.join(ALL_BENCHMARKS)})")
    p.add_argument("--skip", help="comma list of benchmarks to leave out")
    return p  # fmt: skip


def _names(text: str | None, flag: str) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_BENCHMARKS]
    if unknown:
        raise UsageError(f"{flag}: unknown benchmark(s) {unknown}; known: {', '.join(ALL_BENCHMARKS)}")
    return names


def config_from_args(args: argparse.Namespace) -> SuiteConfig:
    """Validate flags into a config (``UsageError`` naming the flag)."""
    for flag in (
        "n",
        "fantom_sets",
        "sotopia_limit",
        "sotopia_episodes",
        "max_turns",
        "concurrency",
        "retries",
    ):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if not args.data_root.is_dir():
        raise UsageError(
            f"--data-root {args.data_root}: not a folder; give the folder holding the benchmarks' files"
        )
    for spec in args.model:
        try:
            parse_model_spec(spec)
        except ValueError as exc:
            raise UsageError(f"--model {spec!r}: {exc}") from None
    if len(set(args.model)) != len(args.model):
        raise UsageError("--model: a model is given twice")
    return SuiteConfig(
        models=args.model, data_root=str(args.data_root), out=str(args.out), n=args.n, fantom_sets=args.fantom_sets,
        fantom_context=args.fantom_context, fantom_embedder=args.fantom_embedder, fantom_judge=args.fantom_judge,
        sotopia_scenarios=args.sotopia_scenarios, sotopia_limit=args.sotopia_limit,
        sotopia_episodes=args.sotopia_episodes, max_turns=args.max_turns, partner=args.partner, judge=args.judge,
        seed=args.seed, concurrency=args.concurrency, retries=args.retries, api_base=args.api_base,
        partner_api_base=args.partner_api_base, judge_api_base=args.judge_api_base,
        only=_names(args.only, "--only"), skip=_names(args.skip, "--skip"),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.suite``: returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    err = Console(stderr=True)
    out = Console() if sys.stdout.isatty() else Console(width=250)  # logs keep the whole table unbroken
    try:
        config = config_from_args(args)
    except UsageError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    import litellm  # noqa: F401  (slow first import, kept out of the timings)

    if sys.stderr.isatty():
        from eval.progress import progress_bar

        with progress_bar(console=err) as progress:
            summary = asyncio.run(run_suite(config, Hooks(progress)))
    else:
        summary = asyncio.run(run_suite(config))
    render(summary, out)
    out.print(f"wall time {summary.wall_s:.1f}s; summary: {Path(config.out) / SUMMARY_FILE}", highlight=False)
    failed = any(r.status == "error" for m in summary.models for r in m.benchmarks.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
