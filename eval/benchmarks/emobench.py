"""EmoBench (Sabour et al., ACL 2024): Emotional Application (EA) and Emotional Understanding (EU).

EA records (``EA.jsonl``): ``qid``, ``language``, ``category``, ``question type``
(Action/Response), ``scenario``, ``subject``, ``choices`` (4 strings), ``label`` (gold text).
EU records (``EU.jsonl``): ``qid``, ``language``, ``coarse_category``, ``finegrained_category``,
``scenario``, ``subject``, ``emotion_choices`` + ``emotion_label``, ``cause_choices`` +
``cause_label``. Each EU record becomes two items sharing a ``group``: the record counts as
correct only when both the emotion and the cause are right (the official EU accuracy).

A folder is read as EmoBench publishes it (``data/`` holding ``EA.jsonl`` and ``EU.jsonl``, or
the repository root above it): each loader picks its own file (``EA.jsonl`` / ``EU.jsonl``,
case-insensitive, or ``EA-*.jsonl`` / ``EU_*.jsonl``); a folder with neither name is read whole.
A record of the other part (an EU record given to ``emobench-ea``) is an error that says which
benchmark reads it.

Only English records are loaded by default (``language="en"``; ``"zh"`` or ``"all"`` otherwise).
Questions follow the upstream prompts; the EU cause question is asked on its own, so it refers
to "the emotion(s) they ultimately feel" rather than to the first question's answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, gold_from_text, str_tags
from eval.benchmarks.records import Row, data_files, data_folder, folder_files, read_jsonl
from eval.items import MCQItem

LANGUAGES = ("en", "zh", "all")
_EA_TYPES_ZH = {"action": "行动", "response": "回应"}
_PARTS = {"emobench-ea": "EA", "emobench-eu": "EU"}
_MARKS = {"EA": "choices", "EU": "emotion_choices"}
"""A field only the records of that part have."""


def _files(path: Path, name: str) -> list[Path]:
    """``path`` itself, or this part's file in a folder as published (see the module docstring)."""
    if not path.is_dir():
        return data_files(path, (".jsonl",))
    part = _PARTS[name]
    other = "EU" if part == "EA" else "EA"
    files = folder_files(data_folder(path, (".jsonl",)), (".jsonl",))

    def named(label: str) -> list[Path]:
        exact = [f for f in files if f.stem.upper() == label]
        return exact or [f for f in files if re.split(r"[-_. ]", f.stem.upper(), maxsplit=1)[0] == label]

    mine = named(part)
    if mine:
        return mine
    if files and not named(other):
        return files
    found = ", ".join(f.name for f in files) or "no .jsonl files"
    raise BenchmarkError(
        f"{path}: no {part}.jsonl in this folder (found {found}); {name} reads EmoBench's {part}.jsonl: give that "
        f"file, or the folder holding EA.jsonl and EU.jsonl as published"
    )


def _check_part(row: Row, name: str) -> None:
    part = _PARTS[name]
    other, other_name = ("EU", "emobench-eu") if part == "EA" else ("EA", "emobench-ea")
    if _MARKS[part] not in row.data and _MARKS[other] in row.data:
        raise row.error(
            f"this is an EmoBench {other} record (it has {_MARKS[other]!r}); {other_name} reads it: use "
            f"--benchmark {other_name}, or give {part}.jsonl",
            _MARKS[part],
        )


def _rows(path: Path, language: str, name: str) -> list[Row]:
    if language not in LANGUAGES:
        raise BenchmarkError(f"{name}: language must be one of {list(LANGUAGES)}, got {language!r}")
    rows = []
    for file in _files(path, name):
        for row in read_jsonl(file):
            _check_part(row, name)
            if language == "all" or row.text("language") == language:
                rows.append(row)
    if not rows:
        raise BenchmarkError(f"{path}: no {name} records with language {language!r}")
    return rows


def _record_id(row: Row) -> str:
    return f"{row.text('language')}/{row.text('qid', optional=True) or row.index}"


def load_emobench_ea(path: Path, *, language: str = "en") -> list[MCQItem]:
    """Load EmoBench EA: one 4-way item per record."""
    items = []
    for row in _rows(path, language, "emobench-ea"):
        kind = row.text("question type")
        subject = row.text("subject")
        if row.text("language") == "zh":
            question = f"在这个场景中，对{subject}来说最有效的{_EA_TYPES_ZH.get(kind.lower(), kind)}是什么？"
        else:
            question = f"In this scenario, what is the most effective {kind.lower()} for {subject}?"
        options = row.text_list("choices")
        items.append(
            build_item(
                row,
                id=f"emobench-ea/{_record_id(row)}",
                benchmark="emobench-ea",
                context=row.text("scenario"),
                question=question,
                options=options,
                answer=gold_from_text(row, "label", options),
                tags=str_tags(
                    {
                        "category": row.text("category", optional=True),
                        "question_type": kind,
                        "language": row.text("language"),
                    }
                ),
            )
        )
    return items


def load_emobench_eu(path: Path, *, language: str = "en") -> list[MCQItem]:
    """Load EmoBench EU: two items (emotion, cause) per record, sharing a ``group``."""
    items = []
    for row in _rows(path, language, "emobench-eu"):
        subject = row.text("subject")
        zh = row.text("language") == "zh"
        questions = {
            "emotion": f"{subject}在这种情况下最终会有什么情绪？" if zh
            else f"What emotion(s) would {subject} ultimately feel in this situation?",
            "cause": f"{subject}为什么会在这种情况下产生这样的情绪？" if zh
            else f"Why would {subject} feel the emotion(s) they ultimately feel in this situation?",
        }
        record = _record_id(row)
        tags = str_tags(
            {
                "category": row.text("coarse_category", optional=True),
                "finegrained_category": row.text("finegrained_category", optional=True),
                "language": row.text("language"),
            }
        )
        for part, question in questions.items():
            options = row.text_list(f"{part}_choices")
            items.append(
                build_item(
                    row,
                    id=f"emobench-eu/{record}/{part}",
                    benchmark="emobench-eu",
                    context=row.text("scenario"),
                    question=question,
                    options=options,
                    answer=gold_from_text(row, f"{part}_label", options),
                    tags={**tags, "part": part},
                    group=f"emobench-eu/{record}",
                )
            )
    return items
