"""Speed and peak memory of one policy forward+backward by glibc mmap threshold (training/allocator.py).

    python bench/allocator_threshold.py                       # 2 rows x 554 tokens, default / 1 / 4 / 16 MiB
    python bench/allocator_threshold.py --rows 8 --thresholds 0 1 16

Each setting runs in its own process (the threshold is process-wide; 0 = glibc's dynamic default):
the embedded SmolLM2-135M policy with TRL's fused LM head scoring only the last 95 positions
(training/lm_head.py), gradient checkpointing, bf16 autocast, one forward and backward of a random
batch. Printed: wall seconds of the pass and the process's peak RSS. Run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PASS = """
import json, resource, sys, time, torch
sys.path.insert(0, {root!r})
from training.allocator import map_large_blocks
if {threshold}:
    assert map_large_blocks({threshold})
from transformers import AutoModelForCausalLM
from trl.trainer.utils import add_fused_lm_head
from training.grpo import resolve_policy
from training.lm_head import score_labelled_positions_only
score_labelled_positions_only()
model = AutoModelForCausalLM.from_pretrained(resolve_policy("local"), dtype=torch.float32)
add_fused_lm_head(model, outputs=("log_probs", "entropy"))
model.gradient_checkpointing_enable()
model.train()
ids = torch.randint(0, model.config.vocab_size, ({rows}, {tokens}), generator=torch.Generator().manual_seed(0))
labels = ids.clone()
labels[:, :-95] = -100
started = time.perf_counter()
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
out.log_probs[out.label_mask].mean().backward()
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}}))
"""


def main(argv: list[str] | None = None) -> int:
    """Run each threshold in a fresh process and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=2)
    p.add_argument("--tokens", type=int, default=554)
    p.add_argument("--thresholds", type=int, nargs="+", default=[0, 1, 4, 16], help="MiB; 0 = glibc default")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"forward+backward, {args.rows} rows x {args.tokens} tokens, compact LM head, bf16")
    for column in ("mmap threshold", "seconds", "peak RSS (GB)"):
        table.add_column(column, justify="right")
    for mib in args.thresholds:
        code = PASS.format(root=str(ROOT), threshold=mib << 20, rows=args.rows, tokens=args.tokens)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed", file=sys.stderr)
            return 1
        row = json.loads(done.stdout.strip().splitlines()[-1])
        table.add_row("glibc default" if mib == 0 else f"{mib} MiB", f"{row['seconds']:.1f}", f"{row['peak_gb']:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
