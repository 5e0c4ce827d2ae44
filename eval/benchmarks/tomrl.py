"""ToM-RL (Lu et al., 2025) data: free-text theory-of-mind questions, some with inline options.

``train.jsonl`` / ``test.jsonl``: rows with ``story``, ``question``, ``answer`` (free-text gold,
e.g. ``red_bucket``), optional ``data_source`` and ``extra_info`` (a dict). ``Hi_ToM_cleaned.csv``:
the same fields as CSV columns plus ``question_order``, ``deception``, ``story_length``.

When a question ends with its options in parentheses, ``"Where is the ball? (box / basket / bag)"``,
they become the item's options (and are cut from the question text, since the prompt lists them),
and the gold answer must be one of them; otherwise the item is free text (``answer_text`` only),
scored as ToM-RL does: the answer equals the gold or ends with it, after normalisation.
Tags: ``data_source`` and the scalar fields of ``extra_info`` (or of the CSV row; long texts skipped);
``question_order`` is tagged ``order`` as in Hi-ToM. A folder loads the ``split`` file
(default ``test``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eval.benchmarks.gold import build_item, gold_from_text, str_tags
from eval.benchmarks.records import Row, read_table
from eval.benchmarks.splits import split_file
from eval.items import MCQItem

_INLINE_OPTIONS = re.compile(r"\s*\(([^()]*\s/\s[^()]*)\)\s*\??\s*$")
_CSV_TAGS = ("deception", "story_length", "question_order", "sample_id")
MAX_TAG_CHARS = 80
"""Longer text fields (ExploreToM's ``infilled_story``) are not tags."""


def split_inline_options(question: str) -> tuple[str, list[str]]:
    """``"Where? (a / b)"`` -> ``("Where?", ["a", "b"])``; no trailing ``( x / y )`` -> ``(question, [])``."""
    match = _INLINE_OPTIONS.search(question)
    if not match:
        return question, []
    options = [part.strip() for part in match.group(1).split(" / ")]
    if len(options) < 2 or not all(options):
        return question, []
    return question[: match.start()].rstrip(), options


def load_tomrl(path: Path, *, split: str = "test") -> list[MCQItem]:
    """Load ToM-RL JSONL or CSV rows (MCQ where options are inline, free text otherwise)."""
    data = split_file(path, split, (".jsonl", ".json", ".csv", ".parquet"))
    return [_item(row, data.stem, data.suffix.lower() == ".csv") for row in read_table(data)]


def _tags(row: Row, from_csv: bool) -> dict[str, str]:
    values: dict[str, Any] = {"data_source": row.data.get("data_source") or ("hi_tom" if from_csv else None)}
    extra = row.data.get("extra_info")
    if extra is not None and not isinstance(extra, dict):
        raise row.error(f"expected an object, got {type(extra).__name__}", "extra_info")
    fields = dict(extra or {})
    if from_csv:
        fields.update({k: row.data.get(k) for k in _CSV_TAGS})
    for key, value in fields.items():
        if isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) <= MAX_TAG_CHARS):
            values["order" if key == "question_order" else key] = value
    return str_tags(values)


def _item(row: Row, stem: str, from_csv: bool) -> MCQItem:
    question, options = split_inline_options(row.text("question"))
    common: dict[str, Any] = {
        "id": f"tom-rl/{stem}/{row.index}",
        "benchmark": "tom-rl",
        "context": row.text("story"),
        "question": question,
        "tags": _tags(row, from_csv),
    }
    if options:
        return build_item(row, **common, options=options, answer=gold_from_text(row, "answer", options))
    return build_item(row, **common, answer_text=row.text("answer"))
