"""``python -m training.sft``: the SIP warm-up, supervised fine-tuning (TRL ``SFTTrainer``) before GRPO.

A small policy rarely writes ``<think>`` ... ``</think><Answer>`` on its own, so GRPO's format
and accuracy terms start with no variance to learn from. The warm-up teaches the format on
written SIP traces (:mod:`training.sft_data`): generated theory-of-mind items whose four stages
are grounded in the story and end in the gold letter, and first social turns with reasoning and
an act. Each example is tokenized exactly as the GRPO rollout tokenizes a policy turn (the same
chat template, the think prefill in the prompt), and only the completion is trained on.

Examples::

    python -m training.sft --output-dir runs/sft                    # embedded model, CPU, minutes
    python -m training.grpo --env sotopia --model runs/sft/final     # GRPO from the warm-up
    python -m training.sft --model Qwen/Qwen3-0.6B --mcq-examples 4000 --social-examples 1000 --output-dir runs/sft-q

The result is a transformers checkpoint at ``DIR/final`` (with ``--lora``, the adapters merged into
it), usable as ``--model DIR/final`` for training and ``sip:DIR/final`` for evaluation. The warm-up
trains every weight unless ``sft_lora`` is set; GRPO's ``lora`` does not apply to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from training.config import PRESETS, TrainConfig, build_config, default_preset, has_cuda
from training.flags import add_model_flags, given_fields

SFT_FIELDS = (
    "model", "sft_mcq_examples", "sft_social_examples", "sft_epochs", "sft_batch_size", "sft_micro_batch_size", "sft_learning_rate",
    "sft_optim", "sft_seed", "sft_lora", "think_prefill", "tom_orders", "tom_rules", "tom_steps", "env", "seed", "heldout_seed",
)  # fmt: skip
"""The config fields the warm-up depends on (its cache key; nothing else changes its result)."""

SFT_LORA_FIELDS = ("lora_r", "lora_alpha", "lora_target_modules")
"""Fields the warm-up depends on only when it trains adapters (``sft_lora``)."""


def sft_settings(config: TrainConfig) -> dict[str, Any]:
    """The settings the warm-up's result depends on: :data:`SFT_FIELDS`, and the adapter shape with ``sft_lora``.

    GRPO's ``lora`` is not among them: switching it neither retrains the warm-up nor reuses one trained otherwise.
    """
    fields = SFT_FIELDS + (SFT_LORA_FIELDS if config.sft_lora else ())
    return {k: getattr(config, k) for k in fields}


def tom_config(config: TrainConfig) -> Any:
    """The ToM generator settings of a run (training items, warm-up traces and held-out items alike)."""
    from eval.tom_generator import ToMConfig

    return ToMConfig(
        orders=tuple(config.tom_orders), with_rules=config.tom_rules, n_steps=tuple(config.tom_steps)
    )


def check_seeds(config: TrainConfig) -> None:
    """Refuse a run whose training seeds are the held-out seed (generated items would overlap)."""
    for name in ("sft_seed", "seed"):
        if getattr(config, name) == config.heldout_seed:
            raise ValueError(
                f"{name}={getattr(config, name)} equals heldout_seed: training would see the held-out items; "
                f"pick another {name} or heldout_seed"
            )


def build_examples(config: TrainConfig) -> list[Any]:
    """The warm-up's examples (seeded; never from the held-out seed)."""
    from training.sft_data import sft_examples

    check_seeds(config)
    return sft_examples(
        config.sft_mcq_examples,
        config.sft_social_examples,
        config.sft_seed,
        tom_config(config),
        env=config.env or "sotopia",
    )


def tokenized_rows(examples: list[Any], tokenizer: Any, think_prefill: str) -> list[dict[str, list[int]]]:
    """``input_ids`` and ``completion_mask`` per example, built like a GRPO policy turn.

    prompt = chat template of the messages + the think prefill (mask 0); completion = the
    example's text + end of turn (mask 1). :class:`agents.chat_format.ChatTokens` is the one
    tokenization of both.
    """
    from agents.chat_format import ChatTokens

    chat = ChatTokens(tokenizer)
    prefill = list(tokenizer(think_prefill, add_special_tokens=False)["input_ids"]) if think_prefill else []
    end = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    rows = []
    for example in examples:
        prompt = chat.prompt(example.messages) + prefill
        completion = list(tokenizer(example.completion, add_special_tokens=False)["input_ids"]) + end
        rows.append(
            {"input_ids": prompt + completion, "completion_mask": [0] * len(prompt) + [1] * len(completion)}
        )
    return rows


def cache_key(config: TrainConfig, examples: list[Any]) -> str:
    """A hash of everything the warm-up's result depends on: settings, the examples' text, the libraries."""
    from importlib.metadata import version

    payload = {
        "settings": sft_settings(config),
        "examples": hashlib.sha256(
            json.dumps([[e.messages, e.completion] for e in examples]).encode()
        ).hexdigest(),
        "versions": [version("trl"), version("transformers")],  # read without importing torch
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def lora_config(config: TrainConfig, *, warmup: bool = False) -> Any:
    """PEFT's ``LoraConfig`` for GRPO with ``lora: true`` (the warm-up: ``sft_lora: true``), else None."""
    if not (config.sft_lora if warmup else config.lora):
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        target_modules=config.lora_target_modules,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )


def train_sft(config: TrainConfig, output_dir: Path, *, own_process: bool = False) -> Path:
    """Run the warm-up into ``output_dir``; return ``output_dir/final`` (a merged transformers checkpoint).

    ``own_process``: the process ends with the warm-up (the main job's child, the CLI), so
    ``sft_cpu_mmap_threshold_mib`` applies; glibc keeps the setting for the process's life, so a caller
    that trains GRPO next in the same process gets only ``cpu_mmap_threshold_mib``.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from training.grpo import resolve_policy

    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.jsonl").unlink(missing_ok=True)  # a rerun into the same folder starts a new log
    examples = build_examples(config)
    if not examples:
        raise ValueError("the warm-up has no examples: raise sft_mcq_examples or sft_social_examples")
    policy_path = resolve_policy(config.model)
    tokenizer = AutoTokenizer.from_pretrained(policy_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = tokenized_rows(examples, tokenizer, config.think_prefill)
    dataset = Dataset.from_list(rows)
    args = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.sft_epochs,
        per_device_train_batch_size=min(config.sft_micro_batch_size, config.sft_batch_size),
        gradient_accumulation_steps=max(1, config.sft_batch_size // config.sft_micro_batch_size),
        learning_rate=config.sft_learning_rate,
        optim=config.sft_optim,
        lr_scheduler_type="cosine",
        warmup_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=config.sft_seed,
        completion_only_loss=True,
        max_length=max(len(r["input_ids"]) for r in rows),
        use_cpu=not has_cuda(),
        bf16=config.bf16,
        disable_tqdm=True,
        gradient_checkpointing=config.gradient_checkpointing,
    )
    from training.allocator import map_large_blocks
    from training.lm_head import score_labelled_positions_only

    score_labelled_positions_only()
    threshold = (own_process and config.sft_cpu_mmap_threshold_mib) or config.cpu_mmap_threshold_mib
    if threshold and not has_cuda():
        map_large_blocks(threshold << 20)
    trainer = SFTTrainer(
        model=policy_path,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config, warmup=True),
    )
    from training.callbacks import MetricsJSONL

    trainer.add_callback(MetricsJSONL(output_dir / "metrics.jsonl"))
    started = time.perf_counter()
    trainer.train()
    model = trainer.model
    if config.sft_lora:
        model = model.merge_and_unload()
    final = output_dir / "final"
    model.save_pretrained(final, safe_serialization=True)
    tokenizer.save_pretrained(final)
    summary = {
        "examples": len(examples),
        "mcq": sum(e.kind == "mcq" for e in examples),
        "social": sum(e.kind == "social" for e in examples),
        "tokens": sum(len(r["input_ids"]) for r in rows),
        "trained_tokens": sum(sum(r["completion_mask"]) for r in rows),
        "steps": trainer.state.global_step,
        "seconds": round(time.perf_counter() - started, 1),
        "final_loss": next((h["loss"] for h in reversed(trainer.state.log_history) if "loss" in h), None),
        "settings": sft_settings(config),
    }
    (output_dir / "sft_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return final


def warmup_folder(config: TrainConfig, cache_dir: Path | None = None) -> Path:
    """Where the warm-up of ``config`` is cached: ``sft-<hash of its inputs>`` under the cache root."""
    from agents.local_model import default_cache_dir

    root = cache_dir or Path(os.environ.get("SOCIALGYM_WARMUP_CACHE") or default_cache_dir())
    return root / f"sft-{cache_key(config, build_examples(config))}"


def is_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a saved transformers model (config and safetensors weights)."""
    return (folder / "config.json").exists() and any(folder.glob("*.safetensors"))


def warmup_checkpoint_in_child(config: TrainConfig) -> Path:
    """:func:`warmup_checkpoint`, trained (when not cached) in a child process.

    The warm-up's model, optimizer state and activations then go back to the OS before GRPO loads
    its own: in one process they stayed in the allocator and added ~2 GB to the run's peak.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    final = warmup_folder(config) / "final"
    if is_checkpoint(final):
        print(f"SIP warm-up: cached at {final}", file=sys.stderr)
        return final
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(warmup_checkpoint, config, own_process=True).result()


def warmup_checkpoint(
    config: TrainConfig, cache_dir: Path | None = None, *, own_process: bool = False
) -> Path:
    """The warm-up's checkpoint for ``config``, trained once and reused while its inputs are unchanged.

    Cached under ``cache_dir``, else ``$SOCIALGYM_WARMUP_CACHE``, else the user cache (``~/.cache/socialgym``).
    """
    target = warmup_folder(config, cache_dir)
    final = target / "final"
    if is_checkpoint(final):
        print(f"SIP warm-up: cached at {final}", file=sys.stderr)
        return final
    print(f"SIP warm-up: training into {target} (cached for later runs)", file=sys.stderr)
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    result = train_sft(config, tmp, own_process=own_process)
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    return target / result.name


FLAG_ALIASES: dict[str, list[str]] = {
    "sft_mcq_examples": ["--mcq-examples"],
    "sft_social_examples": ["--social-examples"],
    "sft_epochs": ["--epochs"],
    "sft_batch_size": ["--batch-size"],
    "sft_learning_rate": ["--learning-rate", "--lr"],
    "sft_seed": ["--seed"],
    "sft_lora": ["--lora"],
}
"""This command's short flags for the warm-up's fields (``--lr`` is the warm-up's rate here, not GRPO's)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags: run options, then one flag per TrainConfig field (the sft_* ones matter here)."""
    p = argparse.ArgumentParser(
        prog="python -m training.sft",
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s --output-dir DIR [--preset NAME] [--config FILE] [SETTING FLAGS]",
    )
    p.add_argument("--output-dir", required=True, help="run folder; the checkpoint goes to DIR/final")
    p.add_argument("--preset", choices=PRESETS, help="defaults: cpu without CUDA, a100x8 with it")
    p.add_argument(
        "--config", help="YAML file of TrainConfig fields (applied over the preset; flags win over both)"
    )
    settings = p.add_argument_group(
        "settings", "TrainConfig fields (the YAML keys of --config and the presets)"
    )
    add_model_flags(settings, TrainConfig, aliases=FLAG_ALIASES, skip={"output_dir"})
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    args = parse_args(argv)
    flags = given_fields(args, TrainConfig)
    flags.pop("output_dir")  # this command's run folder (required), not a config setting
    try:
        config = build_config(
            args.preset or default_preset(),
            args.config,
            {k: v for k, v in flags.items() if v is not None},
            cleared=[k for k, v in flags.items() if v is None],
        )
        started = time.perf_counter()
        final = train_sft(config, Path(args.output_dir), own_process=True)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = json.loads((Path(args.output_dir) / "sft_summary.json").read_text())
    print(
        f"SIP warm-up: {summary['examples']} examples ({summary['mcq']} MCQ, {summary['social']} social), "
        f"{summary['steps']} steps in {(time.perf_counter() - started) / 60:.1f} min; final loss {summary['final_loss']}"
    )
    print(f"Checkpoint: {final}")
    print(f"Train:      python -m training.grpo --env sotopia --model {final}")
    print(
        f"Evaluate:   python -m eval.mcq --model sip:{final} --benchmark generated --n 50 --seed {config.heldout_seed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
