"""TactfulToM (Liu et al., EMNLP 2025): understanding white lies in multi-party conversations.

Published as JSON lists of question sets, ``dataset/final_set/Tactful_conv_set_<n>.json`` in
github.com/nii-cl/tactful-tom. A set holds ``set_id``, ``lie_type``, the conversation
(``full_context`` and ``short_context``) and question lists by category; a question has
``question``, ``correct_answer``, ``wrong_answer`` (text or list; ``wrong_answers`` is read too),
``q_id`` and, for some categories, ``information`` or a target question
(``fact_question_real_reason``, ``comprehension_q``, ``fact_question_truth``, ``truth_question``)
that the question refers to.

What is loaded, following the published evaluation:

* multiple choice: ``fact_reasonQA``, ``fact_truthQA``, ``beliefQAs``, ``lieabilityQAs`` (gold plus
  wrong answers, shuffled);
* yes/no: ``comprehensionQA`` and the ``*_binary`` categories, asked as two options Yes/No.

The list categories (``*_list``: name every character who knows ...) and ``justificationQA``
(not in the published evaluation) are not loaded. ``kinds`` picks ``mcq``, ``binary`` or both
(default); ``context`` picks the ``full`` (default, as published) or ``short`` conversation.
Tags: ``category``, ``kind``, ``lie_type``, ``tom_order`` (belief questions).

A path is one set file, or a folder holding ``Tactful_conv_set_<n>.json`` files (any ``*.json``
when none is named so), or the repository root (its ``dataset/final_set``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, str_tags
from eval.benchmarks.records import Row, read_json
from eval.items import MCQItem

MCQ_CATEGORIES = ("fact_reasonQA", "fact_truthQA", "beliefQAs", "lieabilityQAs")
BINARY_CATEGORIES = (
    "comprehensionQA",
    "infoAccessibilityQAs_binary",
    "answerabilityQAs_binary",
    "liedetectabilityQAs_binary",
)
LIST_CATEGORIES = ("infoAccessibilityQA_list", "answerabilityQA_list", "liedetectabilityQAs_list")
"""Published, not loaded (they are not multiple choice)."""
TARGET_FIELDS = ("fact_question_real_reason", "comprehension_q", "fact_question_truth", "truth_question")
KINDS = ("mcq", "binary")
CONTEXTS = {"full": "full_context", "short": "short_context"}
YES_NO = ["Yes", "No"]
SET_FILE = re.compile(r"^Tactful_conv_set_\d+\.json$", re.IGNORECASE)
PUBLISHED_FOLDERS = (Path("dataset") / "final_set", Path("final_set"))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    for folder in (path, *(path / sub for sub in PUBLISHED_FOLDERS)):
        if not folder.is_dir():
            continue
        named = sorted(p for p in folder.iterdir() if p.is_file() and SET_FILE.match(p.name))
        if named:
            return named
        if folder == path and (own := sorted(folder.glob("*.json"))):
            return own
    raise BenchmarkError(
        f"{path}: no TactfulToM set files; give a Tactful_conv_set_<n>.json file, a folder of them, "
        "or the repository root (dataset/final_set/)"
    )


def _wrong_answers(qa: Row) -> list[str]:
    field = "wrong_answer" if "wrong_answer" in qa.data else "wrong_answers"
    value: Any = qa.data.get(field)
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]  # some published questions nest the list once more
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise qa.error("a multiple-choice question needs one or more wrong answers", field)
    return Row(qa.path, qa.where, qa.index, {field: value}).text_list(field)


def _question_text(qa: Row) -> str:
    lines = []
    if "information" in qa.data:
        lines.append(f"Information: {qa.text('information')}")
    else:
        target = next((f for f in TARGET_FIELDS if f in qa.data), None)
        if target is not None:
            lines.append(f"Target question: {qa.text(target)}")
    lines.append(qa.text("question"))
    return "\n".join(lines)


def _questions(row: Row, category: str) -> list[Row]:
    value = row.data.get(category)
    if value is None:
        return []
    if not isinstance(value, list):
        raise row.error(f"expected a list of questions, got {type(value).__name__}", category)
    out = []
    for i, qa in enumerate(value):
        where = f"{row.where}, {category}[{i}]"
        if not isinstance(qa, dict):
            raise row.error(f"entry {i} must be a question object, got {type(qa).__name__}", category)
        out.append(Row(row.path, where, row.index, qa))
    return out


def _parse_kinds(kinds: str) -> tuple[str, ...]:
    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = [k for k in wanted if k not in KINDS]
    if unknown or not wanted:
        raise BenchmarkError(f"tactfultom: kinds must be a comma list of {list(KINDS)}, got {kinds!r}")
    return wanted


def load_tactfultom(path: Path, *, kinds: str = "mcq,binary", context: str = "full") -> list[MCQItem]:
    """Load TactfulToM's multiple-choice and yes/no questions (see the module docstring)."""
    wanted = _parse_kinds(kinds)
    if context not in CONTEXTS:
        raise BenchmarkError(f"tactfultom: context must be one of {list(CONTEXTS)}, got {context!r}")
    categories = [(c, "mcq") for c in MCQ_CATEGORIES if "mcq" in wanted]
    categories += [(c, "binary") for c in BINARY_CATEGORIES if "binary" in wanted]
    items: list[MCQItem] = []
    for file in _files(path):
        for row in read_json(file):
            set_id = row.text("set_id")
            story = row.text(CONTEXTS[context])
            lie_type = row.text("lie_type", optional=True)
            for category, kind in categories:
                for i, qa in enumerate(_questions(row, category)):
                    if kind == "mcq":
                        options = [qa.text("correct_answer"), *_wrong_answers(qa)]
                        answer = 0
                    else:
                        gold = qa.text("correct_answer").lower()
                        if gold not in ("yes", "no"):
                            raise qa.error(f"expected yes or no, got {gold!r}", "correct_answer")
                        options, answer = list(YES_NO), YES_NO.index(gold.capitalize())
                    tom_type = qa.text("tom_type", optional=True)
                    items.append(
                        build_item(
                            qa,
                            id=f"tactfultom/{qa.text('q_id', optional=True) or f'{set_id}-{category}-{i}'}",
                            benchmark="tactfultom",
                            context=story,
                            question=_question_text(qa),
                            options=options,
                            answer=answer,
                            tags=str_tags(
                                {
                                    "category": category,
                                    "kind": kind,
                                    "lie_type": lie_type,
                                    "tom_order": tom_type.split(":")[0] if tom_type else None,
                                }
                            ),
                        )
                    )
    if not items:
        raise BenchmarkError(f"{path}: no TactfulToM questions of kinds {list(wanted)}")
    return items
