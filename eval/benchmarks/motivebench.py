"""MotiveBench (Yong et al., 2025): inferring motivations and behaviours of people in rich scenarios.

Published as one JSON list per source (``Persona/Persona_questions.json``,
``Amazon/Amazon_questions.json``, ``Blog/Blog_questions.json`` in github.com/chicosirius/MotiveBench).
Each record holds three 6-way questions about one scenario and character:

====================================================  ============  ===================  =========
question field                                        options       gold letter          our kind
====================================================  ============  ===================  =========
``Motivation Reasoning Question``                     ``Options 1``  ``Correct Answer 1``  motivation
``Behavior Reasoning Question``                       ``Options 2``  ``Correct Answer 2``  behavior
``Motivation and Behavior Reasoning Question``        ``Options 3``  ``Correct Answer 3``  motivation_behavior
====================================================  ============  ===================  =========

plus ``idx`` (the record number). Options are written with their letter (``"A. ..."``); the
letter is checked (A-F in order) and removed. The question text carries the whole scenario, so
items have no separate context.

A path is a ``*_questions.json`` file, or a folder holding such files directly or one level down
(the repository root). ``dataset`` keeps one source (``Persona``, ``Amazon``, ``Blog``; default all).
Tags: ``dataset``, ``question_type``. Scoring (registry): six fixed option orders, each item asked
once per order, accuracy averaged over the orders.
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, gold_from_letter
from eval.benchmarks.records import Row, read_json
from eval.items import LETTERS, MCQItem

KINDS: tuple[tuple[str, str, str, str], ...] = (
    ("motivation", "Motivation Reasoning Question", "Options 1", "Correct Answer 1"),
    ("behavior", "Behavior Reasoning Question", "Options 2", "Correct Answer 2"),
    ("motivation_behavior", "Motivation and Behavior Reasoning Question", "Options 3", "Correct Answer 3"),
)
N_OPTIONS = 6
FILE_SUFFIX = "_questions.json"
ORDERS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3, 4, 5),
    (5, 4, 3, 2, 1, 0),
    (2, 0, 5, 4, 3, 1),
    (1, 2, 4, 5, 0, 3),
    (4, 3, 0, 1, 5, 2),
    (3, 5, 1, 0, 2, 4),
)
"""The six option orders MotiveBench's evaluation asks every question in (0-based indices into the
file's options, first shown first)."""
_LETTER_PREFIX = re.compile(r"^\(?([A-Za-z])\s*[.):]\s*")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    found = sorted(path.glob(f"*{FILE_SUFFIX}")) + sorted(path.glob(f"*/*{FILE_SUFFIX}"))
    if not found:
        raise BenchmarkError(
            f"{path}: no *{FILE_SUFFIX} files here or one folder down; MotiveBench publishes "
            f"Persona/Persona{FILE_SUFFIX}, Amazon/Amazon{FILE_SUFFIX} and Blog/Blog{FILE_SUFFIX}"
        )
    return found


def dataset_name(file: Path) -> str:
    """``Persona_questions.json`` -> ``Persona`` (any other file name: its stem)."""
    return file.name[: -len(FILE_SUFFIX)] if file.name.endswith(FILE_SUFFIX) else file.stem


def _options(row: Row, field: str) -> list[str]:
    raw = row.text_list(field)
    if len(raw) != N_OPTIONS:
        raise row.error(f"expected {N_OPTIONS} options (A-F), got {len(raw)}", field)
    options = []
    for i, text in enumerate(raw):
        match = _LETTER_PREFIX.match(text)
        if match is None or match.group(1).upper() != LETTERS[i]:
            raise row.error(
                f"option {i} should start with {LETTERS[i]!r} (as in 'A. ...'), got {text[:40]!r}", field
            )
        option = text[match.end() :].strip()
        if not option:
            raise row.error(f"option {LETTERS[i]} is empty", field)
        options.append(option)
    return options


def load_motivebench(path: Path, *, dataset: str = "all") -> list[MCQItem]:
    """Load MotiveBench: three 6-way items per record (see the module docstring)."""
    files = _files(path)
    names = {dataset_name(f) for f in files}
    if dataset != "all" and dataset not in names:
        raise BenchmarkError(
            f"{path}: no MotiveBench dataset {dataset!r}; found {sorted(names)} (or use 'all')"
        )
    items: list[MCQItem] = []
    for file in files:
        name = dataset_name(file)
        if dataset not in ("all", name):
            continue
        for row in read_json(file):
            record = row.data.get("idx", row.index - 1)
            for kind, question_field, options_field, answer_field in KINDS:
                options = _options(row, options_field)
                items.append(
                    build_item(
                        row,
                        id=f"motivebench/{name}/{record}/{kind}",
                        benchmark="motivebench",
                        question=row.text(question_field),
                        options=options,
                        answer=gold_from_letter(row, answer_field, options),
                        tags={"dataset": name, "question_type": kind},
                    )
                )
    if not items:
        raise BenchmarkError(f"{path}: no MotiveBench records")
    return items
