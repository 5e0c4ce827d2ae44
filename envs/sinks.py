"""Where finished episodes go as they end: the sink protocol and a JSON-lines file.

``eval.store`` (SQLite) implements the same protocol; :class:`JSONLSink` is the dependency-free
default: ``DIR/episodes.jsonl``, one :class:`~envs.types.Episode` per line, appended and flushed
per episode so a crash loses nothing already finished.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import ValidationError

from envs.types import Episode

EPISODES_FILE = "episodes.jsonl"


@runtime_checkable
class EpisodeSink(Protocol):
    """Receives every episode as it ends (finished or failed)."""

    async def write(self, episode: Episode) -> None:
        """Store one episode."""


class JSONLSink:
    """Appends episodes to ``directory/episodes.jsonl`` (created if needed), one JSON object per line."""

    def __init__(self, directory: str | os.PathLike[str], filename: str = EPISODES_FILE) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / filename
        self.count = 0
        self._lock = asyncio.Lock()

    async def write(self, episode: Episode) -> None:
        """Append the episode and flush it to disk."""
        line = episode.model_dump_json() + "\n"
        async with self._lock:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self.count += 1


def read_episodes(path: str | os.PathLike[str]) -> list[Episode]:
    """Read episodes back from a JSONL file, or from ``DIR/episodes.jsonl`` when given a folder."""
    path = Path(path)
    if path.is_dir():
        path = path / EPISODES_FILE
    episodes = []
    lines = path.read_text(encoding="utf-8").split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            episodes.append(Episode.model_validate_json(line))
        except ValidationError as exc:
            if index == last and index == len(lines) - 1:  # no newline after it: a write cut short by a crash
                warnings.warn(f"{path}:{index + 1}: the last line is cut short; kept the {len(episodes)} before it",
                              stacklevel=2)  # fmt: skip
                break
            raise ValueError(f"{path}:{index + 1}: not a valid episode: {exc}") from exc
    return episodes
