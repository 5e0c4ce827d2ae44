"""SimpleToM (Gu et al., 2024): short stories, then mental-state, behaviour and judgment questions.

Hugging Face ``datasets`` layout, as JSON, JSONL or parquet: rows with ``id`` (optional),
``story``, ``question``, ``choices`` = ``{"text": [...], "label": ["A", "B"]}`` (a plain list of
texts is accepted too) and ``answerKey`` (one of the labels). A folder loads every data file
under it; the tag ``subset`` is the first folder below it (``mental-state-qa``, ...) or the file
stem. ``scenario_name`` becomes a tag when present.
"""

from __future__ import annotations

from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, str_tags
from eval.benchmarks.records import TABLE_SUFFIXES, Row, read_table
from eval.items import MCQItem


def _files(path: Path) -> list[tuple[Path, str]]:
    """Data files with their name relative to ``path`` (no suffix): ids and the ``subset`` tag come from it."""
    if path.is_file():
        return [(path, path.stem)]
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
    if not files:
        raise BenchmarkError(f"{path}: no data files ({', '.join(TABLE_SUFFIXES)}) under this folder")
    return [(p, p.relative_to(path).with_suffix("").as_posix()) for p in files]


def _choices(row: Row) -> tuple[list[str], list[str]]:
    value = row.data.get("choices")
    if isinstance(value, dict):
        texts = Row(row.path, row.where, row.index, value).text_list("text")
        labels = Row(row.path, row.where, row.index, value).text_list("label")
        if len(labels) != len(texts):
            raise row.error(f"{len(texts)} texts but {len(labels)} labels", "choices")
        return texts, labels
    texts = row.text_list("choices")
    return texts, [chr(ord("A") + i) for i in range(len(texts))]


def load_simpletom(path: Path) -> list[MCQItem]:
    """Load SimpleToM rows from a file or a folder of files."""
    items = []
    for file, name in _files(path):
        subset = name.split("/")[0]
        for row in read_table(file):
            options, labels = _choices(row)
            key = row.text("answerKey")
            if key not in labels:
                raise row.error(f"{key!r} is not one of the choice labels {labels}", "answerKey")
            items.append(
                build_item(
                    row,
                    id=f"simpletom/{name}/{row.text('id', optional=True) or row.index}",
                    benchmark="simpletom",
                    context=row.text("story"),
                    question=row.text("question"),
                    options=options,
                    answer=labels.index(key),
                    tags=str_tags({"subset": subset, "scenario": row.data.get("scenario_name")}),
                )
            )
    return items
