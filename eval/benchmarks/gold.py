"""Turning a file's gold answer (letter, index or option text) into an option index, and rows into items."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from eval.benchmarks.records import Row
from eval.items import LETTERS, MCQItem

_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\s*[.:)]?$")


def letter_index(letter: str) -> int | None:
    """Index of a gold letter such as ``"B"``, ``"b"``, ``"(B)"`` or ``"A. "``; None if it is not one."""
    match = _LETTER.match(letter.strip())
    return LETTERS.index(match.group(1).upper()) if match else None


def gold_from_letter(row: Row, field: str, options: list[str]) -> int:
    """The option index named by the letter in ``row[field]``."""
    value = row.text(field)
    index = letter_index(value)
    if index is None:
        raise row.error(f"expected an option letter, got {value!r}", field)
    if index >= len(options):
        raise row.error(f"letter {value!r} names no option (there are {len(options)})", field)
    return index


def gold_from_text(row: Row, field: str, options: list[str]) -> int:
    """The index of the option whose text equals ``row[field]`` (exact match after stripping)."""
    value = row.text(field)
    if value in options:
        return options.index(value)
    folded = [o.casefold() for o in options]
    if value.casefold() in folded:
        return folded.index(value.casefold())
    raise row.error(f"gold answer {value!r} is not one of the options {options}", field)


def gold_flexible(row: Row, field: str, options: list[str]) -> int:
    """Gold given as a 0-based index, an option's exact text, or a letter (in that order of precedence)."""
    if field not in row.data or row.data[field] is None:
        raise row.error("missing", field)
    value: Any = row.data[field]
    if isinstance(value, bool):
        raise row.error(f"expected an index, letter or option text, got {value!r}", field)
    if isinstance(value, int):
        if not 0 <= value < len(options):
            raise row.error(f"index {value} is out of range for {len(options)} options", field)
        return value
    if not isinstance(value, str):
        raise row.error(f"expected an index, letter or option text, got {type(value).__name__}", field)
    text = value.strip()
    if text in options:
        return options.index(text)
    index = letter_index(text)
    if index is not None and index < len(options):
        return index
    raise row.error(f"gold answer {value!r} is neither an option's text nor a letter A-{LETTERS[len(options) - 1]}",
                    field)


def build_item(row: Row, **fields: Any) -> MCQItem:
    """An :class:`MCQItem` from ``fields``; a validation failure becomes a format error on ``row``."""
    try:
        return MCQItem(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        raise row.error(first.get("msg", str(exc)), field) from None


def str_tags(values: dict[str, Any]) -> dict[str, str]:
    """Tags as strings (booleans lower-case, ``1.0`` as ``1``), dropping None and empty values."""
    tags = {}
    for key, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        tags[key] = text.lower() if isinstance(value, bool) or text in ("True", "False") else text
    return tags
