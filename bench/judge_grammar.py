"""What the judge's output shape costs: latency and validity by reasoning cap and entry form.

    python bench/judge_grammar.py [--judge local] [--episodes 2] [--caps 300 none] [--dimensions goal]
    python bench/judge_grammar.py --dimensions all --caps 300 --forms object pair
    python bench/judge_grammar.py --store runs/x/episodes.sqlite --episodes 4 --dimensions all --forms object pair

The judge asks for JSON under a schema; on llama.cpp the schema becomes a sampling grammar, and
a ``maxLength`` on each reasoning string becomes one grammar rule per character position. This
plays ``--episodes`` fixed scripted episodes (no model needed to play), judges each of them once
per cap and entry form (``pair``: ``["reasoning", N]``; ``object``: ``{"reasoning": ..., "score": N}``),
and prints per variant: valid judgements, mean latency, mean output length and the scores (after one untimed
warm-up call).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

# run as a script from a checkout: the repository root is importable even without `pip install -e .`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LINES_A = [
    "Hi! I was hoping we could talk about the weekend plans.",
    "I understand, but I already promised my sister I would help her move.",
    "Could we do Sunday afternoon instead? I can bring lunch.",
]
LINES_B = [
    "Sure, what is on your mind?",
    "Oh. I was really counting on you for Saturday.",
    "Sunday works. Thanks for offering, that helps a lot.",
]


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive whole number")
    return int(text)


def _cap(text: str) -> int | None:
    if text.lower() == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cap: give a positive number of characters or 'none'")
    return int(text)


async def _run(args: argparse.Namespace) -> list[dict[str, object]]:
    from agents.scripted import ScriptedAgent
    from envs.runner import run_episode
    from eval.judge import SotopiaJudge
    from scenarios import load_library, sample_setups

    if args.store:
        from eval.store import EpisodeStore

        if not args.store.is_file():
            raise SystemExit(f"--store {args.store}: no such file (give a run's episodes.sqlite)")
        store = EpisodeStore(args.store)
        try:
            episodes = store.episodes(status="finished")[: args.episodes]
        finally:
            store.close()
        if not episodes:
            raise SystemExit(f"--store {args.store}: no finished episodes in it")
    else:
        library = load_library()
        setups = sample_setups(library, scenario_id=list(library.scenarios)[: args.episodes], n=1, seed=args.seed)
        episodes = [
            await run_episode(setup, [ScriptedAgent(LINES_A), ScriptedAgent(LINES_B)], {"max_turns": 6})
            for setup in setups
        ]
    rows: list[dict[str, object]] = []
    # one untimed call first, so no cap is charged for starting the embedded server
    await SotopiaJudge(args.judge, api_base=args.api_base, dimensions="goal").aevaluate(episodes[0])
    for form, cap in [(form, cap) for form in args.forms for cap in args.caps]:
        judge = SotopiaJudge(
            args.judge, api_base=args.api_base, dimensions=args.dimensions, reasoning_chars=cap, verdict_form=form
        )
        for episode in episodes:
            started = time.perf_counter()
            result = await judge.aevaluate(episode)
            rows.append(
                {
                    "variant": f"{form}, cap {'none' if cap is None else cap}",
                    "ok": result.ok,
                    "attempts": result.attempts,
                    "seconds": time.perf_counter() - started,
                    "chars": len(result.raw_text or ""),
                    "goal": [s["goal"].score for s in result.scores.values() if "goal" in s] if result.ok else None,
                }
            )
            print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Judge the fixed episodes under each cap and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--judge", default="local", help="judge model spec (default: the embedded model)")
    p.add_argument("--api-base")
    p.add_argument("--episodes", type=_positive, default=2, help="built-in scenarios to play, one episode each")
    p.add_argument(
        "--store",
        type=Path,
        default=None,
        help="judge the first --episodes finished episodes of this episodes.sqlite (e.g. an eval.interactive "
        "run) instead of playing scripted ones",
    )
    p.add_argument("--caps", nargs="+", type=_cap, default=[300, None], help="reasoning caps in characters, or 'none'")
    p.add_argument("--forms", nargs="+", choices=["pair", "object"], default=["pair"], help="entry forms")
    p.add_argument("--dimensions", default="goal")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rows = asyncio.run(_run(args))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"judge {args.judge}: {args.episodes} episodes, dimensions {args.dimensions}")
    for column in ("form, reasoning cap", "valid", "mean attempts", "mean s", "max s", "mean output chars", "goal scores"):
        table.add_column(column, justify="right")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        seconds = [float(r["seconds"]) for r in mine]  # type: ignore[arg-type]
        table.add_row(
            str(variant),
            f"{sum(bool(r['ok']) for r in mine)}/{len(mine)}",
            f"{statistics.mean(int(r['attempts']) for r in mine):.1f}",  # type: ignore[call-overload]
            f"{statistics.mean(seconds):.1f}",
            f"{max(seconds):.1f}",
            f"{statistics.mean(int(r['chars']) for r in mine):.0f}",  # type: ignore[call-overload]
            " ".join(str(r["goal"]) for r in mine),
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
