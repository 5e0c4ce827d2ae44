"""ToMBench-Hard: ToMBench-style items in one CSV file.

Header names are matched case-insensitively, with spaces and hyphens read as underscores
(``Option A``, ``OPTION-A`` and ``option_a`` are the same column):

==============  ========  =====================================================
column          required  meaning
==============  ========  =====================================================
story           yes       the story
question        yes       the question
option_a ..     yes       the options; ``option_c``/``option_d`` may be empty
option_d                  (2- or 3-option items)
answer          yes       gold letter A-D (``gold`` is accepted as well)
ability         yes       ``"<category>: <ability>"`` as in ToMBench
id              no        item id (default: ``tombench-hard/<file stem>/<line>``)
==============  ========  =====================================================

Tags and scoring are ToMBench's (shuffled options, 5 runs, majority vote).
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError
from eval.benchmarks.gold import build_item, gold_from_letter
from eval.benchmarks.records import Row, data_files, read_csv
from eval.benchmarks.tombench import normalize_category
from eval.items import MCQItem

OPTION_COLUMNS = ["option_a", "option_b", "option_c", "option_d"]
REQUIRED_COLUMNS = ["story", "question", *OPTION_COLUMNS, "answer", "ability"]


def normalize_header(name: str) -> str:
    """``" Option-A "`` -> ``"option_a"``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def load_tombench_hard(path: Path) -> list[MCQItem]:
    """Load ToMBench-Hard CSV file(s) (a folder: every ``.csv`` in name order)."""
    items = []
    for file in data_files(path, (".csv",)):
        items.extend(_load_file(file))
    if not items:
        raise BenchmarkError(f"{path}: no ToMBench-Hard items found")
    return items


def _load_file(file: Path) -> list[MCQItem]:
    items = []
    checked = False
    for raw in read_csv(file):
        row = Row(raw.path, raw.where, raw.index, {normalize_header(k): v for k, v in raw.data.items()})
        if "answer" not in row.data and "gold" in row.data:
            row.data["answer"] = row.data["gold"]
        if not checked:
            missing = [c for c in REQUIRED_COLUMNS if c not in row.data]
            if missing:
                raise BenchmarkFormatError(
                    file, f"header lacks column(s) {missing}; found {sorted(row.data)}", where="line 1"
                )
            checked = True
        options = []
        for position, column in enumerate(OPTION_COLUMNS):
            value = row.text(column, optional=position >= 2)
            if not value:
                continue
            if len(options) < position:
                raise row.error("option follows an empty option", column)
            options.append(value)
        ability = row.text("ability")
        items.append(
            build_item(
                row,
                id=row.text("id", optional=True) or f"tombench-hard/{file.stem}/{row.where.split()[-1]}",
                benchmark="tombench-hard",
                context=row.text("story"),
                question=row.text("question"),
                options=options,
                answer=gold_from_letter(row, "answer", options),
                tags={"category": normalize_category(ability.split(":", 1)[0]), "ability": ability},
            )
        )
    return items
