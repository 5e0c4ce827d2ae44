"""The sign of a GRPO step: one real step of the run's trainer makes the rewarded completion more likely.

Everything but the sampling is the main job's path: the cpu preset's trainer (:func:`training.grpo.grpo_trainer`:
LoRA at ``lora_learning_rate``, bf16 autocast, gradient checkpointing, the compact LM head, micro-batches),
the rollout's MCQ prompt with its think prefill, and the accuracy term on the row the registry builds.
The policy's replies are fixed so the group's rewards differ: the same SIP trace ending in the right
letter or in a wrong one. If anything between the reward and the loss flipped a sign, dropped a row or
shifted a token, the wrong answer would gain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.config import build_config

TRACE = (
    "\n1. Cue Encoding: the story says who saw each move.\n2. Cue Interpretation: "
    "they believe what they last saw.\n3. Goal Clarification: answer the question.\n"
    "4. Response Generation: pick the option.\n</think><Answer>{letter}</Answer>"
)


class _FixedReplies:
    """A policy that answers the i-th prompt of each call with ``replies[i % len(replies)]``."""

    def __init__(self, tokenizer: Any, replies: list[str]) -> None:
        self.ids = [
            tokenizer(r, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for r in replies
        ]
        self.prompts: list[list[int]] = []

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
        self.prompts = [list(p) for p in prompt_ids]
        return [list(self.ids[i % len(self.ids)]) for i in range(len(prompt_ids))], None


def _completion_logp(model: Any, prompt: list[int], completion: list[int]) -> float:
    """Sum of log p(completion | prompt) in float32, no autocast, eval mode."""
    import torch

    model.eval()
    ids = torch.tensor([prompt + completion])
    with torch.no_grad(), torch.autocast("cpu", enabled=False):
        logits = model(input_ids=ids).logits.float()[0, len(prompt) - 1 : -1]
    logps = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(completion)[:, None])
    return float(logps.sum())


@pytest.mark.slow
def test_one_grpo_step_of_the_cpu_preset_makes_the_rewarded_answer_more_likely(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from agents import sip
    from agents.local_model import local_policy_dir
    from eval.tom_generator import generate_items
    from training.grpo import grpo_trainer
    from training.rollout import TrajectoryRollout
    from training.tasks import TaskRegistry

    policy = str(local_policy_dir())
    tokenizer = AutoTokenizer.from_pretrained(policy)
    config = build_config(
        "cpu", None,
        {"reward_terms": ["accuracy"], "num_generations": 4, "prompts_per_step": 1, "max_steps": 1,
         "save_steps": 10, "report_to": ["none"], "output_dir": str(tmp_path)},
    )  # fmt: skip
    assert config.lora and config.bf16 and config.think_prefill, "the test must run the preset's settings"
    tasks = TaskRegistry()
    key = tasks.add_mcq(generate_items(1, seed=11))[0]
    gold = tasks[key].item.answer_letter  # type: ignore[union-attr]
    wrong = next(letter for letter in "ABCD" if letter != gold)
    right_text, wrong_text = TRACE.format(letter=gold), TRACE.format(letter=wrong)
    replies = _FixedReplies(tokenizer, [right_text, wrong_text])
    rollout = TrajectoryRollout(tasks, tokenizer, lambda task: None, think_prefill=config.think_prefill)
    trainer = grpo_trainer(
        config, policy, tasks.dataset([key] * 8), tokenizer,
        lambda prompts, trainer: rollout.run([str(p) for p in prompts], replies), tmp_path,
    )  # fmt: skip
    model = trainer.model
    prompt = rollout.chat.prompt(sip.mcq_messages(tasks[key].item, sip=True))
    prompt += list(tokenizer(config.think_prefill, add_special_tokens=False)["input_ids"])
    before = [_completion_logp(model, prompt, ids) for ids in replies.ids]
    trainer.train()
    assert replies.prompts and all(p == prompt for p in replies.prompts), (
        "the rollout must send the MCQ prompt"
    )
    after = [_completion_logp(trainer.model, prompt, ids) for ids in replies.ids]
    gained_right, gained_wrong = after[0] - before[0], after[1] - before[1]
    assert gained_right - gained_wrong > 0, (before, after)
