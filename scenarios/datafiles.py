"""Reading data files written by someone else (scenario files, SOTOPIA dumps, benchmark files, configs).

Every reader of a file we did not write goes through here, so that a hostile or broken file gets a
clear :class:`DataFileError` (a ``ValueError``) naming the file (and the line when there is one)
and saying what to do, never a traceback, within bounded time and memory:

- **size**: a file over the caller's limit is refused before it is parsed (the limit is in the
  message). Limits: scenario files and SOTOPIA dump files :data:`MAX_SCENARIO_FILE_BYTES`
  (16 MiB), benchmark files ``eval.benchmarks.records.MAX_BENCHMARK_FILE_BYTES`` (64 MiB),
  training configs ``training.config`` (1 MiB).
- **encoding**: text must be UTF-8. A UTF-8 byte-order mark is dropped and CRLF/CR line ends are
  read as LF; UTF-16/UTF-32 (with or without a byte-order mark), Latin-1 bytes and binary data
  are refused with a message saying which it looks like and to save the file as UTF-8.
- **nesting**: at most :data:`MAX_DEPTH` levels of lists/mappings inside each other (our files
  need fewer than 10). YAML is checked on its event stream *before* it is built (libyaml's builder
  recurses in C and crashes the interpreter on very deep input); JSON's own recursion guard is
  caught and the parsed value is checked too.
- **YAML aliases**: the nodes that aliases (``*name``) add, counted with what they expand to, may
  not exceed :data:`MAX_ALIAS_NODES` (an alias bomb of nine nested lists expands to 387 million
  nodes; ordinary ``<<: *defaults`` merges add a few).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

MiB = 1024 * 1024
MAX_SCENARIO_FILE_BYTES = 16 * MiB
"""Scenario files (YAML/JSON) and each file of a SOTOPIA dump; SOTOPIA's largest file is 94 KB."""
MAX_DEPTH = 64
"""Lists/mappings inside each other; a scenario file needs 7 levels, a benchmark record 3."""
MAX_ALIAS_NODES = 100_000
"""Nodes that YAML aliases may add to a document, counting what each alias expands to."""

FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "save it as UTF-8 (e.g. iconv -t UTF-8, or 'Save as... UTF-8' in an editor)"


class DataFileError(ValueError):
    """A data file cannot be read safely; the message names the file (and line) and the fix."""

    def __init__(self, path: str, message: str, where: str | None = None) -> None:
        self.path = path
        self.where = where
        self.message = message
        super().__init__(": ".join(part for part in (path, where, message) if part))


def size_text(size: int) -> str:
    """``16777216`` -> ``'16 MiB'``, ``52428875`` -> ``'50.0 MiB'``, ``900`` -> ``'900 bytes'``."""
    if size < 1024:
        return f"{size} bytes"
    if size < MiB:
        return f"{size / 1024:.1f} KiB"
    mib = size / MiB
    return f"{mib:.0f} MiB" if mib.is_integer() else f"{mib:.1f} MiB"


def too_big(shown: str, size: int | None, limit: int, what: str) -> DataFileError:
    """The error for a file over ``limit`` bytes (``size`` None: it grew past it while being read)."""
    measured = f"{size_text(size)}, " if size is not None else ""
    return DataFileError(
        shown,
        f"the file is {measured}over the {size_text(limit)} limit for {what}; "
        "split it into smaller files (a folder of files loads as one)",
    )


def check_size(path: Path, shown: str, limit: int, what: str) -> None:
    """Refuse a file over ``limit`` bytes before anything reads it (FileNotFoundError passes through)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataFileError(shown, f"cannot read file: {exc.strerror}") from None
    if size > limit:
        raise too_big(shown, size, limit, what)


def read_bytes(path: Path, shown: str, limit: int, what: str) -> bytes:
    """The file's bytes, refusing it when over ``limit`` (checked before and while reading)."""
    check_size(path, shown, limit, what)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataFileError(shown, f"cannot read file: {exc.strerror}") from None
    if len(data) > limit:
        raise too_big(shown, None, limit, what)
    return data


def decode_text(data: bytes, shown: str) -> str:
    """UTF-8 text with LF line ends; other encodings and binary data are refused (see module doc)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise DataFileError(shown, f"the file is {name} text (it starts with a {name} byte-order mark), "
                                       f"not UTF-8; {SAVE_AS_UTF8}")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _undecodable(shown, data, exc.start) from None
    if "\x00" in text:
        raise _undecodable(shown, data, data.index(b"\x00"))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _undecodable(shown: str, data: bytes, offset: int) -> DataFileError:
    """Say what undecodable (or NUL-holding) bytes look like: UTF-16/32, binary data or a legacy encoding."""
    sample = data[:8192]
    quarter = len(sample) // 4
    zeros = sample.count(0)
    if zeros and (sample[1::2].count(0) > quarter or sample[0::2].count(0) > quarter):
        wide = sample[1::4].count(0) > quarter // 2 and sample[2::4].count(0) > quarter // 2
        name = "UTF-32" if wide else "UTF-16"
        return DataFileError(shown, f"the file looks like {name} text without a byte-order mark, not UTF-8; "
                                    f"{SAVE_AS_UTF8}")
    control = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    if zeros or control * 20 > len(sample):
        return DataFileError(shown, f"binary data (byte 0x{data[offset]:02x} at offset {offset}), not a text file; "
                                    "expected UTF-8 text (is this the right file, or an archive to unpack first?)")
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return DataFileError(
        shown,
        f"not UTF-8 text: byte 0x{data[offset]:02x} cannot be decoded (the file may be Latin-1, "
        f"Windows-1252 or another legacy encoding); {SAVE_AS_UTF8}",
        f"line {line}, column {column}",
    )


def read_text(path: Path, shown: str, limit: int, what: str) -> str:
    """:func:`read_bytes` then :func:`decode_text`."""
    return decode_text(read_bytes(path, shown, limit, what), shown)


# --------------------------------------------------------------------------------- nesting


def _value_problem(exc: Exception) -> str:
    """A parser's value error in words (Python's digit limit for integers says how to lift it, not the fix)."""
    if "integer string conversion" in str(exc):
        return "a number with more than 4,300 digits; no field takes such a number (write it as text, in quotes)"
    return str(exc)


def too_deep(shown: str, where: str | None = None, limit: int = MAX_DEPTH) -> DataFileError:
    """The error for lists/mappings nested deeper than ``limit``."""
    return DataFileError(
        shown,
        f"nested more than {limit} levels deep (lists/mappings inside each other); the format needs fewer "
        "than 10: check what wrote this file",
        where,
    )


def exceeds_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` holds lists/dicts nested more than ``limit`` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def load_json(text: str, shown: str, where: str | None = None,
              object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """``json.loads`` with a nesting limit.

    ``json.JSONDecodeError`` (syntax) passes through for the caller to place; too deep a value and
    any other value error (a number too long to convert, a rejected key) become :class:`DataFileError`.
    """
    try:
        value = json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise too_deep(shown, where) from None
    except ValueError as exc:
        raise DataFileError(shown, f"invalid JSON: {_value_problem(exc)}", where) from None
    if exceeds_depth(value):
        raise too_deep(shown, where)
    return value


# --------------------------------------------------------------------------------- YAML


def check_yaml_events(text: str, shown: str) -> None:
    """Scan YAML's events (no objects built) for nesting over :data:`MAX_DEPTH` and alias bombs.

    Syntax errors pass through as ``yaml.YAMLError``; the building step would find them anyway.
    """
    open_nodes: list[list[Any]] = []  # [anchor, nodes so far] per open collection
    sizes: dict[str, int] = {}
    added = 0
    for event in yaml.parse(text, Loader=FastSafeLoader):
        if isinstance(event, _OPEN):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > MAX_DEPTH:
                raise too_deep(shown, f"line {event.start_mark.line + 1}")
        elif isinstance(event, _CLOSE):
            anchor, count = open_nodes.pop()
            if anchor:
                sizes[anchor] = count
            if open_nodes:
                open_nodes[-1][1] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            if open_nodes:
                open_nodes[-1][1] += 1
        elif isinstance(event, yaml.AliasEvent):
            count = sizes.get(event.anchor, 1)
            added += count
            if added > MAX_ALIAS_NODES:
                raise DataFileError(
                    shown,
                    f"YAML aliases (*{event.anchor} and others) expand to more than {MAX_ALIAS_NODES:,} nodes "
                    "(an alias bomb?); write the repeated parts out, or use fewer aliases",
                    f"line {event.start_mark.line + 1}",
                )
            if open_nodes:
                open_nodes[-1][1] += count


def load_yaml(text: str, shown: str, loader: type[Any] = FastSafeLoader) -> Any:
    """Parse YAML after :func:`check_yaml_events`; every failure is a :class:`DataFileError`.

    Syntax errors read ``<file>: line L, column C: invalid YAML: <problem>``.
    """
    try:
        check_yaml_events(text, shown)
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        raise DataFileError(shown, f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise DataFileError(shown, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise too_deep(shown) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer too long to convert
        if isinstance(exc, DataFileError):
            raise
        raise DataFileError(shown, f"invalid YAML: {_value_problem(exc)}") from None


def read_yaml_file(path: Path, shown: str, limit: int, what: str, loader: type[Any] = FastSafeLoader) -> Any:
    """A YAML file read with every check of this module (FileNotFoundError passes through)."""
    return load_yaml(read_text(path, shown, limit, what), shown, loader)
