"""Picking one split's file out of a dataset folder (``dev.jsonl``, ``validation-00000-of-00001.parquet``)."""

from __future__ import annotations

import re
from pathlib import Path

from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.records import TABLE_SUFFIXES

SPLIT_ALIASES = {"dev": ("dev", "validation", "val"), "validation": ("validation", "dev", "val")}


def split_file(path: Path, split: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> Path:
    """``path`` itself if it is a file; in a folder (searched recursively), the one file of ``split``.

    The file's name is ``split`` or starts with ``split-`` (``dev.jsonl``, Hugging Face's
    ``validation-00000-of-00001.parquet``); failing that, ``split`` is one of the name's
    ``_``/``-``-separated words (ToM-RL's published ``ToM_test_HiExTi_hint.parquet``). ``dev`` and
    ``validation`` stand for each other; files named ``*-labels*`` are skipped.
    """
    if path.is_file():
        return path
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    candidates = [
        p for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix.lower() in suffixes and "labels" not in p.stem.lower()
    ]
    names = [n.lower() for n in SPLIT_ALIASES.get(split, (split,))]
    matches = (
        lambda stem, name: stem == name or stem.startswith(name + "-"),  # dev.jsonl, validation-00000-of-1
        lambda stem, name: name in re.split(r"[-_. ]+", stem),  # ToM-RL's ToM_test_HiExTi_hint.parquet
    )
    for match in matches:
        for name in names:
            found = [p for p in candidates if match(p.stem.lower(), name)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise BenchmarkError(f"{path}: several files for split {split!r}: {[str(p) for p in found]}")
    raise BenchmarkError(
        f"{path}: no data file for split {split!r} (looked for {'/'.join(SPLIT_ALIASES.get(split, (split,)))}"
        f" with {', '.join(suffixes)}); found {[p.name for p in candidates]}"
    )
