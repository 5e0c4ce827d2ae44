"""Hi-ToM (He et al., Findings of EMNLP 2023): higher-order theory-of-mind stories, 15-way MCQ.

``Hi-ToM_data.json`` is ``{"data": [records]}`` (a bare list works too); each record has
``prompting_type`` (CoTP/VP), ``deception``, ``story_length``, ``question_order``, ``sample_id``,
``story``, ``question``, ``choices`` (one string ``"A. x, B. y, ..."``) and ``answer`` (the gold
option's text). Both prompting types hold the same 600 questions, so only one is loaded by default
(``prompting_type="CoTP"``; ``None`` loads all). The VP instruction line at the top of VP stories
is removed: our own prompt says how to answer. Tags: ``order``, ``deception``, ``story_length``,
``prompting_type``.
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, gold_from_text, str_tags
from eval.benchmarks.records import Row, data_files, read_json
from eval.items import LETTERS, MCQItem

DEFAULT_PROMPTING_TYPE = "CoTP"
_OPTION_START = re.compile(r"(?:^|,\s*)([A-Z])\.\s+")
_VP_INSTRUCTION = re.compile(r"^\s*Read the following story and answer the multiple-choice question\.[^\n]*\n")


def split_choices(text: str) -> list[str] | None:
    """``"A. x, B. y, C. z"`` -> ``["x", "y", "z"]``; None unless the letters run A, B, C, ... in order."""
    matches = list(_OPTION_START.finditer(text))
    if not matches or matches[0].start() != 0:
        return None
    options = []
    for position, match in enumerate(matches):
        if match.group(1) != LETTERS[position]:
            return None
        end = matches[position + 1].start() if position + 1 < len(matches) else len(text)
        option = text[match.end() : end].strip()
        if not option:
            return None
        options.append(option)
    return options


def load_hitom(path: Path, *, prompting_type: str | None = DEFAULT_PROMPTING_TYPE) -> list[MCQItem]:
    """Load Hi-ToM items of one prompting type (``None``: all records)."""
    items = []
    for file in data_files(path, (".json",)):
        for row in read_json(file):
            kind = row.text("prompting_type", optional=True)
            if prompting_type is not None and kind != prompting_type:
                continue
            items.append(_item(row, kind))
    if not items:
        raise BenchmarkError(f"{path}: no Hi-ToM records with prompting_type {prompting_type!r}")
    return items


def _item(row: Row, kind: str) -> MCQItem:
    choices = row.text("choices")
    options = split_choices(choices)
    if options is None:
        raise row.error(f"expected options as 'A. x, B. y, ...', got {choices[:80]!r}", "choices")
    story = _VP_INSTRUCTION.sub("", row.text("story"), count=1).strip()
    sample = row.text("sample_id", optional=True) or str(row.index)
    return build_item(
        row,
        id=f"hi-tom/{kind or 'all'}/{sample}",
        benchmark="hi-tom",
        context=story,
        question=row.text("question"),
        options=options,
        answer=gold_from_text(row, "answer", options),
        tags=str_tags(
            {
                "order": row.text("question_order"),
                "deception": row.data.get("deception"),
                "story_length": row.data.get("story_length"),
                "prompting_type": kind,
            }
        ),
    )
