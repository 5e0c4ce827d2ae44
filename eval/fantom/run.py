"""Run a model on FanToM and score it: ``python -m eval.fantom``.

    python -m eval.fantom --model openai/gpt-4o --data ~/data/fantom --out runs/fantom
    python -m eval.fantom --model sip:local --data tests/fixtures/fantom --limit 2 --embedder none

Every question is asked once with FanToM's prompt (the conversation, then the question; belief
questions also as a two-way choice). ``sip:MODEL`` asks for SIP reasoning and reads the
``<Answer>``. Free-response belief answers are judged by ``--embedder`` (FanToM's
sentence-embedding metric, from local files only; default its own model) or ``--llm-judge MODEL``;
with neither available those scores say "unavailable". Calls run concurrently with retries; a call
that fails for good is an error, never a wrong answer. Replies are kept in ``OUT/replies/`` (a
:class:`~agents.client.ResponseCache`): rerunning the same command asks only what is missing.

Writes ``OUT/summary.json`` (settings, every score with its protocol, timings) and
``OUT/items.jsonl`` (per question: prompt, reply, verdict).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.client import ChatResult, LLMCallError, ResponseCache, RetryPolicy, resolve_endpoint
from agents.sip import SIP, THINK_PREFILL
from eval.benchmarks.errors import BenchmarkError
from eval.fantom.data import ContextType, FantomQuestion, FantomSet, flatten, load_fantom
from eval.fantom.judges import PUBLISHED_EMBEDDER, BeliefCase, BeliefJudge, build_judge
from eval.fantom.metrics import AggregationTarget, Judgement, judge_reply, parse_reply, score
from eval.mcq import AnswerFn, model_answer_fn, parse_model_spec, write_results

PLAIN_MAX_TOKENS = 96
SIP_MAX_TOKENS = 256
REPLIES_DIR = "replies"
_ANSWER_SPECS = {
    "belief_choice": "The answer is your choice, written as (a) or (b).",
    "list": "The answer names the characters, separated by commas.",
    "binary": "The answer is yes or no.",
    "free": "The answer is one short sentence.",
}


class FantomSettings(BaseModel):
    """How a FanToM run was made (stored in ``summary.json``)."""

    model: str
    data: str | None = None
    sip: bool = False
    context: ContextType = "short"
    aggregation: AggregationTarget = "set"
    seed: int = 99
    limit: int | None = None
    sample: bool = False
    concurrency: int = 8
    temperature: float = 0.0
    max_tokens: int | None = None
    api_base: str | None = None
    judge: str = Field("", description="protocol of the free-response belief judge")


def select_sets(
    sets: Sequence[FantomSet], limit: int | None, *, sample: bool = False, seed: int = 0
) -> list[FantomSet]:
    """At most ``limit`` sets: the first ones, or a seeded sample kept in file order."""
    if limit is None:
        return list(sets)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not sample:
        return list(sets[:limit])
    chosen = set(random.Random(seed).sample(range(len(sets)), min(limit, len(sets))))
    return [s for i, s in enumerate(sets) if i in chosen]


def _answer_spec(question: FantomQuestion) -> str:
    if question.kind == "belief_choice":
        return _ANSWER_SPECS["belief_choice"]
    if question.kind.endswith("_list"):
        return _ANSWER_SPECS["list"]
    if question.kind.endswith("_binary"):
        return _ANSWER_SPECS["binary"]
    return _ANSWER_SPECS["free"]


def messages_for(question: FantomQuestion, *, sip: bool) -> list[dict[str, str]]:
    """The published prompt as one user turn; SIP models get the SIP instructions as the system turn."""
    if not sip:
        return [{"role": "user", "content": question.prompt}]
    spec = _answer_spec(question)
    return [
        {"role": "system", "content": SIP.instructions("mcq", answer_spec=spec)},
        {
            "role": "user",
            "content": f"{question.prompt}\n\n(Give the answer inside <Answer></Answer>. {spec})",
        },
    ]


class Asked(BaseModel):
    """One question's call."""

    output: str | None = None
    error: str | None = None
    format_ok: bool | None = None
    latency_s: float | None = None
    completion_tokens: int | None = None


async def ask_all(
    questions: Sequence[FantomQuestion],
    answer_fn: AnswerFn,
    *,
    sip: bool,
    concurrency: int = 8,
    on_done: Callable[[], None] | None = None,
) -> list[Asked]:
    """Ask every question once, ``concurrency`` calls at a time; only :class:`LLMCallError` is caught."""
    gate = asyncio.Semaphore(concurrency)

    async def one(question: FantomQuestion) -> Asked:
        asked = Asked()
        async with gate:
            try:
                reply = await answer_fn(messages_for(question, sip=sip))
            except LLMCallError as exc:
                asked.error = str(exc)
                reply = None
        if isinstance(reply, ChatResult):
            asked.output, asked.latency_s, asked.completion_tokens = (
                reply.text,
                reply.latency_s,
                reply.completion_tokens,
            )
        elif reply is not None:
            asked.output = reply
        if asked.output is not None and sip:
            asked.format_ok = SIP.check(asked.output).ok
        if on_done is not None:
            on_done()
        return asked

    return list(await asyncio.gather(*(one(q) for q in questions)))


def answer_text(output: str, *, sip: bool) -> str:
    """The answer a reply gives: the ``<Answer>`` of a SIP reply, then FanToM's ``Answer:`` split."""
    return parse_reply(SIP.parse_answer(output) if sip else output)


async def run_fantom(
    questions: Sequence[FantomQuestion],
    answer_fn: AnswerFn,
    settings: FantomSettings,
    judge: BeliefJudge,
    *,
    on_done: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask, judge and score ``questions``; returns the ``summary.json`` content and the item records."""
    started = time.perf_counter()
    asked = await ask_all(
        questions, answer_fn, sip=settings.sip, concurrency=settings.concurrency, on_done=on_done
    )
    answers = [answer_text(a.output, sip=settings.sip) if a.output is not None else None for a in asked]
    cases = [
        BeliefCase(id=q.id, question=q.question, reply=answer, correct=str(q.correct), wrong=str(q.wrong))
        for q, answer in zip(questions, answers, strict=True)
        if q.kind == "belief_dist" and answer is not None
    ]
    verdicts = dict(zip((c.id for c in cases), await judge.judge(cases), strict=True))
    judgements: list[Judgement] = []
    for q, a, answer in zip(questions, asked, answers, strict=True):
        if answer is None:
            judgements.append(Judgement(id=q.id, failed=True, error=a.error))
            continue
        verdict = verdicts.get(q.id)
        j = judge_reply(q, answer, verdict.right if verdict is not None else None)
        if verdict is not None and verdict.right is None:
            j.error = verdict.error
        judgements.append(j)
    scores = score(
        questions, judgements, belief_protocol=judge.protocol, belief_comparable=judge.comparable,
        belief_available=judge.available, target=settings.aggregation,
    )  # fmt: skip
    wall = time.perf_counter() - started
    format_flags = [a.format_ok for a in asked if a.format_ok is not None]
    summary = {
        "model": settings.model,
        "benchmark": "fantom",
        "settings": settings.model_dump(),
        "sets": len({q.set_id for q in questions}),
        "format_ok_rate": sum(format_flags) / len(format_flags) if format_flags else None,
        "scores": scores.model_dump(mode="json"),
        "timings": {"wall_s": round(wall, 3), "calls": len(questions), "failed_calls": scores.errors},
    }
    records = [
        {
            "id": q.id, "set_id": q.set_id, "kind": q.kind, "question_type": q.question_type,
            "scenario": q.scenario, "tom_type": q.tom_type, "prompt": messages_for(q, sip=settings.sip),
            "correct": q.correct, "wrong": q.wrong, "choices": q.choices, "output": a.output, "answer": answer,
            "format_ok": a.format_ok, **j.model_dump(exclude={"id"}),
            "judge": verdicts[q.id].detail if q.id in verdicts else None,
        }
        for q, a, answer, j in zip(questions, asked, answers, judgements, strict=True)
    ]  # fmt: skip
    return summary, records


HEADLINE = (
    ("all_star", "All*"), ("all", "All"), ("belief_choice", "BeliefQ [Choice]"), ("belief_dist", "BeliefQ [Dist.]"),
    ("belief_token_f1", "BeliefQ token-F1"), ("answerability_all", "All AnswerabilityQ"),
    ("answerability_list", "AnswerabilityQ [List]"), ("answerability_binary_f1", "AnswerabilityQ [Y/N]"),
    ("info_all", "All Info-AccessQ"), ("info_list", "Info-AccessQ [List]"), ("info_binary_f1", "Info-AccessQ [Y/N]"),
    ("belief_token_f1_all", "BeliefQ token-F1, all replies (ours)"),
)  # fmt: skip
"""FanToM's leaderboard columns, in its order (plus our always-available token F1)."""


def print_summary(summary: dict[str, Any], out_dir: Path | None = None) -> None:
    """The FanToM table (false-belief task and control) with each number's protocol."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    scores = summary["scores"]
    table = Table(
        title=f"{summary['model']} on FanToM ({summary['sets']} sets, {summary['settings']['context']} input)"
    )
    for column in ("score", "FanToM", "control", "n", "protocol"):
        table.add_column(column, justify="left" if column in ("score", "protocol") else "right")
    for key, label in HEADLINE:
        main_metric, control = scores["fantom"]["metrics"][key], scores["control"]["metrics"][key]
        cell = lambda m: "unavailable" if m["value"] is None else f"{100 * m['value']:.1f}"  # noqa: E731
        protocol = main_metric["protocol"] + ("" if main_metric["comparable"] else "  [not comparable]")
        table.add_row(label, cell(main_metric), cell(control), str(main_metric["n"]), protocol)
    fact = scores["fact_token_f1"]
    table.add_row("FactQ token-F1", "-" if fact["value"] is None else f"{100 * fact['value']:.1f}", "",
                  str(fact["n"]), fact["protocol"])  # fmt: skip
    console.print(table)
    if scores["errors"]:
        console.print(f"[red]{scores['errors']} question(s) had failed model calls and were not scored[/red]")
    if out_dir is not None:
        console.print(f"results in {out_dir}")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m eval.fantom`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.fantom",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="local, sip:MODEL, or a litellm model string")
    parser.add_argument("--data", type=Path, required=True, help="fantom_v1.json or the folder holding it")
    parser.add_argument("--out", type=Path, required=True, help="output folder; rerun into it to resume")
    parser.add_argument(
        "--context", choices=["short", "full"], default="short", help="conversation input (short)"
    )
    parser.add_argument(
        "--aggregation",
        choices=["set", "part", "conversation"],
        default="set",
        help="unit of the All scores (set, as published)",
    )
    parser.add_argument(
        "--limit", type=int, help="at most N question sets (first N; with --sample a seeded sample)"
    )
    parser.add_argument("--sample", action="store_true", help="with --limit: a seeded random sample")
    parser.add_argument("--seed", type=int, default=99, help="choice order and sampling seed (default 99)")
    parser.add_argument(
        "--embedder",
        default=PUBLISHED_EMBEDDER,
        help=f"sentence-transformers model for free responses, local files only (default "
        f"{PUBLISHED_EMBEDDER}); 'none' to skip",
    )
    parser.add_argument(
        "--llm-judge", help="judge free responses with this model instead (not the paper's metric)"
    )
    parser.add_argument("--judge-api-base", help="OpenAI-compatible server of the LLM judge")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight (default 8)")
    parser.add_argument(
        "--max-tokens",
        type=int,
        help=f"default {SIP_MAX_TOKENS} for sip models, {PLAIN_MAX_TOKENS} for plain ones",
    )
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument(
        "--retries", type=int, default=4, help="attempts per call for transient errors (default 4)"
    )
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    return parser  # fmt: skip


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def make_answer_fn(
    model: str, sip: bool, settings: FantomSettings, cache: ResponseCache, retries: int
) -> AnswerFn:
    """The model's answer function, answering from ``cache`` where it can."""
    endpoint = resolve_endpoint(model, settings.api_base)
    prefill = THINK_PREFILL if sip and endpoint.backend == "transformers" else ""
    ask = model_answer_fn(endpoint, temperature=settings.temperature, max_tokens=settings.max_tokens or 0,
                          retry=RetryPolicy(max_attempts=retries), prefill=prefill)  # fmt: skip
    return cache.wrap(ask, settings.model, temperature=settings.temperature, max_tokens=settings.max_tokens,
                      prefill=prefill)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m eval.fantom``; returns the exit status."""
    args = build_parser().parse_args(argv)
    for name in ("limit", "concurrency", "max_tokens", "retries"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _fail(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    try:
        model, sip = parse_model_spec(args.model)
        sets = select_sets(load_fantom(args.data), args.limit, sample=args.sample, seed=args.seed)
        questions = flatten(sets, context=args.context, seed=args.seed)
        judge = build_judge(args.embedder, args.llm_judge, api_base=args.judge_api_base, seed=args.seed)
    except (BenchmarkError, ValueError) as exc:
        return _fail(str(exc))
    settings = FantomSettings(
        model=args.model, data=str(args.data), sip=sip, context=args.context, aggregation=args.aggregation,
        seed=args.seed, limit=args.limit, sample=args.sample, concurrency=args.concurrency,
        temperature=args.temperature, max_tokens=args.max_tokens or (SIP_MAX_TOKENS if sip else PLAIN_MAX_TOKENS),
        api_base=args.api_base, judge=judge.protocol,
    )  # fmt: skip
    cache = ResponseCache(args.out / REPLIES_DIR)
    try:
        answer_fn = make_answer_fn(model, sip, settings, cache, args.retries)
    except ValueError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the embedded server failed to start
        return _fail(f"cannot reach model {model!r}: {exc}", 1)
    summary, records = asyncio.run(run_fantom(questions, answer_fn, settings, judge))
    summary["timings"].update(asked=cache.stored, reused=cache.hits)
    write_results(args.out, summary, records)
    print_summary(summary, args.out)
    if summary["scores"]["errors"] == len(questions):
        return _fail("every model call failed; see items.jsonl", 1)
    return 0
