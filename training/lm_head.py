"""Scoring only the positions that have labels, on CPU too, in TRL's fused LM head.

TRL 1.16 replaces the policy's forward with a *fused LM head* that turns hidden states into per-token
log-probabilities in tiles, without materialising ``(batch, seq, vocab)`` logits. On devices with
Triton it first keeps only the positions whose label is not ``-100`` (the completion); elsewhere it
scores every position, so that accelerator compilers see fixed tile shapes. On CPU there is nothing
to recompile, and scoring every prompt position is most of the memory of a GRPO or SFT step: a
450-token prompt and a 95-token answer make 4,096 x 32,768-entry tiles whose float32 temporaries
(~0.5 GB each) left the allocator fragmented at 8-9 GB peak RSS for a 135M model
(``bench/grpo_memory.py``).

:func:`score_labelled_positions_only` makes the CPU take the compact path as well. The log-probs
are the same (a test checks them against the uncompacted path); only which rows enter the tiles
changes. The kernel that folds each tile is chosen elsewhere and stays the CPU one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_original: Callable[[Any], bool] | None = None


def score_labelled_positions_only() -> None:
    """Patch TRL's fused LM head to drop unlabelled positions on CPU as it does on Triton devices.

    Idempotent. TRL is pinned to 1.16.*; a TRL without the hook raises here, not mid-training.
    """
    global _original
    import trl.trainer.utils as trl_utils

    if _original is not None:
        return
    if not callable(getattr(trl_utils, "_use_triton", None)):
        raise RuntimeError(
            f"trl {getattr(__import__('trl'), '__version__', '?')} has no trl.trainer.utils._use_triton: "
            "training/lm_head.py targets trl 1.16.*; install the pinned version (pip install -e '.[train]')"
        )
    _original = trl_utils._use_triton

    def compact_on_cpu(device: Any) -> bool:
        return _original(device) or getattr(device, "type", None) == "cpu"

    trl_utils._use_triton = compact_on_cpu


def restore_trl_lm_head() -> None:
    """Undo :func:`score_labelled_positions_only` (for tests that compare both paths)."""
    global _original
    import trl.trainer.utils as trl_utils

    if _original is not None:
        trl_utils._use_triton = _original
        _original = None
