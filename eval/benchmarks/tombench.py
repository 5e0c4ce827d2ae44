"""ToMBench (Chen et al., ACL 2024): one JSONL file per task, bilingual records.

Fields used (English): ``STORY``, ``QUESTION``, ``OPTION-A`` .. ``OPTION-D``, the gold letter under
``"答案\\nANSWER"`` and the ability under ``"能力\\nABILITY"`` (``"<category>: <ability>"``). Keys
are matched on their English part (the text after the newline), so ``ANSWER`` also works.
``language="zh"`` reads the Chinese fields (``故事``, ``问题``, ``选项A`` ..) instead.
Options that are null (2-option items upstream) are dropped. Tags: ``category`` (the ATOMS
category before ':', case-normalised), ``ability`` (the full field) and ``task`` (the file stem).
Official scoring shuffles the options on each of 5 runs and takes a majority vote
(see :mod:`eval.benchmarks.scoring`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.gold import build_item, gold_from_letter
from eval.benchmarks.records import Row, data_files, read_jsonl
from eval.items import MCQItem

_FIELDS = {
    "en": {"story": "STORY", "question": "QUESTION", "options": ["OPTION-A", "OPTION-B", "OPTION-C", "OPTION-D"]},
    "zh": {"story": "故事", "question": "问题", "options": ["选项A", "选项B", "选项C", "选项D"]},
}


def normalize_category(category: str) -> str:
    """One spelling per ATOMS category: ``"Non-literal communication"`` -> ``"Non-Literal Communication"``."""
    return " ".join(category.split()).title()


def _key(row: Row, name: str) -> str:
    """The key of ``row`` that is ``name`` or ends with ``"\\n" + name`` (bilingual keys)."""
    if name in row.data:
        return name
    for key in row.data:
        if key.split("\n")[-1].strip() == name:
            return key
    raise row.error("missing", name)


def load_tombench(path: Path, *, language: str = "en") -> list[MCQItem]:
    """Load a ToMBench JSONL file or a folder of them (files in name order)."""
    if language not in _FIELDS:
        raise BenchmarkError(f"tombench: language must be one of {sorted(_FIELDS)}, got {language!r}")
    fields = _FIELDS[language]
    items = []
    for file in data_files(path, (".jsonl",)):
        for row in read_jsonl(file):
            items.append(_item(row, file.stem, fields, language))
    return items


def _item(row: Row, task: str, fields: dict[str, Any], language: str) -> MCQItem:
    options = []
    for position, key in enumerate(fields["options"]):
        value = row.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if position < 2:
                raise row.error("missing", key)
            continue
        if len(options) < position:
            raise row.error(f"option follows an empty option {fields['options'][position - 1]!r}", key)
        options.append(row.text(key))
    answer_key = _key(row, "ANSWER")
    ability_key = _key(row, "ABILITY")
    ability = row.text(ability_key)
    category = normalize_category(ability.split(":", 1)[0]) if ":" in ability else normalize_category(ability)
    return build_item(
        row,
        id=f"tombench/{task}/{row.index}" + ("" if language == "en" else f"/{language}"),
        benchmark="tombench",
        context=row.text(fields["story"]),
        question=row.text(fields["question"]),
        options=options,
        answer=gold_from_letter(row, answer_key, options),
        tags={"category": category, "ability": ability, "task": task},
    )
