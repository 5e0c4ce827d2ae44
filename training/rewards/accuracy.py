"""The ``accuracy`` term: right or wrong against the item's gold, read as the benchmarks read it (:mod:`eval.answers`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.sip import SIP
from eval.answers import free_text_correct, match_option_text, parse_choice, parse_letter


def _gold_index(
    options: Sequence[str], answer: Any, answer_letter: str | None, answer_text: str | None
) -> int | None:
    if isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(options):
            raise ValueError(f"answer index {answer} outside the {len(options)} options")
        return answer
    if isinstance(answer, str) and answer.strip():
        if len(answer.strip()) == 1 and answer.strip().isalpha():
            answer_letter = answer_letter or answer.strip()
        else:
            answer_text = answer_text or answer
    if answer_letter:
        i = parse_letter(answer_letter, len(options))
        if i is None:
            raise ValueError(f"answer letter {answer_letter!r} does not name one of {len(options)} options")
        return i
    if answer_text:
        i = match_option_text(answer_text, options)
        if i is None:
            raise ValueError(f"answer text {answer_text!r} matches no single option")
        return i
    return None


def accuracy_reward(
    completion: str,
    options: Sequence[str] | None = None,
    answer: int | str | None = None,
    answer_letter: str | None = None,
    answer_text: str | None = None,
    correct: float = 1.0,
    wrong: float = -1.0,
    **_: Any,
) -> float | None:
    """``correct`` (1.0) for the right answer, ``wrong`` (-1.0) for a wrong or unreadable one; None without a gold.

    With ``options``: the gold index comes from ``answer`` (an index; a letter or option text is
    accepted too), else ``answer_letter``, else ``answer_text`` matched to an option; the
    prediction is ``parse_choice(completion, options)``. Without options: ``answer_letter``
    compares the letter read from the answer; ``answer_text`` (or a string ``answer``) is judged by
    :func:`eval.answers.free_text_correct` (the benchmarks' rule) on ``SIP.parse_answer(completion)``.
    ToM-RL's +2/-2 is
    ``correct=2, wrong=-2``. Range {wrong, correct}.
    """
    opts = [str(o) for o in options] if options else []
    if isinstance(answer, int) and not isinstance(answer, bool) and answer < 0:
        answer = None  # the dataset's "no gold index" (free-text items, episodes)
    if opts:
        gold = _gold_index(opts, answer, answer_letter, answer_text)
        if gold is None:
            return None
        return correct if parse_choice(completion, opts) == gold else wrong
    if answer_letter:
        gold_letter = parse_letter(answer_letter, 26)
        if gold_letter is None:
            raise ValueError(f"answer letter {answer_letter!r} is not a letter")
        return correct if parse_letter(SIP.parse_answer(completion), 26) == gold_letter else wrong
    gold_text = answer_text or (answer if isinstance(answer, str) else None)
    if gold_text and gold_text.strip():
        return correct if free_text_correct(SIP.parse_answer(completion), gold_text) else wrong
    return None
