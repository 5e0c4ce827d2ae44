"""Reading rows out of JSONL, JSON, CSV and parquet files, each row tagged with where it came from.

Files are read with the limits of :mod:`scenarios.datafiles` (every message names the file and,
where there is one, the line or record and the field):

- a file over :data:`MAX_BENCHMARK_FILE_BYTES` (64 MiB; the largest published file we read,
  ToM-RL's ``test.jsonl``, is 8 MB) is refused before it is parsed;
- text must be UTF-8 (a byte-order mark and CRLF line ends are fine); UTF-16, Latin-1 and binary
  files are refused with a message saying which it looks like;
- a record may nest lists/objects at most 64 levels deep;
- a text field may hold at most :data:`MAX_TEXT_CHARS` (100,000) characters (the longest
  published one is 2,994), and a CSV field at most 131,072 (Python's ``csv`` limit).
"""

from __future__ import annotations

import csv
import io
import json
import reprlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError
from scenarios.datafiles import DataFileError, MiB, check_size, load_json, read_text

TABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
MAX_BENCHMARK_FILE_BYTES = 64 * MiB
"""Largest benchmark data file read (ToM-RL's test.jsonl, the largest we use, is 8 MB)."""
MAX_TEXT_CHARS = 100_000
"""Longest text field of a record (story, question, option, ...); the longest published one is 2,994."""
PUBLISHED_DATA_FOLDER = "data"
"""A repository as published keeps its files here (EmoBench, ToMBench): a folder without data files
of its own is read through its ``data/`` folder."""


@dataclass(frozen=True)
class Row:
    """One record of a data file: its fields and its location (for error messages and ids)."""

    path: Path
    where: str
    index: int
    data: dict[str, Any]

    def error(self, message: str, field: str | None = None) -> BenchmarkFormatError:
        """A :class:`BenchmarkFormatError` pointing at this row (and ``field``)."""
        return BenchmarkFormatError(self.path, message, where=self.where, field=field)

    def text(self, field: str, *, optional: bool = False, allow_empty: bool = False) -> str:
        """The field as a stripped string; a missing, non-string or empty value is a format error."""
        if field not in self.data or self.data[field] is None:
            if optional:
                return ""
            raise self.error("missing", field)
        value = self.data[field]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(f"expected text, got {type(value).__name__}", field)
        text = str(value).strip()
        if not text and not (optional or allow_empty):
            raise self.error("empty", field)
        if len(text) > MAX_TEXT_CHARS:
            raise self.error(_too_long(len(text)), field)
        return text

    def text_list(self, field: str) -> list[str]:
        """The field as a non-empty list of non-empty strings."""
        if field not in self.data or self.data[field] is None:
            raise self.error("missing", field)
        value = self.data[field]
        if not isinstance(value, list | tuple) or not value:
            raise self.error(f"expected a non-empty list of strings, got {_describe(value)}", field)
        out = []
        for i, entry in enumerate(value):
            if not isinstance(entry, str | int | float) or isinstance(entry, bool) or not str(entry).strip():
                raise self.error(f"entry {i} must be non-empty text, got {_describe(entry)}", field)
            if len(str(entry).strip()) > MAX_TEXT_CHARS:
                raise self.error(f"entry {i}: {_too_long(len(str(entry).strip()))}", field)
            out.append(str(entry).strip())
        return out


def _too_long(size: int) -> str:
    return (f"text of {size:,} characters is over the {MAX_TEXT_CHARS:,}-character limit for a benchmark field; "
            "is this the right file?")


def _describe(value: Any) -> str:
    text = reprlib.repr(value)  # bounded: long strings, lists and deep nesting are elided
    return text if len(text) <= 60 else text[:57] + "..."


def read_jsonl(path: Path) -> Iterator[Row]:
    """Rows of a JSON-lines file (blank lines skipped); a bad line names its number."""
    for number, line in enumerate(_text(path).split("\n"), start=1):  # not splitlines: JSON may hold U+2028
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            data = load_json(line, str(path), where)
        except json.JSONDecodeError as exc:
            raise BenchmarkFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", where=where) from None
        except DataFileError as exc:
            raise BenchmarkFormatError(path, exc.message, where=exc.where) from None
        if not isinstance(data, dict):
            raise BenchmarkFormatError(path, f"expected a JSON object, got {type(data).__name__}",
                                       where=f"line {number}")
        yield Row(path, f"line {number}", number, data)


def read_json(path: Path, list_keys: Sequence[str] = ("data",)) -> Iterator[Row]:
    """Rows of a JSON document: a list of objects, or an object holding one under ``list_keys``."""
    try:
        document = load_json(_text(path), str(path))
    except json.JSONDecodeError as exc:
        raise BenchmarkFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                   where=f"line {exc.lineno}") from None
    except DataFileError as exc:
        raise BenchmarkFormatError(path, exc.message, where=exc.where) from None
    records = document
    if isinstance(document, dict):
        key = next((k for k in list_keys if isinstance(document.get(k), list)), None)
        if key is None:
            raise BenchmarkFormatError(
                path, f"expected a JSON list of records or an object with a list under {list(list_keys)}"
            )
        records = document[key]
    if not isinstance(records, list):
        raise BenchmarkFormatError(path, f"expected a JSON list of records, got {type(records).__name__}")
    for number, data in enumerate(records, start=1):
        if not isinstance(data, dict):
            raise BenchmarkFormatError(path, f"expected a JSON object, got {type(data).__name__}",
                                       where=f"record {number}")
        yield Row(path, f"record {number}", number, data)


def read_csv(path: Path, required: Sequence[str] = ()) -> Iterator[Row]:
    """Rows of a CSV file with a header line; ``where`` is the line the record starts on."""
    with io.StringIO(_text(path), newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in required if name not in header]
        if missing:
            raise BenchmarkFormatError(path, f"header lacks column(s) {missing}; it has {header}", where="line 1")
        start = reader.line_num + 1
        try:
            for number, data in enumerate(reader, start=1):
                if None in data:
                    raise BenchmarkFormatError(path, f"more values than the {len(header)} header columns",
                                               where=f"line {start}")
                yield Row(path, f"line {start}", number, dict(data))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise BenchmarkFormatError(path, f"invalid CSV: {exc}", where=f"line {reader.line_num}") from None


def read_parquet(path: Path) -> Iterator[Row]:
    """Rows of a parquet file (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BenchmarkError(f"{path}: reading parquet needs pyarrow: pip install pyarrow (or convert to JSONL)") from None
    _check_size(path)
    try:
        records = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise BenchmarkFormatError(path, f"cannot read parquet: {exc}") from None
    for number, data in enumerate(records, start=1):
        yield Row(path, f"row {number}", number, data)


def read_table(path: Path) -> Iterator[Row]:
    """Rows of a data file, by suffix: ``.jsonl``, ``.json``, ``.csv`` or ``.parquet``."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".json":
        return read_json(path)
    if suffix == ".csv":
        return read_csv(path)
    if suffix == ".parquet":
        return read_parquet(path)
    raise BenchmarkError(f"{path}: unsupported file type {suffix!r}; expected one of {list(TABLE_SUFFIXES)}")


def folder_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """A folder's own data files with one of ``suffixes``, sorted by name (not those of subfolders)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def data_folder(path: Path, suffixes: Sequence[str] = TABLE_SUFFIXES) -> Path:
    """The folder holding the data: ``path``, or its ``data/`` folder when ``path`` has no data files itself."""
    inner = path / PUBLISHED_DATA_FOLDER
    if not folder_files(path, suffixes) and inner.is_dir() and folder_files(inner, suffixes):
        return inner
    return path


def data_files(path: Path, suffixes: Sequence[str] = TABLE_SUFFIXES) -> list[Path]:
    """The file itself, or a folder's data files with one of ``suffixes``, sorted by name.

    A folder as published may keep its files in ``data/`` (a repository's root): that one is read.
    """
    if path.is_file():
        return [path]
    if path.is_dir():
        files = folder_files(data_folder(path, suffixes), suffixes)
        if not files:
            raise BenchmarkError(f"{path}: no data files ({', '.join(suffixes)}) in this folder")
        return files
    raise BenchmarkError(f"{path}: no such file or folder")


def _check_size(path: Path) -> None:
    try:
        check_size(path, str(path), MAX_BENCHMARK_FILE_BYTES, "benchmark files")
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: no such file") from None
    except DataFileError as exc:
        raise BenchmarkFormatError(path, exc.message, where=exc.where) from None


def _text(path: Path) -> str:
    """The whole file as UTF-8 text (LF line ends), within the limits above."""
    if path.is_dir():
        raise BenchmarkError(f"{path}: is a folder, expected a file")
    try:
        return read_text(path, str(path), MAX_BENCHMARK_FILE_BYTES, "benchmark files")
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: no such file") from None
    except DataFileError as exc:
        raise BenchmarkFormatError(path, exc.message, where=exc.where) from None
