"""GRPO with LoRA: adapter checkpoints load wherever a policy checkpoint is loaded, and the warm-up ignores GRPO's lora.

A real GRPOTrainer step (TRL 1.16, our ``grpo_args``, ``lora_config`` and ``policy_for_trainer``) on
a tiny random Llama saves an adapter-only checkpoint; evaluation (``sip:PATH`` through the
transformers backend), training (``python -m training.grpo --model PATH``) and the learning curve
(:func:`agents.policy_checkpoint.load_policy_model`) must all give the model the trainer held.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.config import build_config


def _tiny_llama(vocab: int) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
    )  # fmt: skip
    return LlamaForCausalLM(config)


def _logits(model: Any, ids: Any) -> Any:
    import torch

    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with the embedded model's tokenizer and chat template, saved as a full checkpoint."""
    from transformers import AutoTokenizer

    from agents.local_model import local_policy_dir

    tokenizer = AutoTokenizer.from_pretrained(local_policy_dir())
    path = tmp_path_factory.mktemp("tiny") / "base"
    _tiny_llama(len(tokenizer)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def lora_run(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One real LoRA GRPO step with rewards that differ in the group; (its checkpoint, the trainer's model)."""
    from transformers import AutoTokenizer
    from trl import GRPOTrainer

    from eval.tom_generator import generate_items
    from training.grpo import grpo_args, policy_for_trainer
    from training.lm_head import score_labelled_positions_only
    from training.rewards import trl_reward_funcs
    from training.sft import lora_config
    from training.tasks import TaskRegistry

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    tasks = TaskRegistry()
    key = tasks.add_mcq(generate_items(1, seed=2))[0]
    gold = tasks[key].item.answer_letter  # type: ignore[union-attr]
    texts = [f"<Answer>{gold}</Answer>", f"<Answer>{'A' if gold != 'A' else 'B'}</Answer> and more"]

    def canned_rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
        return {
            "prompt_ids": [tokenizer("Where is the ball?", add_special_tokens=False)["input_ids"]] * 2,
            "completion_ids": ids,
            "logprobs": [[0.0] * len(i) for i in ids],
            "env_mask": [[1] * len(i) for i in ids],
            "policy_texts": [[t] for t in texts],
            "goal_score": [None] * 2,
            "scorable": [True] * 2,
        }

    config = build_config(
        "cpu", None,
        {"lora": True, "lora_r": 4, "lora_alpha": 8, "lora_learning_rate": 5e-2, "num_generations": 2,
         "prompts_per_step": 1, "max_steps": 1, "save_steps": 1, "bf16": False, "report_to": ["none"]},
    )  # fmt: skip
    out = tmp_path_factory.mktemp("lora-run")
    score_labelled_positions_only()
    trainer = GRPOTrainer(
        model=policy_for_trainer(str(tiny_dir)),
        reward_funcs=trl_reward_funcs(["accuracy", "length"]),
        args=grpo_args(config, out, world=1),
        train_dataset=tasks.dataset([key] * 4),
        processing_class=tokenizer,
        rollout_func=canned_rollout,
        peft_config=lora_config(config),
    )
    assert trainer.args.learning_rate == 5e-2  # lora_learning_rate, not the full fine-tuning rate
    trainer.train()
    return out / "checkpoint-1", trainer.model


@pytest.mark.slow
def test_a_lora_step_saves_adapters_that_evaluation_and_the_learning_curve_load_as_trained(
    tiny_dir: Path, lora_run: tuple[Path, Any]
) -> None:
    import torch

    from agents import hf_backend
    from agents.client import resolve_endpoint
    from agents.policy_checkpoint import adapter_base, is_adapter_checkpoint, load_policy_model
    from agents.specs import build_agent

    checkpoint, trained = lora_run
    assert is_adapter_checkpoint(checkpoint) and not (checkpoint / "config.json").exists()
    assert not list(checkpoint.glob("model*.safetensors")), "adapter checkpoints hold no full weights"
    assert adapter_base(checkpoint) == str(tiny_dir.resolve())
    ids = torch.tensor([[1, 5, 9, 200, 3000, 17, 42, 7]])
    expected = _logits(trained, ids)
    base = _logits(load_policy_model(tiny_dir), ids)
    assert (expected - base).abs().max() > 1e-4, "the step must have moved the adapters"

    # the learning curve (and every other caller) loads through this one function
    torch.testing.assert_close(_logits(load_policy_model(checkpoint), ids), expected, rtol=1e-4, atol=1e-5)
    # evaluation: sip:PATH resolves to the transformers backend, which serves the same model
    endpoint = resolve_endpoint(str(checkpoint))
    assert endpoint.backend == "transformers"
    served = hf_backend.load(hf_backend.source_of(endpoint))
    try:
        torch.testing.assert_close(_logits(served.model, ids), expected, rtol=1e-4, atol=1e-5)
        assert served.tokenizer.chat_template
        assert build_agent(f"sip:{checkpoint}").label == f"sip:{checkpoint}"
    finally:
        hf_backend.unload()


@pytest.mark.slow
def test_training_continues_from_an_adapter_checkpoint(
    tmp_path: Path, lora_run: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m training.grpo --model CHECKPOINT``: starts from the merged model; new adapters name it as their base."""
    import torch

    from agents.policy_checkpoint import adapter_base, base_chain, load_policy_model
    from training.grpo import main

    checkpoint, trained = lora_run
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "next"
    args = [
        "--model", str(checkpoint), "--env", "none", "--mcq", "generated", "--mcq-items", "4",
        "--max-steps", "1", "--num-generations", "2", "--prompts-per-step", "1", "--turn-tokens", "8",
        "--save-steps", "1", "--output-dir", "next", "--report-to", "none", "--lora", "--lora-lr", "1e-12",
    ]  # fmt: skip
    assert main(args) == 0
    second = out / "checkpoint-1"
    assert adapter_base(second) == str(checkpoint.resolve())
    assert base_chain(second)[-1] == str(Path(adapter_base(checkpoint)))
    # a 1e-12 learning rate leaves it where it started: the first run's trained model, not the tiny base
    ids = torch.tensor([[1, 5, 9, 200, 3000, 17, 42, 7]])
    torch.testing.assert_close(
        _logits(load_policy_model(second), ids), _logits(trained, ids), rtol=1e-4, atol=1e-5
    )
    saved = json.loads((out / "config.json").read_text())
    assert saved["lora"] is True and saved["model"] == str(checkpoint)


def test_an_adapter_checkpoint_whose_base_is_gone_is_refused_with_the_field_and_the_fix(
    tmp_path: Path,
) -> None:
    from agents import hf_backend
    from agents.policy_checkpoint import CheckpointError, load_policy_model

    run = tmp_path / "run"
    checkpoint = run / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    gone = tmp_path / "cache" / "sft-0123" / "final"
    (checkpoint / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(gone)}))
    # evaluation specs accept the adapter folder (and point to it from its run folder)
    assert hf_backend.checkpoint_source(str(checkpoint)) == str(checkpoint.resolve())
    with pytest.raises(ValueError, match="checkpoint-4"):
        hf_backend.checkpoint_source(str(run))
    with pytest.raises(CheckpointError, match=r"base_model_name_or_path .*sft-0123.* is not there any more"):
        load_policy_model(checkpoint)
    with pytest.raises(hf_backend.HFBackendError, match=r"adapter_config\.json"):
        hf_backend.load(str(checkpoint))
    (checkpoint / "adapter_config.json").write_text(json.dumps({"r": 4}))
    with pytest.raises(CheckpointError, match="base_model_name_or_path is empty"):
        load_policy_model(checkpoint)


def test_the_warm_up_ignores_grpos_lora_and_its_cache_key_follows_its_own(tmp_path: Path) -> None:
    from training.grpo import grpo_args
    from training.sft import cache_key, lora_config

    examples: list[Any] = []  # the examples' part of the key is fixed here; settings alone decide
    full = build_config("cpu", None, {"lora": False})
    lora = build_config("cpu", None, {"lora": True, "lora_r": 8})
    # switching GRPO's lora (or its shape) neither retrains nor swaps the cached warm-up
    assert cache_key(lora, examples) == cache_key(full, examples)
    assert lora_config(lora, warmup=True) is None and lora_config(lora) is not None
    # a warm-up that itself trains adapters is another warm-up, and its adapter shape is part of it
    sft_lora = build_config("cpu", None, {"sft_lora": True})
    assert cache_key(sft_lora, examples) != cache_key(full, examples)
    assert cache_key(sft_lora.model_copy(update={"lora_r": 8}), examples) != cache_key(sft_lora, examples)
    assert lora_config(sft_lora, warmup=True) is not None
    # GRPO's learning rate follows what it trains
    assert grpo_args(lora, tmp_path, world=1).learning_rate == lora.lora_learning_rate
    assert grpo_args(full, tmp_path, world=1).learning_rate == full.learning_rate
    assert lora.lora_learning_rate >= 10 * lora.learning_rate


@pytest.mark.slow
def test_a_lora_run_resumes_from_its_adapter_checkpoint(tiny_dir: Path, tmp_path: Path) -> None:
    """``--resume`` restores the adapters, optimizer and step from an adapter checkpoint (TRL/transformers' own path)."""
    from agents.policy_checkpoint import adapter_base, is_adapter_checkpoint, load_policy_model
    from training.grpo import main

    out = tmp_path / "run"
    args = [
        "--model", str(tiny_dir), "--env", "none", "--mcq", "generated", "--mcq-items", "4", "--max-steps", "2",
        "--num-generations", "2", "--prompts-per-step", "1", "--turn-tokens", "8", "--save-steps", "1",
        "--output-dir", str(out), "--report-to", "none", "--lora",
    ]  # fmt: skip
    assert main(args) == 0
    assert main(["--resume", str(out), "--max-steps", "3"]) == 0
    last = out / "checkpoint-3"
    assert is_adapter_checkpoint(last) and (last / "optimizer.pt").exists()
    assert json.loads((last / "trainer_state.json").read_text())["global_step"] == 3
    assert adapter_base(last) == str(tiny_dir.resolve())
    assert load_policy_model(last).config.vocab_size == load_policy_model(tiny_dir).config.vocab_size
