"""The SIP warm-up: its rows are tokenized like GRPO turns, its cache key moves with its inputs, and it trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.config import build_config


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from agents.local_model import local_policy_dir

    return AutoTokenizer.from_pretrained(local_policy_dir())


def _small(**overrides: Any) -> Any:
    values = {"sft_mcq_examples": 6, "sft_social_examples": 2, "sft_batch_size": 4, "sft_micro_batch_size": 2}
    return build_config("cpu", None, {**values, **overrides})


def test_training_seeds_may_not_be_the_heldout_seed() -> None:
    from training.sft import build_examples

    with pytest.raises(ValueError, match="heldout_seed"):
        build_examples(_small(sft_seed=1000, heldout_seed=1000))
    with pytest.raises(ValueError, match="heldout_seed"):
        from training.grpo import build_tasks

        build_tasks(_small(seed=5, heldout_seed=5, env=None))


@pytest.mark.slow
def test_rows_are_tokenized_like_a_grpo_turn(tokenizer: Any) -> None:
    from agents.sip import THINK_PREFILL, mcq_messages
    from training.rollout import ChatTokens
    from training.sft import build_examples, tokenized_rows

    config = _small()
    examples = build_examples(config)
    assert {e.kind for e in examples} == {"mcq", "social"}
    rows = tokenized_rows(examples, tokenizer, THINK_PREFILL)
    chat = ChatTokens(tokenizer)
    prefill = tokenizer(THINK_PREFILL, add_special_tokens=False)["input_ids"]
    for example, row in zip(examples, rows, strict=True):
        prompt_len = row["completion_mask"].index(1)
        assert row["input_ids"][:prompt_len] == chat.prompt(example.messages) + prefill
        assert row["input_ids"][-1] == tokenizer.eos_token_id and row["completion_mask"][-1] == 1
        assert tokenizer.decode(row["input_ids"][prompt_len:-1]) == example.completion
        if example.kind == "mcq":  # the very prompt the GRPO rollout builds for an MCQ item
            assert example.messages == mcq_messages(_item_of(example), sip=True)


def _item_of(example: Any) -> Any:
    from eval.tom_generator import ToMConfig, make_item

    _, seed, index = example.source_ids[0].rsplit("-", 2)
    config = _small()
    return make_item(int(seed), int(index), ToMConfig(orders=tuple(config.tom_orders), with_rules=config.tom_rules,
                                                      n_steps=tuple(config.tom_steps)))


@pytest.mark.slow
def test_cache_key_follows_settings_and_examples() -> None:
    from training.sft import build_examples, cache_key

    a = _small()
    key = cache_key(a, build_examples(a))
    assert key == cache_key(a, build_examples(a))
    b = _small(sft_learning_rate=1e-5)
    assert cache_key(b, build_examples(b)) != key
    c = _small(sft_seed=8)
    assert cache_key(c, build_examples(c)) != key
    d = _small(sft_optim="adamw_torch" if a.sft_optim == "adafactor" else "adafactor")
    assert cache_key(d, build_examples(d)) != key


@pytest.mark.slow
def test_sft_cli_writes_a_checkpoint_that_evaluation_and_training_accept(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agents.specs import build_agent
    from training.heldout import evaluate_items
    from training.sft import main

    config = tmp_path / "small.yaml"
    config.write_text("sft_micro_batch_size: 2\nsft_optim: adamw_torch\n")  # the preset's is adafactor
    out = tmp_path / "sft"
    code = main(["--output-dir", str(out), "--config", str(config), "--mcq-examples", "6", "--social-examples", "2",
                 "--batch-size", "4", "--lr", "1e-4"])  # fmt: skip
    assert code == 0
    final = out / "final"
    assert (final / "config.json").exists() and list(final.glob("*.safetensors"))
    summary = json.loads((out / "sft_summary.json").read_text())
    assert summary["examples"] == 8 and summary["steps"] == 2 and summary["trained_tokens"] > 0
    assert summary["settings"]["sft_optim"] == "adamw_torch"
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    # evaluation loads it as sip:PATH, the held-out evaluator as a transformers model
    agent = build_agent(f"sip:{final}")
    assert agent.label == f"sip:{final}"
    from eval.tom_generator import generate_items

    items = generate_items(2, seed=1000, with_rules=False, orders=(0,))
    model = AutoModelForCausalLM.from_pretrained(final)
    result = evaluate_items(model, AutoTokenizer.from_pretrained(final), items, think_prefill="<think>\n1. Cue Encoding:",
                            max_new_tokens=8)  # fmt: skip
    assert result.n == 2 and len(result.replies) == 2 and all(r.startswith("<think>") for r in result.replies)
    assert all(0 < t <= 8 for t in result.completion_tokens)


@pytest.mark.slow
def test_main_job_warms_up_once_then_reuses_the_cached_warmup(
    tmp_path: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cpu preset's path: warm-up (trained the first time, in a child process, cached by its inputs), then GRPO.

    ``capfd``: the warm-up's messages come from the child process's stderr.
    """
    from training.grpo import main

    monkeypatch.setenv("SOCIALGYM_WARMUP_CACHE", str(tmp_path / "cache"))  # a fresh cache, removed with tmp_path
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "sft_mcq_examples: 4\nsft_social_examples: 0\nsft_batch_size: 4\nsft_micro_batch_size: 2\n"
        "mcq_items: 8\nturn_tokens: 16\nnum_generations: 2\nprompts_per_step: 1\n"
    )
    common = ["--env", "none", "--mcq", "generated", "--config", str(config), "--max-steps", "1", "--report-to", "none"]
    assert main([*common, "--output-dir", str(tmp_path / "a")]) == 0
    first = capfd.readouterr().err
    assert "SIP warm-up: training into" in first
    assert main([*common, "--output-dir", str(tmp_path / "b")]) == 0
    second = capfd.readouterr().err
    assert "SIP warm-up: cached at" in second and "training into" not in second
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert saved["warmup"] is True and (tmp_path / "b" / "checkpoint-1").is_dir()
    assert len(list((tmp_path / "cache").glob("sft-*/final"))) == 1
