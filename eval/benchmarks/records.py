"""Reading rows out of JSONL, JSON, CSV and parquet files, each row tagged with where it came from."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError

TABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


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
            out.append(str(entry).strip())
        return out


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_jsonl(path: Path) -> Iterator[Row]:
    """Rows of a JSON-lines file (blank lines skipped); a bad line names its number."""
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                       where=f"line {number}") from None
        if not isinstance(data, dict):
            raise BenchmarkFormatError(path, f"expected a JSON object, got {type(data).__name__}",
                                       where=f"line {number}")
        yield Row(path, f"line {number}", number, data)


def read_json(path: Path, list_keys: Sequence[str] = ("data",)) -> Iterator[Row]:
    """Rows of a JSON document: a list of objects, or an object holding one under ``list_keys``."""
    with _open(path) as handle:
        try:
            document = json.load(handle)
        except UnicodeDecodeError as exc:
            raise BenchmarkFormatError(path, f"not UTF-8 text: {exc.reason}") from None
        except json.JSONDecodeError as exc:
            raise BenchmarkFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                       where=f"line {exc.lineno}") from None
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
    with _open(path, newline="") as handle:
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
        except UnicodeDecodeError as exc:
            raise BenchmarkFormatError(path, f"not UTF-8 text: {exc.reason}", where=f"line {start}") from None


def read_parquet(path: Path) -> Iterator[Row]:
    """Rows of a parquet file (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BenchmarkError(f"{path}: reading parquet needs pyarrow: pip install pyarrow (or convert to JSONL)") from None
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


def data_files(path: Path, suffixes: Sequence[str] = TABLE_SUFFIXES) -> list[Path]:
    """The file itself, or a folder's data files with one of ``suffixes``, sorted by name."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not files:
            raise BenchmarkError(f"{path}: no data files ({', '.join(suffixes)}) in this folder")
        return files
    raise BenchmarkError(f"{path}: no such file or folder")


def _lines(path: Path) -> Iterator[str]:
    """Decoded lines of a file, read as bytes so that a bad byte is reported on its own line."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BenchmarkError(f"{path}: is a folder, expected a file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise BenchmarkFormatError(path, f"not UTF-8 text: {exc.reason}", where=f"line {number}") from None


def _open(path: Path, newline: str | None = None):
    try:
        return path.open(encoding="utf-8-sig", newline=newline)
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BenchmarkError(f"{path}: is a folder, expected a file") from None
