"""Training throughput of the policy on this machine: forward + backward tokens/s by precision and method.

    python bench/train_throughput.py                         # embedded SmolLM2-135M, 4 x 512 tokens
    python bench/train_throughput.py --batch 8 --tokens 384 --repeats 3

For each setting (fp32 / bf16 autocast; all weights / LoRA; gradient checkpointing on / off) it
times an untimed warm-up pass and then ``--repeats`` forward+backward passes of a random batch,
and prints tokens per second and peak RSS growth. These are the numbers that set the floor of a
CPU training step: tokens per step divided by this rate.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    """Time each setting and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="local")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table
    from transformers import AutoModelForCausalLM

    from training.grpo import resolve_policy

    path = resolve_policy(args.model)
    table = Table(title=f"forward+backward, batch {args.batch} x {args.tokens} tokens, {torch.get_num_threads()} threads")
    for column in ("precision", "weights", "checkpointing", "s / pass", "tokens/s", "peak RSS MB"):
        table.add_column(column, justify="right")
    settings = [
        ("fp32", "all", False), ("fp32", "all", True), ("bf16", "all", False), ("fp32", "lora", False), ("bf16", "lora", False),
    ]  # fmt: skip
    for precision, weights, checkpointing in settings:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        if weights == "lora":
            from peft import LoraConfig, get_peft_model

            model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
        if checkpointing:
            model.gradient_checkpointing_enable()
        model.train()
        ids = torch.randint(0, model.config.vocab_size, (args.batch, args.tokens))

        def one_pass(model: Any = model, ids: Any = ids, bf16: bool = precision == "bf16") -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            model.zero_grad(set_to_none=True)

        one_pass()  # warm-up, untimed
        started = time.perf_counter()
        for _ in range(args.repeats):
            one_pass()
        seconds = (time.perf_counter() - started) / args.repeats
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        table.add_row(
            precision, weights, "on" if checkpointing else "off", f"{seconds:.2f}",
            f"{args.batch * args.tokens / seconds:.0f}", f"{peak:.0f}",
        )  # fmt: skip
        del model, one_pass
    Console().print(table)
    print("peak RSS is the process maximum so far (it only grows down the table)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
