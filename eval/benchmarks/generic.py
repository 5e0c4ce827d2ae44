"""Our own JSONL format for any multiple-choice or free-text question set.

One JSON object per line::

    {"id": "q1",                      # optional, default "<file stem>/<line>"
     "context": "Anne puts ...",      # optional story/scenario
     "question": "Where will Sally look?",
     "options": ["basket", "box"],    # optional; without it the item is free text
     "answer": 0,                     # 0-based index, an option's exact text, or a letter ("A")
     "tags": {"order": "1"},          # optional, string values (grouping in results)
     "group": "story-7"}              # optional: items sharing a group are scored together

For free-text items ``answer`` is the gold text. Unknown fields are an error (typos do not pass
silently).
"""

from __future__ import annotations

from pathlib import Path

from eval.benchmarks.gold import build_item, gold_flexible, str_tags
from eval.benchmarks.records import Row, data_files, read_jsonl
from eval.items import MCQItem

FIELDS = {"id", "context", "question", "options", "answer", "tags", "group"}


def load_jsonl(path: Path, *, benchmark: str = "jsonl") -> list[MCQItem]:
    """Load generic JSONL items from a file or a folder of ``.jsonl`` files."""
    return [_item(row, file.stem, benchmark) for file in data_files(path, (".jsonl",)) for row in read_jsonl(file)]


def _item(row: Row, stem: str, benchmark: str) -> MCQItem:
    unknown = sorted(set(row.data) - FIELDS)
    if unknown:
        raise row.error(f"unknown field(s); the format has {sorted(FIELDS)}", unknown[0])
    tags = row.data.get("tags") or {}
    if not isinstance(tags, dict):
        raise row.error(f"expected an object of strings, got {type(tags).__name__}", "tags")
    for key, value in tags.items():
        if not isinstance(value, str | int | float | bool):
            raise row.error(f"tag {key!r} must be a string or number, got {type(value).__name__}", "tags")
    fields = {
        "id": row.text("id", optional=True) or f"{stem}/{row.index}",
        "benchmark": benchmark,
        "context": row.text("context", optional=True),
        "question": row.text("question"),
        "tags": str_tags(tags),
        "group": row.text("group", optional=True) or None,
    }
    if row.data.get("options") is not None:
        options = row.text_list("options")
        return build_item(row, **fields, options=options, answer=gold_flexible(row, "answer", options))
    return build_item(row, **fields, answer_text=row.text("answer"))
