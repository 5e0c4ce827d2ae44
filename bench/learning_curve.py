"""Learning curve on generated ToM items only: does each reward term move over N GRPO steps?

    python bench/learning_curve.py --steps 20 [--model local] [--output-dir runs/curve]

Runs ``training.grpo`` with ``--env none --mcq generated`` (no partner, no judge), then prints one
row per step with every reward term's mean from ``metrics.jsonl``, and the first-vs-last-quarter
change of each term.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# run as a script from a checkout: the repository root is importable even without `pip install -e .`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TERMS = ("format", "structure", "content", "length", "accuracy")


def main(argv: list[str] | None = None) -> int:
    """Run the curve and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--model", default="local")
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--prompts-per-step", type=int, default=2)
    p.add_argument("--turn-tokens", type=int, default=160)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--think-prefill", default=None, help="passed to training.grpo ('none' to turn it off)")
    p.add_argument("--output-dir", default=f"runs/curve-{time.strftime('%Y%m%d-%H%M%S')}")
    args = p.parse_args(argv)

    from training.grpo import main as grpo_main

    started = time.perf_counter()
    code = grpo_main(
        [
            "--env", "none", "--mcq", "generated", "--model", args.model, "--max-steps", str(args.steps),
            "--num-generations", str(args.num_generations), "--prompts-per-step", str(args.prompts_per_step),
            "--turn-tokens", str(args.turn_tokens), "--learning-rate", str(args.learning_rate),
            "--output-dir", args.output_dir, "--report-to", "none", "--save-steps", str(10**6),
            *(["--think-prefill", args.think_prefill] if args.think_prefill is not None else []),
        ]
    )  # fmt: skip
    if code:
        return code
    rows = [json.loads(line) for line in (Path(args.output_dir) / "metrics.jsonl").read_text().splitlines()]
    print_table(rows, time.perf_counter() - started)
    return 0


def print_table(rows: list[dict], seconds: float) -> None:
    """Per-step means of each term, and the change from the first to the last quarter of the run."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"GRPO on generated ToM items: {len(rows)} steps in {seconds / 60:.1f} min")
    table.add_column("step", justify="right")
    for term in (*TERMS, "reward", "completion len"):
        table.add_column(term, justify="right")

    def cell(value: object) -> str:
        return "-" if not isinstance(value, int | float) else f"{value:.3f}"

    for row in rows:
        table.add_row(
            str(row["step"]),
            *(cell(row.get(f"rewards/{t}/mean")) for t in TERMS),
            cell(row.get("reward")),
            cell(row.get("completions/mean_length")),
        )
    quarter = max(1, len(rows) // 4)
    deltas = []
    for term in TERMS:
        key = f"rewards/{term}/mean"
        first = [r[key] for r in rows[:quarter] if isinstance(r.get(key), int | float)]
        last = [r[key] for r in rows[-quarter:] if isinstance(r.get(key), int | float)]
        if first and last:
            deltas.append(f"{term} {sum(first) / len(first):+.3f} -> {sum(last) / len(last):+.3f}")
    console = Console()
    console.print(table)
    console.print("first quarter -> last quarter: " + "; ".join(deltas))


if __name__ == "__main__":
    sys.exit(main())
