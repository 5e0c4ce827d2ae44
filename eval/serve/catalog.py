"""The run folders the web app shows, read-only, and the episode filter of its list page.

Every read opens the folder's :class:`~eval.store.EpisodeStore` with ``read_only=True`` for that
one request, so a run that is still being written shows its new episodes on the next page load and
nothing the app does can change a stored run. Listing rows (:meth:`EpisodeStore.rows`) are cached
per folder until its SQLite files change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from envs.types import EpisodeStatus
from eval.report import unique_labels
from eval.serve.forms import FormModel
from eval.store import DB_NAME, EpisodeRow, EpisodeStore, StoreError, StoreSummary
from eval.suite_report import is_suite, read_suite, sotopia_runs

RunKind = Literal["evaluation", "training", "play"]
PAGE_SIZE = 100
SORTS = {
    "newest": "newest first",
    "oldest": "oldest first",
    "goal-high": "highest goal first",
    "goal-low": "lowest goal first",
    "step": "GRPO step",
}


class RunFolder(BaseModel):
    """One run folder the app serves."""

    label: str = Field(description="Short name, unique among the served folders (used in URLs).")
    path: Path = Field(description="The folder's episodes.sqlite.")
    play: bool = Field(False, description="The folder the app saves played episodes to.")


class ListedEpisode(BaseModel):
    """One row of the episode list: a stored episode's listing entry and the run it belongs to."""

    run: str
    row: EpisodeRow

    def goal_of(self, model: str | None = None) -> list[float]:
        """Goal scores of the agents played by ``model`` (every agent when None)."""
        return [
            dims["goal"]
            for agent, dims in self.row.scores.items()
            if "goal" in dims and (model is None or self.row.agent_models.get(agent) == model)
        ]


class EpisodeFilter(FormModel):
    """The list page's query: every field optional; a blank form field means "any"."""

    run: str | None = None
    scenario: str | None = None
    model: str | None = None
    status: EpisodeStatus | None = None
    min_goal: float | None = Field(
        None, description="Lowest goal score of the chosen model's agents (any agent)."
    )
    max_goal: float | None = Field(
        None, description="Highest goal score of the chosen model's agents (any agent)."
    )
    step: int | None = Field(None, ge=0, description="Only episodes played at this GRPO step.")
    sort: Literal["newest", "oldest", "goal-high", "goal-low", "step"] = "newest"
    page: int = Field(1, ge=1)

    def matches(self, item: ListedEpisode) -> bool:
        """Whether one listed episode passes every set field (goal bounds need a goal in range)."""
        row = item.row
        if self.run is not None and item.run != self.run:
            return False
        if self.scenario is not None and row.scenario_id != self.scenario:
            return False
        if self.model is not None and self.model not in row.agent_models.values():
            return False
        if self.status is not None and row.status is not self.status:
            return False
        if self.step is not None and row.training_step != self.step:
            return False
        if self.min_goal is not None or self.max_goal is not None:
            low = float("-inf") if self.min_goal is None else self.min_goal
            high = float("inf") if self.max_goal is None else self.max_goal
            if not any(low <= goal <= high for goal in item.goal_of(self.model)):
                return False
        return True

    def apply(self, items: Sequence[ListedEpisode]) -> list[ListedEpisode]:
        """The matching episodes in the chosen order (episodes without a goal sort last)."""
        found = [item for item in items if self.matches(item)]
        if self.sort in ("goal-high", "goal-low"):
            sign = -1 if self.sort == "goal-high" else 1

            def goal_key(item: ListedEpisode) -> tuple[bool, float]:
                goals = item.goal_of(self.model)
                best = (max(goals) if sign < 0 else min(goals)) if goals else 0.0
                return (not goals, sign * best)

            return sorted(found, key=goal_key)
        if self.sort == "step":
            return sorted(found, key=lambda i: (i.row.training_step is None, i.row.training_step or 0))
        return found[::-1] if self.sort == "newest" else found

    def query(self, **changes: object) -> dict[str, str]:
        """The query string fields of this filter with ``changes`` (for links), blanks left out."""
        values = self.model_dump(mode="json") | changes
        return {key: str(value) for key, value in values.items() if value is not None}


class Facets(BaseModel):
    """The choices the filter form offers: what the listed runs contain."""

    scenarios: dict[str, str] = Field(description="Scenario id -> codename.")
    models: list[str]
    statuses: list[str]
    steps: list[int]


class RunCatalog:
    """The served run folders (given ones, suites expanded, plus the play folder once it exists)."""

    def __init__(self, run_dirs: Sequence[str | Path], play_dir: str | Path | None = None) -> None:
        paths: list[Path] = []
        for given in map(Path, run_dirs):
            if given.is_dir() and is_suite(given):
                paths.extend(p / DB_NAME for p in sotopia_runs(read_suite(given).summary))
            else:
                paths.append(given if given.suffix == ".sqlite" else given / DB_NAME)
        self.play_path = Path(play_dir) / DB_NAME if play_dir is not None else None
        resolved = [p.resolve() for p in paths]
        if self.play_path is not None and self.play_path.resolve() in resolved:
            raise StoreError(
                f"the play folder {self.play_path.parent} is also a run folder to browse: give "
                "--play-dir a folder of its own (stored runs are only ever read)"
            )
        for path in paths:  # fail at start, naming the folder, rather than on the first page
            EpisodeStore(path, read_only=True).close()
        all_paths = paths + ([self.play_path] if self.play_path is not None else [])
        labels = unique_labels([p.parent for p in all_paths])
        self.folders = [
            RunFolder(label=label, path=path, play=path == self.play_path)
            for label, path in zip(labels, all_paths, strict=True)
        ]
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[tuple[int, ...], list[EpisodeRow]]] = {}

    def runs(self) -> list[RunFolder]:
        """The folders to show now (the play folder only once an episode was saved to it)."""
        return [f for f in self.folders if f.path.is_file()]

    def folder(self, label: str) -> RunFolder:
        """The folder with this label (``KeyError`` if none is served)."""
        for folder in self.runs():
            if folder.label == label:
                return folder
        raise KeyError(label)

    @contextmanager
    def open(self, label: str) -> Iterator[EpisodeStore]:
        """The folder's store, opened read-only for the length of the ``with`` block."""
        store = EpisodeStore(self.folder(label).path, read_only=True)
        try:
            yield store
        finally:
            store.close()

    def summary(self, label: str) -> StoreSummary:
        """Counts over one folder's store."""
        with self.open(label) as store:
            return store.summary()

    def rows(self, label: str) -> list[EpisodeRow]:
        """One folder's listing rows, oldest first (re-read only when its files changed)."""
        path = self.folder(label).path
        stamp = tuple(
            value
            for file in (path, path.with_name(path.name + "-wal"))
            for value in ((file.stat().st_mtime_ns, file.stat().st_size) if file.exists() else (0, 0))
        )
        with self._lock:
            cached = self._rows.get(label)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with self.open(label) as store:
            rows = store.rows()
        with self._lock:
            self._rows[label] = (stamp, rows)
        return rows

    def kind(self, label: str) -> RunKind:
        """``play`` for the play folder, ``training`` when its episodes carry GRPO steps, else ``evaluation``."""
        if self.folder(label).play:
            return "play"
        return "training" if any(r.training_step is not None for r in self.rows(label)) else "evaluation"

    def listed(self, run: str | None = None) -> list[ListedEpisode]:
        """Every episode of one folder (or all), oldest first within each folder."""
        labels = [run] if run is not None else [f.label for f in self.runs()]
        return [ListedEpisode(run=label, row=row) for label in labels for row in self.rows(label)]

    @staticmethod
    def facets(items: Sequence[ListedEpisode]) -> Facets:
        """The filter form's choices for these episodes."""
        return Facets(
            scenarios=dict(sorted({(i.row.scenario_id, i.row.codename) for i in items})),
            models=sorted({m for i in items for m in i.row.agent_models.values()}),
            statuses=sorted({i.row.status.value for i in items}),
            steps=sorted({i.row.training_step for i in items if i.row.training_step is not None}),
        )
