"""Bounded CPU memory in training: TRL's fused LM head scores only labelled positions, and micro-batches.

Both change how a step is computed, never what it computes: the log-probs and gradients of the
compact LM head equal the uncompacted ones, and a micro-batched GRPO step lands on the same weights
as the whole batch at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.config import build_config


def _tiny_llama(vocab: int = 320) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
    )  # fmt: skip
    return LlamaForCausalLM(config)


def _logps_and_grads(model: Any, ids: Any, labels: Any) -> tuple[Any, Any]:
    model.zero_grad()
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    mask = out.label_mask
    (out.log_probs[mask].sum() + out.entropy[mask].sum()).backward()
    return out.log_probs[mask].detach().clone(), [p.grad.clone() for p in model.parameters()]


def test_compact_lm_head_scores_the_same_log_probs_and_gradients_on_cpu() -> None:
    import torch
    import trl.trainer.utils as trl_utils
    from trl.trainer.utils import add_fused_lm_head

    from training.lm_head import restore_trl_lm_head, score_labelled_positions_only

    model = _tiny_llama()
    add_fused_lm_head(model, outputs=("log_probs", "entropy"))
    ids = torch.randint(0, 320, (3, 40), generator=torch.Generator().manual_seed(1))
    labels = ids.clone()
    labels[:, :-7] = -100  # a prompt, then a 7-token completion
    labels[1, -2:] = -100  # a shorter completion (padding)
    restore_trl_lm_head()
    assert trl_utils._use_triton(torch.device("cpu")) is False  # TRL's own choice: every position on CPU
    full_logps, full_grads = _logps_and_grads(model, ids, labels)
    score_labelled_positions_only()
    try:
        assert trl_utils._use_triton(torch.device("cpu")) is True
        compact_logps, compact_grads = _logps_and_grads(model, ids, labels)
    finally:
        restore_trl_lm_head()
    assert compact_logps.shape == full_logps.shape == (3 * 7 - 2,)
    torch.testing.assert_close(compact_logps, full_logps, rtol=1e-5, atol=1e-6)
    for compact, full in zip(compact_grads, full_grads, strict=True):
        torch.testing.assert_close(compact, full, rtol=1e-4, atol=1e-6)


def test_micro_batches_keep_one_generation_per_optimizer_step(tmp_path: Path) -> None:
    from training.config import check_world, micro_batches
    from training.grpo import grpo_args

    config = build_config("cpu", None, {"num_generations": 4, "prompts_per_step": 2, "micro_batch_size": 2})
    args = grpo_args(config, tmp_path, world=1)
    assert args.per_device_train_batch_size == 2
    assert args.gradient_accumulation_steps == 4
    assert args.steps_per_generation == 4 and args.generation_batch_size == 8
    whole = grpo_args(config.model_copy(update={"micro_batch_size": None}), tmp_path, world=1)
    assert whole.per_device_train_batch_size == 8 and whole.generation_batch_size == 8
    # 3 does not divide the 8 rows: the largest divisor below it is used; 6 rows over 2 processes: 3 each
    assert (
        grpo_args(config.model_copy(update={"micro_batch_size": 3}), tmp_path).per_device_train_batch_size
        == 2
    )
    odd = config.model_copy(update={"num_generations": 3, "micro_batch_size": 2})
    assert micro_batches(odd, 2) == (1, 3)
    with pytest.raises(ValueError, match="cannot be split over 4 processes"):
        check_world(odd, 4)


@pytest.mark.slow
def test_a_micro_batched_grpo_step_lands_on_the_whole_batch_weights(tmp_path: Path) -> None:
    """One real GRPOTrainer step (TRL 1.16, our grpo_args): micro-batches of 2 give all 4 rows' gradient."""
    import torch
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOTrainer

    from agents.local_model import local_policy_dir
    from eval.tom_generator import generate_items
    from training.grpo import grpo_args
    from training.lm_head import score_labelled_positions_only
    from training.rewards import trl_reward_funcs
    from training.tasks import TaskRegistry

    tokenizer = AutoTokenizer.from_pretrained(local_policy_dir())
    model_dir = tmp_path / "tiny"
    _tiny_llama(vocab=len(tokenizer)).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    tasks = TaskRegistry()
    key = tasks.add_mcq(generate_items(1, seed=2))[0]
    gold = tasks[key].item.answer_letter  # type: ignore[union-attr]
    other = "A" if gold != "A" else "B"
    texts = [
        f"<Answer>{gold}</Answer>",
        f"<Answer>{other}</Answer> and more words",
        f"<Answer>{other}</Answer>",
        gold,
    ]

    def canned_rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
        return {
            "prompt_ids": [tokenizer("Who knows where the ball is?", add_special_tokens=False)["input_ids"]]
            * 4,
            "completion_ids": ids,
            "logprobs": [[0.0] * len(i) for i in ids],
            "env_mask": [[1] * len(i) for i in ids],
            "policy_texts": [[t] for t in texts],
            "goal_score": [None] * 4,
            "scorable": [True] * 4,
        }

    class KeepGradients(TrainerCallback):
        def on_pre_optimizer_step(
            self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
        ) -> None:
            grads.append(
                {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
            )

    score_labelled_positions_only()
    grads: list[dict[str, Any]] = []
    for micro in (None, 2):
        config = build_config(
            "cpu", None,
            {"num_generations": 4, "prompts_per_step": 1, "micro_batch_size": micro, "max_steps": 1,
             "bf16": False, "learning_rate": 1e-2, "report_to": ["none"], "save_steps": 1000},
        )  # fmt: skip
        trainer = GRPOTrainer(
            model=str(model_dir),
            reward_funcs=trl_reward_funcs(["accuracy", "length"]),
            args=grpo_args(config, tmp_path / f"run-{micro}", world=1),
            train_dataset=tasks.dataset([key] * 8),
            processing_class=tokenizer,
            rollout_func=canned_rollout,
            callbacks=[KeepGradients()],
        )
        trainer.train()
    whole, micro_batched = grads
    assert sorted(whole) == sorted(micro_batched) and whole
    assert any(bool(g.abs().sum() > 0) for g in whole.values()), "the step must have a gradient"
    for name in whole:
        # float sums in another order: equal up to rounding (a mis-scaled micro-batch would be off by 2x)
        scale = float(whole[name].abs().max())
        torch.testing.assert_close(micro_batched[name], whole[name], rtol=1e-3, atol=1e-4 * scale + 1e-12)


_FRAGMENT = """
import sys, psutil
sys.path.insert(0, {root!r})
if {fixed}:
    from training.allocator import map_large_blocks
    assert map_large_blocks()
rss = lambda: psutil.Process().memory_info().rss
warm = bytearray(30 << 20); del warm  # glibc's default raises its threshold to 30 MiB on this free
before = rss()
blocks = [bytearray(20 << 20) for _ in range(30)]
del blocks[::2]  # free every other block: holes in the heap unless each block was its own mapping
print(rss() - before)
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc's malloc")
def test_freed_blocks_go_back_to_the_os_with_a_fixed_mmap_threshold() -> None:
    """What the setting is for: after freeing half of 600 MB of 20 MB blocks, the process is ~300 MB smaller."""
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[1])

    def retained(fixed: bool) -> int:
        code = _FRAGMENT.format(root=root, fixed=fixed)
        return int(
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        )

    live = 15 * (20 << 20)
    assert retained(fixed=True) < 1.3 * live  # only the live blocks stay resident
    assert retained(fixed=False) > 1.7 * live  # glibc's default keeps the freed blocks' pages


def test_an_unreachable_partner_fails_before_the_warm_up(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remote endpoints are checked first (the embedded server only starts after the warm-up's process ends)."""
    from training.grpo import main

    monkeypatch.setenv("SOCIALGYM_WARMUP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOCIALGYM_RETRY_BASE_DELAY_S", "0.01")
    code = main([
        "--env", "sotopia", "--partner", "openai/gpt-4o-mini", "--partner-api-base", "http://127.0.0.1:9/v1",
        "--judge", "none", "--output-dir", str(tmp_path / "run"), "--max-steps", "1",
    ])  # fmt: skip
    assert code == 2
    assert (
        "the partner model 'openai/gpt-4o-mini' at http://127.0.0.1:9/v1 is not reachable"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "cache").exists(), "no warm-up may start before the endpoints answer"


_BEFORE_WARMUP = """
import sys
sys.path.insert(0, {root!r})
import training.sft
from training.grpo import main

def record(config):
    print(sorted(m for m in ("torch", "trl", "transformers", "datasets", "litellm") if m in sys.modules))
    raise SystemExit(0)

training.sft.warmup_checkpoint_in_child = record
main(["--env", "sotopia", "--mcq-items", "8", "--output-dir", {out!r}])
"""


@pytest.mark.skipif(
    not __import__("importlib.metadata").metadata.version("torch").endswith("+cpu"),
    reason="a CUDA build of torch is imported to ask for a GPU",
)
def test_the_main_job_loads_no_torch_while_its_warm_up_trains(tmp_path: Path) -> None:
    """The warm-up's child holds the model; the main job's own process stays ~0.1 GB (was 0.55 GB) until it ends."""
    import subprocess
    import sys

    code = _BEFORE_WARMUP.format(root=str(Path(__file__).resolve().parents[1]), out=str(tmp_path / "run"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
