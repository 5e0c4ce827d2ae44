"""Errors raised while loading a benchmark: they name the file, the line (or record) and the field."""

from __future__ import annotations

from pathlib import Path


class BenchmarkError(Exception):
    """Any problem that stops a benchmark from loading (the CLI prints it and exits 2)."""


class BenchmarkFormatError(BenchmarkError):
    """A data file does not have the expected format.

    ``where`` is ``"line 12"`` for JSONL/CSV files, ``"record 3"`` for JSON documents and
    ``"row 7"`` for parquet tables; ``field`` is the offending field when there is one.
    """

    def __init__(self, path: str | Path, message: str, *, where: str | None = None, field: str | None = None):
        self.path = str(path)
        self.where = where
        self.field = field
        self.message = message
        parts = [self.path]
        if where:
            parts.append(where)
        if field:
            parts.append(f"field {field!r}")
        super().__init__(": ".join([*parts, message]))
