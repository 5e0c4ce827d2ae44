"""The ``length`` term: a reasoning long enough to be useful, short enough to be cheap, and not looping."""

from __future__ import annotations

from typing import Any

from agents.sip import SIP


def repetition(text: str, n: int = 3) -> float:
    """Share of repeated word n-grams: 1 - distinct / total (0.0 when there are none)."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def length_window(n_words: int, lo: int, hi: int, decay: int | None = None) -> float:
    """1 inside [lo, hi]; n/lo below lo; 1 - (n - hi)/decay above hi (floored at 0). decay defaults to hi."""
    if not 0 <= lo <= hi or hi <= 0:
        raise ValueError(f"need 0 <= lo <= hi and hi > 0, got lo={lo}, hi={hi}")
    decay = hi if decay is None else decay
    if decay <= 0:
        raise ValueError(f"decay must be positive, got {decay}")
    if n_words < lo:
        return n_words / lo
    if n_words <= hi:
        return 1.0
    return max(0.0, 1.0 - (n_words - hi) / decay)


def length_reward(
    completion: str, lo: int = 40, hi: int = 400, decay: int | None = None, ngram: int = 3, **_: Any
) -> float:
    """Efficiency of the reasoning length, discounted by repetition; in [0, 1].

    Formula: n = number of whitespace-separated words in the reasoning (the ``<think>`` content,
    or the whole completion when there is none); window(n) = n/lo for n < lo, 1 for lo <= n <= hi,
    max(0, 1 - (n - hi)/decay) above hi (decay = hi by default, so 0 at 2*hi);
    rep = 1 - distinct/total word ``ngram``-grams of the reasoning (0 with fewer than ``ngram`` words).
    reward = window(n) * (1 - rep). (A product rather than a difference keeps the range [0, 1]
    without clipping, so long-and-repetitive still ranks below long-only.)
    """
    p = SIP.parse(completion)
    reasoning = p.think if p.think is not None else p.text
    return length_window(len(reasoning.split()), lo, hi, decay) * (1.0 - repetition(reasoning, ngram))
