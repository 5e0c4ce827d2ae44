"""How an item is asked and its answer read: option order per run (seeded shuffles), the shown
copy, the chat messages, and mapping a reply back to an original option.

ToMBench shuffles the four options independently on each of its five runs; a prediction made on
a shuffled copy is mapped back to the original option index before votes are counted. Orders
depend only on ``(seed, item id, run)``, so they do not change when items are filtered or limited.
MotiveBench instead shows every item in the same fixed orders, one per run (``orders``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from agents.sip import SIP, mcq_messages
from eval.answers import normalize_answer, parse_choice
from eval.benchmarks.scoring import Prediction
from eval.items import MCQItem


def option_order(
    item: MCQItem, run: int, *, shuffle: bool, seed: int, orders: Sequence[Sequence[int]] = ()
) -> list[int]:
    """Original option indices in the order they are shown on ``run``.

    ``orders``: fixed orders, run ``r`` shows ``orders[r % len(orders)]``; else a seeded shuffle
    when ``shuffle``; else file order.
    """
    order = list(range(len(item.options)))
    if orders and order:
        fixed = list(orders[run % len(orders)])
        if sorted(fixed) != order:
            raise ValueError(
                f"item {item.id!r}: fixed option order {fixed} is not a permutation of its {len(order)} options"
            )
        return fixed
    if shuffle and len(order) > 1:
        random.Random(f"{seed}\x1f{item.id}\x1f{run}").shuffle(order)
    return order


def present(item: MCQItem, order: list[int]) -> MCQItem:
    """A copy of ``item`` whose options are shown in ``order`` (gold index moved along)."""
    if not item.options or order == list(range(len(item.options))):
        return item
    if sorted(order) != list(range(len(item.options))):
        raise ValueError(f"item {item.id!r}: {order} is not a permutation of its {len(item.options)} options")
    assert item.answer is not None  # items with options always have a gold index
    return item.model_copy(
        update={"options": [item.options[i] for i in order], "answer": order.index(item.answer)}
    )


def to_original(order: list[int], shown: int | None) -> int | None:
    """The original index of the option shown at position ``shown`` (None stays None)."""
    return None if shown is None else order[shown]


def messages_for(item: MCQItem, order: list[int], *, sip: bool) -> list[dict[str, str]]:
    """Chat messages asking ``item`` with its options in ``order`` (SIP reasoning or a plain answer)."""
    return mcq_messages(present(item, order), sip=sip)


@dataclass(frozen=True)
class Reading:
    """What was read from one reply: the prediction (original index or normalised text) and format."""

    prediction: Prediction
    shown: int | None
    format_ok: bool
    problems: tuple[str, ...] = ()


def read_reply(item: MCQItem, order: list[int], text: str, *, sip: bool) -> Reading:
    """Parse a reply to ``item`` shown in ``order``.

    MCQ: the chosen letter (or option text) of the shown copy, mapped back to the original index.
    Free text: the answer (``<Answer>`` content for SIP replies), normalised; empty is unreadable.
    ``format_ok``: the strict SIP check for SIP replies, a readable answer for plain ones.
    """
    if item.options:
        shown_options = [item.options[i] for i in order]
        shown = parse_choice(text, shown_options)
        prediction: Prediction = to_original(order, shown)
    else:
        shown = None
        prediction = normalize_answer(SIP.parse_answer(text)) or None
    if sip:
        check = SIP.check(text)
        return Reading(prediction, shown, check.ok, tuple(check.problems))
    return Reading(prediction, shown, prediction is not None)
