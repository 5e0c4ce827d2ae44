"""Held-out evaluation of a policy while (and after) it trains: batched greedy SIP answers to MCQ items.

The prompt is built exactly as the GRPO rollout builds an MCQ turn (``agents.sip.mcq_messages``,
the chat template, the think prefill), and a reply is read and scored exactly as ``eval.mcq``
reads and scores it (``eval.benchmarks.protocol.read_reply``, ``eval.benchmarks.scoring.is_correct``),
so a number logged during training means what the evaluation CLI means by it. Generation is
batched (left padding) because on a CPU that is where the time goes.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eval.items import MCQItem


@dataclass
class HeldoutResult:
    """Per-item outcomes of one evaluation (same item order as given)."""

    item_ids: list[str] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    format_ok: list[bool] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    predictions: list[int | str | None] = field(default_factory=list)
    """What was read from each reply: an option index for letter MCQ, normalised text for free text, or None."""

    @property
    def n(self) -> int:
        """Number of items."""
        return len(self.correct)

    @property
    def accuracy(self) -> float:
        """Share answered correctly."""
        return sum(self.correct) / self.n if self.n else float("nan")

    @property
    def format_rate(self) -> float:
        """Share of strictly SIP-formatted replies (``agents.sip.SIP.check``)."""
        return sum(self.format_ok) / self.n if self.n else float("nan")

    @property
    def mean_tokens(self) -> float:
        """Mean completion tokens per reply."""
        return sum(self.completion_tokens) / self.n if self.n else float("nan")


def drop_overlaps(heldout: Sequence[MCQItem], training: Iterable[Any], what: str) -> list[MCQItem]:
    """Held-out items whose story was not trained on (``training``: MCQ items or SFT examples).

    The overlap rule is :func:`training.sft_data.overlapping`; dropped items are announced loudly.
    """
    from training.sft_data import overlapping

    clash = set(overlapping(training, heldout))
    if clash:
        warnings.warn(
            f"{len(clash)} of {len(heldout)} held-out items of {what} share a story with the training data; "
            "they are left out of the evaluation",
            stacklevel=2,
        )
    return [it for it in heldout if it.id not in clash]


def evaluate_items(
    model: Any,
    tokenizer: Any,
    items: Sequence[MCQItem],
    *,
    think_prefill: str,
    max_new_tokens: int,
    batch_size: int = 8,
) -> HeldoutResult:
    """Greedy SIP answers of ``model`` to ``items``, scored as ``eval.mcq`` scores them."""
    import torch

    from agents.chat_format import ChatTokens
    from agents.sip import mcq_messages
    from eval.benchmarks.protocol import read_reply
    from eval.benchmarks.scoring import is_correct

    chat = ChatTokens(tokenizer)
    prefill = list(tokenizer(think_prefill, add_special_tokens=False)["input_ids"]) if think_prefill else []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    result = HeldoutResult()
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(items), batch_size):
            batch = list(items[start : start + batch_size])
            prompts = [chat.prompt(mcq_messages(it, sip=True)) + prefill for it in batch]
            width = max(map(len, prompts))
            ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
            with torch.inference_mode():
                out = model.generate(
                    input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                    pad_token_id=pad, eos_token_id=sorted(chat.eos_ids) or None,
                )  # fmt: skip
            for item, row in zip(batch, out[:, width:].tolist(), strict=True):
                while row and row[-1] in (pad, *chat.eos_ids):
                    row.pop()
                text = think_prefill + chat.decode(row)
                reading = read_reply(item, list(range(len(item.options))), text, sip=True)
                result.item_ids.append(item.id)
                result.correct.append(is_correct(item, reading.prediction))
                result.format_ok.append(reading.format_ok)
                result.completion_tokens.append(len(row))
                result.replies.append(text)
                result.predictions.append(reading.prediction)
    finally:
        if was_training:
            model.train()
    return result


def heldout_callback(
    trainer: Any, items: Sequence[MCQItem], *, every: int, think_prefill: str, max_new_tokens: int
) -> Any:
    """A TrainerCallback that logs held-out accuracy, strict SIP format rate and tokens every ``every`` steps."""
    from transformers import TrainerCallback

    class _Heldout(TrainerCallback):
        pending: dict[str, float] | None = None

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not every or state.global_step % every:
                return
            model = trainer.accelerator.unwrap_model(trainer.model)
            result = evaluate_items(
                model,
                trainer.processing_class,
                items,
                think_prefill=think_prefill,
                max_new_tokens=max_new_tokens,
            )
            self.pending = {
                "heldout/accuracy": result.accuracy,
                "heldout/format": result.format_rate,
                "heldout/tokens": result.mean_tokens,
                "heldout/n": float(result.n),
            }
            print(
                f"held-out @ step {state.global_step}: accuracy {result.accuracy:.3f}, "
                f"format {result.format_rate:.3f} (n={result.n})",
                file=sys.stderr,
            )

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
        ) -> None:
            # joins the step's own log line (metrics.jsonl keeps one line per step)
            if self.pending and logs is not None and "loss" in logs:
                logs.update(self.pending)
                self.pending = None

    return _Heldout()
