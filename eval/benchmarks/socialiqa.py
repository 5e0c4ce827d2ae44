"""Social IQa (Sap et al., EMNLP 2019): three-way questions about people's motives and reactions.

Two layouts are read:

* published: a JSONL file of ``context``, ``question``, ``answerA``, ``answerB``, ``answerC`` and
  a separate labels file with one gold number (1, 2 or 3) per line, e.g. ``dev.jsonl`` +
  ``dev-labels.lst`` (found next to the data file, or given as ``labels=``);
* Hugging Face ``datasets``: the same fields plus ``label`` (``"1"``..``"3"``) in each row, as
  JSON, JSONL or parquet.

A folder is searched for the ``split`` (default ``dev``, which also matches ``validation``).
Tags: ``dimension`` when the row has ``promptDim``.
"""

from __future__ import annotations

from pathlib import Path

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError
from eval.benchmarks.gold import build_item, str_tags
from eval.benchmarks.records import Row, read_table
from eval.benchmarks.splits import split_file
from eval.items import MCQItem

ANSWER_FIELDS = ("answerA", "answerB", "answerC")


def _labels_file(data: Path) -> Path | None:
    for name in (f"{data.stem}-labels.lst", f"{data.stem}_labels.lst", f"{data.stem}-labels.txt"):
        if (data.parent / name).is_file():
            return data.parent / name
    return None


def _read_labels(path: Path) -> list[tuple[int, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read labels: {exc.strerror}") from None
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def load_socialiqa(path: Path, *, split: str = "dev", labels: Path | None = None) -> list[MCQItem]:
    """Load Social IQa rows with their gold labels (in the rows or in a labels file)."""
    data = split_file(path, split)
    rows = list(read_table(data))
    if not rows:
        raise BenchmarkError(f"{data}: no Social IQa rows")
    label_path = labels or (None if "label" in rows[0].data else _labels_file(data))
    golds: list[tuple[Row | Path, str, str]] = []  # (where to blame, location, value)
    if label_path is not None:
        label_lines = _read_labels(Path(label_path))
        if len(label_lines) != len(rows):
            raise BenchmarkFormatError(
                label_path, f"has {len(label_lines)} labels but {data} has {len(rows)} rows"
            )
        golds = [(Path(label_path), f"line {number}", value) for number, value in label_lines]
    else:
        golds = [(row, row.where, row.text("label")) for row in rows]
    items = []
    for row, (source, where, value) in zip(rows, golds, strict=True):
        options = [row.text(field) for field in ANSWER_FIELDS]
        if value not in ("1", "2", "3"):
            if isinstance(source, Row):
                raise source.error(f"expected 1, 2 or 3, got {value!r}", "label")
            raise BenchmarkFormatError(source, f"expected 1, 2 or 3, got {value!r}", where=where)
        items.append(
            build_item(
                row,
                id=f"socialiqa/{data.stem}/{row.text('id', optional=True) or row.index}",
                benchmark="socialiqa",
                context=row.text("context"),
                question=row.text("question"),
                options=options,
                answer=int(value) - 1,
                tags=str_tags({"dimension": row.data.get("promptDim")}),
            )
        )
    return items
