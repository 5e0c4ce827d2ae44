"""Run a model on a static MCQ benchmark and score it as the benchmark defines: ``python -m eval.mcq``.

    python -m eval.mcq --model sip:local --benchmark generated --n 20
    python -m eval.mcq --model openai/gpt-4o-mini --benchmark tombench --limit 200 --sample

Model specs: ``local`` (the embedded model), ``sip:MODEL`` (ask for SIP reasoning, then
``<Answer>``), any litellm model string, with ``--api-base`` for OpenAI-compatible servers.
Every item is asked ``--runs`` times (ToMBench: 5, options shuffled per run, majority vote;
MotiveBench: 6 fixed option orders, accuracy averaged over them; others: 1, options in file order
unless ``--shuffle``). Calls run concurrently
(``--concurrency``) with retries; a call that fails for good marks its item as an error, which
is counted apart and left out of the accuracy.

``--limit N`` keeps the first N units (an item, or a group scored together) in file order, or,
with ``--sample``, N units drawn at random with ``--seed`` (kept in file order).

Writes ``OUT/summary.json`` (accuracy, n, format_ok_rate, unparseable, errors, groups, model,
benchmark, settings, timings) and ``OUT/items.jsonl`` (per item: prompt, outputs, parsed answers,
vote, correct); ``OUT`` defaults to ``runs/mcq-<benchmark>-<timestamp>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.client import ChatResult, Endpoint, LLMCallError, RetryPolicy, chat, resolve_endpoint
from agents.sip import THINK_PREFILL
from eval.benchmarks import BenchmarkError, get_benchmark, load_benchmark
from eval.benchmarks.protocol import messages_for, option_order, read_reply
from eval.benchmarks.scoring import Aggregate, ItemScore, Prediction, Summary, score_predictions
from eval.items import LETTERS, MCQItem

AnswerFn = Callable[[list[dict[str, str]]], Awaitable[str | ChatResult]]
"""Takes chat messages, returns the model's text (or a :class:`ChatResult`, whose latency and token
counts are then recorded); raises :class:`LLMCallError` when it fails for good."""

SIP_MAX_TOKENS = 256
PLAIN_MAX_TOKENS = 16
FREE_TEXT_PLAIN_MAX_TOKENS = 32


class Attempt(BaseModel):
    """One asking of one item (one run)."""

    run: int
    order: list[int] = Field(description="original option index shown at each position")
    messages: list[dict[str, str]]
    output: str | None = None
    error: str | None = None
    prediction: Prediction = None
    format_ok: bool = False
    problems: list[str] = Field(default_factory=list)
    latency_s: float | None = Field(None, description="the call's own time (queueing excluded when known)")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Settings(BaseModel):
    """How a benchmark run was made (stored in ``summary.json``)."""

    model: str
    benchmark: str
    data: str | None = None
    sip: bool = False
    runs: int = 1
    shuffle: bool = False
    orders: list[list[int]] = Field(default_factory=list, description="fixed option order per run, if any")
    aggregate: Aggregate = "vote"
    seed: int = 0
    limit: int | None = None
    sample: bool = False
    concurrency: int = 8
    temperature: float = 0.0
    max_tokens: int | None = None
    api_base: str | None = None
    loader_options: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Selecting and asking


def select_units(
    items: Sequence[MCQItem], limit: int | None, *, sample: bool = False, seed: int = 0
) -> list[MCQItem]:
    """At most ``limit`` units (items, or groups kept whole): the first ones, or a seeded sample."""
    if limit is None:
        return list(items)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    keys = list(dict.fromkeys(it.group or f"\x00{it.id}" for it in items))
    chosen = set(random.Random(seed).sample(keys, min(limit, len(keys))) if sample else keys[:limit])
    return [it for it in items if (it.group or f"\x00{it.id}") in chosen]


async def ask_items(
    items: Sequence[MCQItem],
    answer_fn: AnswerFn,
    *,
    sip: bool,
    runs: int = 1,
    shuffle: bool = False,
    seed: int = 0,
    concurrency: int = 8,
    on_done: Callable[[], None] | None = None,
    orders: Sequence[Sequence[int]] = (),
) -> list[list[Attempt]]:
    """Ask every item ``runs`` times (concurrently, at most ``concurrency`` calls in flight).

    Returns the attempts per item, in item order. Only :class:`LLMCallError` is caught (recorded
    on the attempt); anything else is a bug and propagates.
    """
    if runs < 1 or concurrency < 1:
        raise ValueError("runs and concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(item: MCQItem, run: int) -> Attempt:
        order = option_order(item, run, shuffle=shuffle, seed=seed, orders=orders)
        attempt = Attempt(run=run, order=order, messages=messages_for(item, order, sip=sip))
        text: str | None = None
        async with gate:
            started = time.perf_counter()
            try:
                reply = await answer_fn(attempt.messages)
            except LLMCallError as exc:
                attempt.error = str(exc)
                reply = None
            attempt.latency_s = time.perf_counter() - started
            if isinstance(reply, ChatResult):
                text = reply.text
                attempt.latency_s = reply.latency_s
                attempt.prompt_tokens, attempt.completion_tokens = (
                    reply.prompt_tokens,
                    reply.completion_tokens,
                )
            elif reply is not None:
                text = reply
        if text is not None:
            reading = read_reply(item, order, text, sip=sip)
            attempt.output = text
            attempt.prediction = reading.prediction
            attempt.format_ok = reading.format_ok
            attempt.problems = list(reading.problems)
        if on_done is not None:
            on_done()
        return attempt

    flat = await asyncio.gather(*(one(item, run) for item in items for run in range(runs)))
    return [list(flat[i * runs : (i + 1) * runs]) for i in range(len(items))]


def model_answer_fn(
    endpoint: Endpoint,
    *,
    temperature: float,
    max_tokens: int,
    retry: RetryPolicy | None = None,
    prefill: str = "",
) -> AnswerFn:
    """An :data:`AnswerFn` calling ``endpoint`` (with retries); replies start with ``prefill``."""

    async def answer(messages: list[dict[str, str]]) -> ChatResult:
        return await chat(
            endpoint, messages, temperature=temperature, max_tokens=max_tokens, retry=retry, prefill=prefill
        )

    return answer


# --------------------------------------------------------------------------------------------------
# Scoring and records


def _letter(item: MCQItem, index: Prediction) -> str | None:
    return LETTERS[index] if item.options and isinstance(index, int) else None


def _shown_letter(item: MCQItem, order: Sequence[int], index: Prediction) -> str | None:
    """The letter option ``index`` (file order) had in a prompt whose options came in ``order``."""
    if not item.options or not isinstance(index, int) or index not in order:
        return None
    return LETTERS[order.index(index)]


def item_record(item: MCQItem, attempts: Sequence[Attempt], score: ItemScore) -> dict[str, Any]:
    """One line of ``items.jsonl``: the item, what was asked, what came back and the verdict."""
    return {
        "id": item.id,
        "benchmark": item.benchmark,
        "group": item.group,
        "tags": item.tags,
        "gold": item.answer if item.options else item.answer_text,
        "gold_letter": item.answer_letter,
        "gold_text": item.answer_text,
        "prompt": attempts[0].messages if attempts else [],
        "outputs": [a.output for a in attempts],
        "parsed": [a.prediction for a in attempts],
        "parsed_letters": [_letter(item, a.prediction) for a in attempts],
        "vote": score.vote,
        "vote_letter": _letter(item, score.vote),
        "correct": score.correct,
        "run_correct": score.run_correct,
        "unparseable": score.unparseable,
        "error": score.error,
        "attempts": [
            {
                "run": a.run,
                "order": a.order,
                # letters as this attempt's prompt showed them (the top-level letters are file order)
                "answered_letter_shown": _shown_letter(item, a.order, a.prediction),
                "gold_letter_shown": _shown_letter(item, a.order, item.answer),
                "error": a.error,
                "format_ok": a.format_ok,
                "problems": a.problems,
                "latency_s": a.latency_s,
                "prompt_tokens": a.prompt_tokens,
                "completion_tokens": a.completion_tokens,
                **({"prompt": a.messages} if a.run else {}),
            }
            for a in attempts
        ],
    }


def evaluate(
    items: Sequence[MCQItem], attempts: Sequence[Sequence[Attempt]], aggregate: Aggregate = "vote"
) -> tuple[Summary, list[dict[str, Any]]]:
    """Score the attempts (vote or per-run mean, groups) and build the per-item records."""
    predictions = {it.id: [a.prediction for a in tries] for it, tries in zip(items, attempts, strict=True)}
    errors = {
        it.id: sum(a.error is not None for a in tries) for it, tries in zip(items, attempts, strict=True)
    }
    format_ok = [a.format_ok for tries in attempts for a in tries if a.error is None]
    summary, scores = score_predictions(
        items, predictions, errors=errors, format_ok=format_ok, aggregate=aggregate
    )
    records = [item_record(it, tries, s) for it, tries, s in zip(items, attempts, scores, strict=True)]
    return summary, records


async def run_benchmark(
    items: Sequence[MCQItem],
    answer_fn: AnswerFn,
    settings: Settings,
    *,
    progress: bool = False,
    on_done: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask and score ``items``; returns the ``summary.json`` content and the item records.

    ``on_done`` is called after each call (a caller's own progress display).
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    total = len(items) * settings.runs
    with _progress(total, settings, enabled=progress) as tick:

        def done() -> None:
            tick()
            if on_done is not None:
                on_done()

        attempts = await ask_items(
            items,
            answer_fn,
            sip=settings.sip,
            runs=settings.runs,
            shuffle=settings.shuffle,
            seed=settings.seed,
            concurrency=settings.concurrency,
            on_done=done,
            orders=settings.orders,
        )
    wall = time.perf_counter() - started
    summary, records = evaluate(items, attempts, settings.aggregate)
    latencies = [
        a.latency_s for tries in attempts for a in tries if a.latency_s is not None and a.error is None
    ]
    failed_calls = sum(a.error is not None for tries in attempts for a in tries)
    completion_tokens = [
        a.completion_tokens for tries in attempts for a in tries if a.completion_tokens is not None
    ]
    out = {
        **summary.model_dump(),
        "model": settings.model,
        "benchmark": settings.benchmark,
        "settings": settings.model_dump(),
        "timings": {
            "started_at": started_at,
            "wall_s": round(wall, 3),
            "calls": total,
            "failed_calls": failed_calls,
            "mean_latency_s": round(sum(latencies) / len(latencies), 3) if latencies else None,
            "calls_per_s": round(total / wall, 3) if wall > 0 else None,
            "mean_completion_tokens": round(sum(completion_tokens) / len(completion_tokens), 1)
            if completion_tokens
            else None,
        },
    }
    return out, records


class _progress:
    """A rich progress bar on stderr (or nothing), as a context manager yielding a tick function."""

    def __init__(self, total: int, settings: Settings, *, enabled: bool) -> None:
        self.total, self.settings, self.enabled = total, settings, enabled
        self.bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.console import Console

        from eval.progress import progress_bar

        self.bar = progress_bar(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(f"{self.settings.model} on {self.settings.benchmark}", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------------------------------
# Output


def write_results(out_dir: Path, summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    """Write ``summary.json`` and ``items.jsonl`` into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with (out_dir / "items.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_summary(summary: dict[str, Any], out_dir: Path | None = None) -> None:
    """Print the accuracy table (overall, then per group) with rich."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{summary['model']} on {summary['benchmark']}")
    for column in ("accuracy", "n", "scored", "correct", "format ok", "unparseable", "errors", "wall s"):
        table.add_column(column, justify="right")
    table.add_row(
        _pct(summary["accuracy"]),
        str(summary["n"]),
        str(summary["scored"]),
        str(summary["correct"]),
        _pct(summary["format_ok_rate"]),
        str(summary["unparseable"]),
        str(summary["errors"]),
        f"{summary['timings']['wall_s']:.1f}",
    )
    console.print(table)
    for name, values in summary["groups"].items():
        if len(values) < 2:
            continue
        grouped = Table(title=f"by {name}")
        grouped.add_column(name)
        grouped.add_column("accuracy", justify="right")
        grouped.add_column("n", justify="right")
        for value, accuracy in values.items():
            grouped.add_row(value, _pct(accuracy), str(summary["group_counts"][name][value]))
        console.print(grouped)
    if summary["errors"]:
        console.print(f"[red]{summary['errors']} unit(s) had failed model calls and were not scored[/red]")
    if out_dir is not None:
        console.print(f"results in {out_dir}")


# --------------------------------------------------------------------------------------------------
# CLI


def default_max_tokens(items: Sequence[MCQItem], sip: bool) -> int:
    """The reply budget: SIP reasoning, else a letter (a few words when any item is free text)."""
    if sip:
        return SIP_MAX_TOKENS
    return FREE_TEXT_PLAIN_MAX_TOKENS if any(not it.options for it in items) else PLAIN_MAX_TOKENS


def parse_model_spec(spec: str) -> tuple[str, bool]:
    """``"sip:MODEL"`` -> ``("MODEL", True)``; anything else -> ``(spec, False)``."""
    spec = spec.strip()
    sip = spec.startswith("sip:")
    model = spec[len("sip:") :].strip() if sip else spec
    if not model or any(ch.isspace() for ch in model):
        raise ValueError(f"bad model spec {spec!r}: expected local, sip:MODEL or a litellm model string")
    return model, sip


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m eval.mcq`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.mcq",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="local, sip:MODEL, or a litellm model string")
    parser.add_argument(
        "--benchmark",
        required=True,
        help="tombench, tombench-hard, hi-tom, emobench-ea, "
        "emobench-eu, socialiqa, simpletom, motivebench, tactfultom, tom-rl, jsonl, generated",
    )
    parser.add_argument("--data", type=Path, help="data file or folder (default: the shared data copy)")
    parser.add_argument("--limit", type=int, help="at most N units (first N; with --sample a seeded sample)")
    parser.add_argument("--sample", action="store_true", help="with --limit: a seeded random sample")
    parser.add_argument("--n", type=int, help="generated: number of items (default 100)")
    parser.add_argument(
        "--seed", type=int, default=0, help="generator, shuffles and sampling seed (default 0)"
    )
    parser.add_argument("--runs", type=int, help="times each item is asked (default: 5 for ToMBench, else 1)")
    parser.add_argument(
        "--shuffle",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="shuffle options per run (default: on for ToMBench only)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight (default 8)")
    parser.add_argument(
        "--max-tokens",
        type=int,
        help=f"default {SIP_MAX_TOKENS} for sip models, {PLAIN_MAX_TOKENS} for plain ones",
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    parser.add_argument(
        "--retries", type=int, default=4, help="attempts per call for transient errors (default 4)"
    )
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    parser.add_argument("--out", type=Path, help="output folder (default runs/mcq-<benchmark>-<timestamp>)")
    parser.add_argument("--language", help="tombench, emobench-*: en (default), zh (emobench: all)")
    parser.add_argument("--prompting-type", help="hi-tom: CoTP (default), VP, or all")
    parser.add_argument("--split", help="socialiqa (dev), tom-rl (test): which file of a folder")
    parser.add_argument("--labels", type=Path, help="socialiqa: the labels file (default: <data>-labels.lst)")
    return parser


def _loader_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.benchmark == "generated":
        options = {"n": 100 if args.n is None else args.n, "seed": args.seed}
    elif args.n is not None:
        raise BenchmarkError("--n is only for --benchmark generated (use --limit to cap other benchmarks)")
    if args.language is not None:
        options["language"] = args.language
    if args.prompting_type is not None:
        options["prompting_type"] = None if args.prompting_type == "all" else args.prompting_type
    if args.split is not None:
        options["split"] = args.split
    if args.labels is not None:
        options["labels"] = args.labels
    return options


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m eval.mcq``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("limit", "runs", "concurrency", "max_tokens", "n"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _fail(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.retries < 1:
        return _fail(f"--retries must be at least 1, got {args.retries}")
    try:
        model, sip = parse_model_spec(args.model)
        benchmark = get_benchmark(args.benchmark)
        options = _loader_options(args)
        items = select_units(
            load_benchmark(args.benchmark, args.data, **options),
            args.limit,
            sample=args.sample,
            seed=args.seed,
        )
    except (BenchmarkError, ValueError) as exc:
        return _fail(str(exc))
    settings = Settings(
        model=args.model,
        benchmark=args.benchmark,
        data=str(args.data) if args.data else None,
        sip=sip,
        runs=args.runs or benchmark.runs,
        shuffle=benchmark.shuffle if args.shuffle is None else args.shuffle,
        orders=[list(o) for o in benchmark.orders],
        aggregate=benchmark.aggregate,
        seed=args.seed,
        limit=args.limit,
        sample=args.sample,
        concurrency=args.concurrency,
        temperature=args.temperature,
        max_tokens=args.max_tokens or default_max_tokens(items, sip),
        api_base=args.api_base,
        loader_options={k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
    )
    try:
        endpoint = resolve_endpoint(model, args.api_base)
    except ValueError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the embedded server failed to start (missing package, port, ...)
        return _fail(f"cannot reach model {model!r}: {exc}", 1)
    import litellm  # noqa: F401  (imported here, slow the first time, so that timings measure the calls)

    # SIP prompts start inside <think> where the backend can continue a begun reply, as in training
    prefill = THINK_PREFILL if sip and endpoint.backend == "transformers" else ""
    answer_fn = model_answer_fn(
        endpoint,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens or 0,
        retry=RetryPolicy(max_attempts=args.retries),
        prefill=prefill,
    )
    summary, records = asyncio.run(run_benchmark(items, answer_fn, settings, progress=sys.stderr.isatty()))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or Path("runs") / f"mcq-{args.benchmark}-{stamp}"
    write_results(out_dir, summary, records)
    print_summary(summary, out_dir)
    if summary["scored"] == 0 and summary["errors"]:
        first = next((a["error"] for r in records for a in r["attempts"] if a["error"]), "")
        return _fail(f"every model call failed; first error: {first}", 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
