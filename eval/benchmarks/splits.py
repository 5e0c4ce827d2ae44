"""Picking one split's file out of a dataset folder (``dev.jsonl``, ``validation-00000-of-00001.parquet``)."""

from __future__ import annotations

from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.records import TABLE_SUFFIXES

SPLIT_ALIASES = {"dev": ("dev", "validation", "val"), "validation": ("validation", "dev", "val")}


def split_file(path: Path, split: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> Path:
    """``path`` itself if it is a file; in a folder, the one data file whose name starts with ``split``.

    ``dev`` and ``validation`` stand for each other; files named ``*-labels*`` are skipped.
    """
    if path.is_file():
        return path
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    candidates = [
        p for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix.lower() in suffixes and "labels" not in p.stem.lower()
    ]
    for name in (n.lower() for n in SPLIT_ALIASES.get(split, (split,))):
        found = [p for p in candidates if p.stem.lower() == name or p.stem.lower().startswith(name + "-")]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise BenchmarkError(f"{path}: several files for split {split!r}: {[str(p) for p in found]}")
    raise BenchmarkError(
        f"{path}: no data file for split {split!r} (looked for {'/'.join(SPLIT_ALIASES.get(split, (split,)))}"
        f" with {', '.join(suffixes)}); found {[p.name for p in candidates]}"
    )
