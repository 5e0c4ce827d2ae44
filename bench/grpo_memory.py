"""Peak memory of a training run, all its processes, by setting: the table behind the cpu preset's choices.

    python bench/grpo_memory.py                              # the cpu preset's GRPO on MCQ rows, 2 steps
    python bench/grpo_memory.py --env sotopia --steps 2      # social episodes too (embedded partner and judge)
    python bench/grpo_memory.py --variant base= --variant micro2="--micro-batch-size 2"
    python bench/grpo_memory.py --main-job --variant main=    # exactly `python -m training.grpo --env sotopia`
    python bench/grpo_memory.py --main-job --variant lora=--lora --variant full=--no-lora
    python bench/grpo_memory.py --main-job --fresh-warmup     # the warm-up trained inside the measured run
    python bench/grpo_memory.py --warmup-only --sft-epochs 0.2 --variant preset= --variant glibc="--config F"

Each variant runs ``python -m training.grpo`` as its own process (so peaks do not carry over) with
the shared flags plus the variant's, while a sampler adds up the resident memory of the process and
all its children (the embedded llama.cpp server included) every 0.2 s. Printed per variant: peak RSS
of the whole tree, peak of the trainer alone, wall time and mean step time (from metrics.jsonl).
Timings are only comparable on an otherwise idle machine; memory is. The warm-up cache is the user's
(``SOCIALGYM_WARMUP_CACHE``) unless ``--fresh-warmup`` gives each variant an empty one, so that its
peak covers the warm-up's child process too.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = [
    "preset=",
    "whole-batch=--micro-batch-size 0",
    "lora=--lora",
]


def tree_rss(pid: int) -> tuple[int, int, dict[str, int]]:
    """(resident bytes of ``pid`` and all its descendants, of ``pid`` alone, per process); 0s for a process that is gone.

    The per-process part names each process by its command (``training.grpo``, ``training.sft``'s
    spawned child, ``llama_cpp.server``...), so a peak can be put down to a phase of the run.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        own = root.memory_info().rss
        parts = {f"{pid} {_label(root)}": own}
        for child in root.children(recursive=True):
            try:
                parts[f"{child.pid} {_label(child)}"] = child.memory_info().rss
            except psutil.Error:
                continue
        return sum(parts.values()), own, parts
    except psutil.Error:
        return 0, 0, {}


def _label(process: object) -> str:
    """A short name for a process of the run: its ``-m`` module, or its script, or its executable."""
    try:
        args = process.cmdline()  # type: ignore[attr-defined]
    except Exception:
        return "?"
    if "-m" in args and args.index("-m") + 1 < len(args):
        return args[args.index("-m") + 1]
    if any("spawn_main" in a or "multiprocessing" in a for a in args):
        return "spawned child (warm-up)"
    return Path(args[1] if len(args) > 1 else args[0]).name if args else "?"


def measure(command: list[str], env: dict[str, str], interval_s: float = 0.2) -> dict[str, float]:
    """Run ``command``; return its peak tree and own RSS (GB), wall seconds and exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peaks = {"tree": 0, "own": 0}
    at_peak: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree, own, parts = tree_rss(process.pid)
            if tree > peaks["tree"]:
                at_peak.clear()
                at_peak.update(parts)
            peaks["tree"], peaks["own"] = max(peaks["tree"], tree), max(peaks["own"], own)
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        print(
            f"  exit {process.returncode}: {stderr.strip().splitlines()[-1] if stderr.strip() else ''}",
            file=sys.stderr,
        )
    return {
        "peak_tree_gb": peaks["tree"] / 1e9,
        "peak_trainer_gb": peaks["own"] / 1e9,
        "wall_s": time.perf_counter() - started,
        "exit": process.returncode,
        "at_peak_gb": {name: round(rss / 1e9, 3) for name, rss in at_peak.items()},
    }


def main(argv: list[str] | None = None) -> int:
    """Run each variant and print the table (and --json)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="policy checkpoint (default: the preset's warm-up, cached)")
    p.add_argument("--env", default="none", help="social env id, or none for MCQ rows only")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--prompts-per-step", type=int, default=2)
    p.add_argument(
        "--variant", action="append", help="NAME=EXTRA FLAGS (repeatable); default: preset, whole-batch, lora"
    )
    p.add_argument(
        "--main-job", action="store_true", help="run the main job as is (only --variant flags added)"
    )
    p.add_argument(
        "--warmup-only",
        action="store_true",
        help="measure the cpu preset's SIP warm-up alone (python -m training.sft); variants add its flags",
    )
    p.add_argument(
        "--sft-epochs", type=float, help="with --warmup-only: a fraction of the warm-up (e.g. 0.2)"
    )
    p.add_argument(
        "--fresh-warmup",
        action="store_true",
        help="an empty warm-up cache per variant: the SIP warm-up trains (in a child process) inside the measured run",
    )
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    base = [
        sys.executable, "-m", "training.grpo", "--env", args.env, "--mcq", "generated",
        "--max-steps", str(args.steps), "--num-generations", str(args.num_generations),
        "--prompts-per-step", str(args.prompts_per_step),
    ]  # fmt: skip
    if args.model:
        base += ["--model", args.model]
    if args.main_job:
        base = [sys.executable, "-m", "training.grpo", "--env", "sotopia"]
    if args.warmup_only:
        base = [sys.executable, "-m", "training.sft"]
        base += ["--epochs", str(args.sft_epochs)] if args.sft_epochs else []
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}
    rows = []
    for spec in args.variant or DEFAULT_VARIANTS:
        name, _, extra = spec.partition("=")
        with tempfile.TemporaryDirectory(prefix="grpo-memory-") as out:
            command = [*base, *shlex.split(extra), "--output-dir", out]
            print(f"{name}: {shlex.join(command[1:])}", file=sys.stderr)
            run_env = (
                {**env, "SOCIALGYM_WARMUP_CACHE": str(Path(out) / "warmup-cache")}
                if args.fresh_warmup
                else env
            )
            row = {"variant": name, "flags": extra, **measure(command, run_env)}
            metrics = Path(out) / "metrics.jsonl"
            steps = (
                [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
                if metrics.exists()
                else []
            )
            times = [s["step_time"] for s in steps if "step_time" in s]
            row["mean_step_s"] = sum(times) / len(times) if times else float("nan")
            # a warm-up trained in the run: its final loss, so a memory saving is not bought with learning
            summaries = sorted(Path(out).rglob("sft_summary.json"))
            row["warmup_loss"] = json.loads(summaries[0].read_text())["final_loss"] if summaries else None
            rows.append(row)
    if args.warmup_only:
        title = f"the cpu preset's SIP warm-up: python -m training.sft, {args.sft_epochs or 'all'} epochs"
    elif args.main_job:
        title = "the main job: python -m training.grpo --env sotopia" + (
            " (warm-up trained in the run)" if args.fresh_warmup else ""
        )
    else:
        title = (
            f"training.grpo --env {args.env}, {args.steps} steps, "
            f"{args.num_generations} x {args.prompts_per_step} rows per step"
        )
    table = Table(title=title)
    for column in (
        "variant",
        "extra flags",
        "peak RSS, all processes (GB)",
        "peak RSS, trainer (GB)",
        "mean step (s)",
        "warm-up final loss",
        "wall (s)",
        "exit",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["variant"], row["flags"] or "-", f"{row['peak_tree_gb']:.2f}", f"{row['peak_trainer_gb']:.2f}",
            f"{row['mean_step_s']:.0f}", "-" if row["warmup_loss"] is None else f"{row['warmup_loss']:.3f}",
            f"{row['wall_s']:.0f}", str(row["exit"]),
        )  # fmt: skip
    console = Console(width=max(Console().width, 140))
    console.print(table)
    for row in rows:
        parts = ", ".join(
            f"{name} {gb:.2f}" for name, gb in sorted(row["at_peak_gb"].items(), key=lambda kv: -kv[1])
        )
        console.print(f"{row['variant']}: at the peak (GB): {parts}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
