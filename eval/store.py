"""The episode store: one SQLite file per run folder (``DIR/episodes.sqlite``), written as episodes end.

Tables (WAL mode, so readers never block the writer):

- ``runs``: one row per invocation that wrote into the folder: run id, creation time, config JSON,
  the models it used, the git revision of the code (best effort), and, once it ends
  (:meth:`EpisodeStore.finish_run`), its finish time and summary JSON.
- ``episodes``: one row per episode id (an upsert replaces it): searchable columns (setup,
  scenario, agent models, status, error, termination reason, start/finish, timings, token counts)
  plus the full :class:`~envs.types.Episode` JSON, with every turn's raw model text and reasoning.
- ``episode_history``: every finished or failed version of an episode that a later write replaced
  (e.g. a failed attempt that a rerun retried), so nothing written is ever lost.
- ``judgements``: one row per judged episode: evaluator, ok, error, attempts, latency, raw text.
- ``scores``: one row per episode, agent and dimension: score and the judge's reasoning. A failed
  judgement has a ``judgements`` row with ``ok = 0`` and no ``scores`` rows (never zeros). With a
  jury or repeated judging these hold the aggregate; each single judgement is in the episode JSON
  (``evaluation.judgements``), as are the rule-check results (``evaluation.checks``).
- ``run_cards``: the run card of each run that recorded one (:mod:`eval.runcard`); created on
  first use, so older stores open unchanged.

Resume: :meth:`EpisodeStore.finished_keys` / :meth:`EpisodeStore.has` count only *finished*
episodes, so a rerun into the same folder skips them and retries failed (and interrupted,
still ``running``) ones; the retry's result replaces the stored row and the old version moves to
``episode_history``.

Concurrency: every thread gets its own connection; writes from one store object are serialised by a
lock and run as ``BEGIN IMMEDIATE`` transactions, and ``busy_timeout`` makes several processes on
one file wait for each other instead of failing. ``await store.write(episode)`` (the runner's sink
protocol) runs the write in a worker thread, so the event loop never blocks on disk.

Readers that must not change a run (the web app, :mod:`eval.serve`) open it with ``read_only=True``:
SQLite then opens the file read-only and every write is refused.

CLI: ``python -m eval.store export DIR`` (one JSON line per episode) and
``python -m eval.store summary DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field

from envs.types import Episode, EpisodeStatus
from eval.stats import episode_judgement, summarize_dimensions

DB_NAME = "episodes.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    config_json TEXT NOT NULL,
    models_json TEXT NOT NULL,
    git_revision TEXT,
    finished_at TEXT,
    summary_json TEXT
);
CREATE TABLE episodes (
    episode_id TEXT PRIMARY KEY,
    run_id TEXT REFERENCES runs(run_id),
    setup_id TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    agent_models_json TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    termination_reason TEXT,
    started_at TEXT,
    finished_at TEXT,
    duration_s REAL,
    num_turns INTEGER NOT NULL,
    model_latency_s REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    episode_json TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX episodes_status ON episodes(status);
CREATE INDEX episodes_scenario ON episodes(scenario_id);
CREATE TABLE episode_history (
    episode_id TEXT NOT NULL,
    replaced_at TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    episode_json TEXT NOT NULL
);
CREATE INDEX episode_history_id ON episode_history(episode_id);
CREATE TABLE judgements (
    episode_id TEXT PRIMARY KEY REFERENCES episodes(episode_id) ON DELETE CASCADE,
    evaluator TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    attempts INTEGER,
    latency_s REAL,
    raw_text TEXT
);
CREATE TABLE scores (
    episode_id TEXT NOT NULL REFERENCES episodes(episode_id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    dimension TEXT NOT NULL,
    score REAL NOT NULL,
    reasoning TEXT NOT NULL,
    PRIMARY KEY (episode_id, agent, dimension)
);
"""
_TABLES = {"runs", "episodes", "episode_history", "judgements", "scores"}
_RUN_CARDS = "CREATE TABLE IF NOT EXISTS run_cards (run_id TEXT PRIMARY KEY REFERENCES runs(run_id), card_json TEXT NOT NULL)"
"""Added after schema 1 without a version bump: created when a run first records a card (eval.runcard)."""


class StoreError(RuntimeError):
    """The store is missing, unreadable or not a SocialGym episode store (the message says what to do)."""


class RunInfo(BaseModel):
    """One invocation that wrote into a run folder."""

    run_id: str
    created_at: datetime
    config: dict[str, Any] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)
    git_revision: str | None = None
    finished_at: datetime | None = None
    summary: dict[str, Any] | None = Field(None, description="What the invocation reported when it ended.")
    card: dict[str, Any] | None = Field(
        None, description="The run card recorded when it started (eval.runcard)."
    )


class EpisodeRow(BaseModel):
    """One stored episode as a listing shows it: what it played and how it ended, no transcript."""

    episode_id: str
    run_id: str | None
    scenario_id: str
    codename: str = ""
    agent_models: dict[str, str] = Field(description="Agent name -> model/agent spec, in role order.")
    status: EpisodeStatus
    error: str | None = None
    termination_reason: str | None = None
    started_at: datetime | None = None
    num_turns: int
    training_step: int | None = Field(
        None, description="The GRPO step that played it (``metadata.training_step``); None outside training."
    )
    scores: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Agent -> dimension -> score (goal, rules, ...), as on the episode."
    )
    judged: bool | None = Field(None, description="Whether its judgement succeeded; None when not judged.")


class StoreSummary(BaseModel):
    """Counts over everything in one store."""

    path: str
    runs: list[RunInfo]
    episodes: int
    by_status: dict[str, int]
    judged_ok: int
    judgement_failed: int
    unjudged_finished: int = Field(description="Finished episodes with no judgement at all.")
    replaced_versions: int = Field(description="Earlier versions kept in episode_history.")
    scenarios: int
    models: list[str]
    turns: int
    prompt_tokens: int
    completion_tokens: int

    def render(self) -> str:
        """A few human-readable lines."""
        status = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items())) or "none"
        lines = [
            f"store: {self.path}",
            f"runs: {len(self.runs)}" + (f" (latest {self.runs[-1].run_id})" if self.runs else ""),
            f"episodes: {self.episodes} ({status}); scenarios: {self.scenarios}",
            f"judgements: {self.judged_ok} ok, {self.judgement_failed} failed, "
            f"{self.unjudged_finished} finished episodes not judged",
            f"earlier versions kept: {self.replaced_versions}",
            f"models: {', '.join(self.models) or '-'}",
            f"turns: {self.turns}; tokens: {self.prompt_tokens} prompt, {self.completion_tokens} completion",
        ]
        return "\n".join(lines)


def git_revision(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the code's checkout, or None when it cannot be found."""
    where = cwd or Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _sum_or_none(values: Sequence[float | int | None]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _json_dict(config: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, BaseModel):
        return config.model_dump(mode="json")
    # Round-trip through JSON so what is returned later equals what was stored.
    return json.loads(json.dumps(dict(config), default=str))


class EpisodeStore:
    """SQLite episode store for one run folder; see the module docstring for tables and semantics.

    ``run_dir`` is the run folder (``episodes.sqlite`` inside it) or the ``.sqlite`` file itself.
    With ``create=False`` a missing store is an error instead of being created. With ``read_only``
    (implies ``create=False``) SQLite opens the file read-only: any write raises :class:`StoreError`.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        create: bool = True,
        read_only: bool = False,
        busy_timeout_s: float = 60.0,
    ) -> None:
        given = Path(run_dir)
        self.path = given if given.suffix == ".sqlite" or given.is_file() else given / DB_NAME
        self.run_dir = self.path.parent
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._run_id: str | None = None
        self._closed = False
        self.read_only = read_only
        if not self.path.exists():
            if not create or read_only:
                raise StoreError(
                    f"no episode store at {self.path}: check the run folder, or run an evaluation "
                    f"into it first (e.g. python -m eval.interactive ... --out {self.run_dir})"
                )
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self._open()

    # -- connections -------------------------------------------------------------------------

    def _unreadable(self, exc: Exception) -> StoreError:
        return StoreError(
            f"{self.path} is not a readable SocialGym episode store ({exc}). It may be corrupt or a "
            f"different file: move it aside (keep it for inspection) and rerun to start a fresh store, "
            f"or point to the right run folder."
        )

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the episode store {self.path} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            target: str | Path = self.path
            if self.read_only:
                target = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode=ro"
            conn = sqlite3.connect(
                target,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
                uri=self.read_only,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> None:
        try:
            conn = self._connection()
            query = "PRAGMA journal_mode" if self.read_only else "PRAGMA journal_mode = WAL"
            mode = conn.execute(query).fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._unreadable(exc) from exc
        if str(mode).lower() != "wal" and not self.read_only:
            self.close()
            raise StoreError(f"{self.path}: could not switch the store to WAL mode (got {mode!r})")
        if version > SCHEMA_VERSION:
            self.close()
            raise StoreError(
                f"{self.path} was written by a newer SocialGym (store schema {version}, this code reads "
                f"{SCHEMA_VERSION}): upgrade SocialGym to read it"
            )
        if version == SCHEMA_VERSION and tables >= _TABLES:
            return
        if tables or self.read_only:
            self.close()
            raise StoreError(
                f"{self.path} is an SQLite file but not a SocialGym episode store (tables: "
                f"{', '.join(sorted(tables))}): point to the right run folder or move the file aside"
            )
        with self._transaction() as tx:
            # Another process may have created the schema between our check and our lock.
            if tx.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(f"{self.path} was opened read-only: nothing can be written to it")
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
        self._closed = True

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs --------------------------------------------------------------------------------

    def start_run(
        self,
        config: Mapping[str, Any] | BaseModel | None = None,
        models: Sequence[str] = (),
        run_id: str | None = None,
        card: Mapping[str, Any] | BaseModel | None = None,
    ) -> RunInfo:
        """Record a new invocation (config, models, git revision, run card); later writes carry its id.

        The card goes to the ``run_cards`` table, created on first use (stores written before it
        existed still open, and their runs have no card).
        """
        info = RunInfo(
            run_id=run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
            created_at=datetime.now(UTC),
            config=_json_dict(config),
            models=list(models),
            git_revision=git_revision(),
            card=_json_dict(card) if card is not None else None,
        )
        with self._transaction() as tx:
            tx.execute(
                "INSERT INTO runs (run_id, created_at, config_json, models_json, git_revision) "
                "VALUES (?, ?, ?, ?, ?)",
                (info.run_id, _iso(info.created_at), json.dumps(info.config), json.dumps(info.models),
                 info.git_revision),
            )  # fmt: skip
            if info.card is not None:
                tx.execute(_RUN_CARDS)
                tx.execute(
                    "INSERT INTO run_cards (run_id, card_json) VALUES (?, ?)",
                    (info.run_id, json.dumps(info.card)),
                )
        self._run_id = info.run_id
        return info

    @property
    def run_id(self) -> str | None:
        """The id of the run this store object writes under (None until the first run starts)."""
        return self._run_id

    def finish_run(self, summary: Mapping[str, Any] | BaseModel | None = None) -> RunInfo:
        """Mark the current run as ended now, with an optional summary (JSON-serialisable)."""
        if self._run_id is None:
            raise StoreError(f"{self.path}: no run was started by this store object, so none can be finished")
        with self._transaction() as tx:
            tx.execute(
                "UPDATE runs SET finished_at = ?, summary_json = ? WHERE run_id = ?",
                (_now(), json.dumps(_json_dict(summary)) if summary is not None else None, self._run_id),
            )
        return next(run for run in self.runs() if run.run_id == self._run_id)

    def runs(self) -> list[RunInfo]:
        """Every recorded run, oldest first."""
        conn = self._connection()
        rows = conn.execute("SELECT * FROM runs ORDER BY created_at, run_id").fetchall()
        cards: dict[str, Any] = {}
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_cards'").fetchone():
            cards = {r["run_id"]: json.loads(r["card_json"]) for r in conn.execute("SELECT * FROM run_cards")}
        return [
            RunInfo(
                run_id=row["run_id"],
                created_at=datetime.fromisoformat(row["created_at"]),
                config=json.loads(row["config_json"]),
                models=json.loads(row["models_json"]),
                git_revision=row["git_revision"],
                finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
                summary=json.loads(row["summary_json"]) if row["summary_json"] else None,
                card=cards.get(row["run_id"]),
            )
            for row in rows
        ]

    # -- writing -----------------------------------------------------------------------------

    def put(self, episode: Episode) -> None:
        """Insert or replace one episode with its judgement and scores (idempotent by episode id).

        A replaced finished/failed version that differs is kept in ``episode_history``. If no run was
        started, one is started with an empty config and no models (each episode records its own).
        """
        with self._run_lock:
            if self._run_id is None:
                self.start_run()
        payload = episode.model_dump_json()
        judgement = episode_judgement(episode)
        turns = episode.turns
        try:
            duration = (
                (episode.finished_at - episode.started_at).total_seconds() if episode.finished_at else None
            )
        except TypeError:  # one naive, one aware timestamp: leave the duration out rather than guess
            duration = None
        with self._transaction() as tx:
            old = tx.execute(
                "SELECT run_id, status, episode_json FROM episodes WHERE episode_id = ?", (episode.id,)
            ).fetchone()
            if old is not None and old["episode_json"] == payload and old["run_id"] == self._run_id:
                return
            if (
                old is not None
                and old["episode_json"] != payload
                and old["status"] != EpisodeStatus.running.value
            ):
                tx.execute(
                    "INSERT INTO episode_history (episode_id, replaced_at, run_id, status, episode_json) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (episode.id, _now(), old["run_id"], old["status"], old["episode_json"]),
                )
            tx.execute(
                """
                INSERT INTO episodes (episode_id, run_id, setup_id, scenario_id, agent_models_json, status,
                    error, termination_reason, started_at, finished_at, duration_s, num_turns,
                    model_latency_s, prompt_tokens, completion_tokens, episode_json, written_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (episode_id) DO UPDATE SET
                    run_id = excluded.run_id, setup_id = excluded.setup_id,
                    scenario_id = excluded.scenario_id, agent_models_json = excluded.agent_models_json,
                    status = excluded.status, error = excluded.error,
                    termination_reason = excluded.termination_reason, started_at = excluded.started_at,
                    finished_at = excluded.finished_at, duration_s = excluded.duration_s,
                    num_turns = excluded.num_turns, model_latency_s = excluded.model_latency_s,
                    prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
                    episode_json = excluded.episode_json, written_at = excluded.written_at
                """,
                (
                    episode.id, self._run_id, episode.setup.id, episode.setup.scenario.id,
                    json.dumps(episode.agent_models), episode.status.value, episode.error,
                    episode.termination_reason, _iso(episode.started_at), _iso(episode.finished_at),
                    duration, len(turns), _sum_or_none([t.latency_s for t in turns]),
                    _sum_or_none([t.prompt_tokens for t in turns]),
                    _sum_or_none([t.completion_tokens for t in turns]), payload, _now(),
                ),
            )  # fmt: skip
            tx.execute("DELETE FROM scores WHERE episode_id = ?", (episode.id,))
            tx.execute("DELETE FROM judgements WHERE episode_id = ?", (episode.id,))
            if judgement is not None:
                tx.execute(
                    "INSERT INTO judgements (episode_id, evaluator, ok, error, attempts, latency_s, raw_text) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (episode.id, judgement.evaluator, int(judgement.ok), judgement.error, judgement.attempts,
                     judgement.latency_s, judgement.raw_text),
                )  # fmt: skip
                tx.executemany(
                    "INSERT INTO scores (episode_id, agent, dimension, score, reasoning) VALUES (?, ?, ?, ?, ?)",
                    [
                        (episode.id, agent, dimension, entry.score, entry.reasoning)
                        for agent, dimensions in judgement.scores.items()
                        for dimension, entry in dimensions.items()
                    ],
                )

    async def write(self, episode: Episode) -> None:
        """The runner's sink protocol: store one finished episode without blocking the event loop."""
        await asyncio.to_thread(self.put, episode)

    # -- reading -----------------------------------------------------------------------------

    def get(self, episode_id: str) -> Episode | None:
        """The stored episode with this id, or None."""
        row = (
            self._connection()
            .execute("SELECT episode_json FROM episodes WHERE episode_id = ?", (episode_id,))
            .fetchone()
        )
        return Episode.model_validate_json(row["episode_json"]) if row is not None else None

    def has(self, episode_id: str) -> bool:
        """True when a *finished* episode with this id is stored (failed/running ones are retried)."""
        row = (
            self._connection()
            .execute(
                "SELECT 1 FROM episodes WHERE episode_id = ? AND status = ?",
                (episode_id, EpisodeStatus.finished.value),
            )
            .fetchone()
        )
        return row is not None

    def finished_keys(self) -> set[str]:
        """Ids of every finished episode: what a resumed run skips."""
        rows = self._connection().execute(
            "SELECT episode_id FROM episodes WHERE status = ?", (EpisodeStatus.finished.value,)
        )
        return {row[0] for row in rows}

    def _rows(self, status: EpisodeStatus | str | None) -> list[sqlite3.Row]:
        sql = "SELECT run_id, status, episode_json FROM episodes"
        params: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (EpisodeStatus(status).value,)
        return self._connection().execute(sql + " ORDER BY started_at, episode_id", params).fetchall()

    def episodes(self, status: EpisodeStatus | str | None = None) -> list[Episode]:
        """Every stored episode (optionally only one status), oldest first, as ``Episode`` objects."""
        return [Episode.model_validate_json(row["episode_json"]) for row in self._rows(status)]

    def rows(self) -> list[EpisodeRow]:
        """Every stored episode as a listing entry (no transcript is parsed), oldest first."""
        rows = self._connection().execute(
            """
            SELECT episode_id, run_id, scenario_id, agent_models_json, status, error, termination_reason,
                started_at, num_turns,
                json_extract(episode_json, '$.setup.scenario.codename') AS codename,
                json_extract(episode_json, '$.metadata.training_step') AS training_step,
                json_extract(episode_json, '$.scores') AS scores_json,
                json_extract(episode_json, '$.evaluation.ok') AS judged
            FROM episodes ORDER BY started_at, episode_id
            """
        )
        return [
            EpisodeRow(
                episode_id=row["episode_id"],
                run_id=row["run_id"],
                scenario_id=row["scenario_id"],
                codename=row["codename"] or "",
                agent_models=json.loads(row["agent_models_json"]),
                status=EpisodeStatus(row["status"]),
                error=row["error"],
                termination_reason=row["termination_reason"],
                started_at=datetime.fromisoformat(row["started_at"]) if row["started_at"] else None,
                num_turns=row["num_turns"],
                training_step=row["training_step"] if isinstance(row["training_step"], int) else None,
                scores=json.loads(row["scores_json"]) if row["scores_json"] else {},
                judged=None if row["judged"] is None else bool(row["judged"]),
            )
            for row in rows
        ]

    def history(self, episode_id: str | None = None) -> list[Episode]:
        """Earlier versions replaced by later writes (all, or one episode's), oldest first."""
        sql = "SELECT episode_json FROM episode_history"
        params: tuple[str, ...] = ()
        if episode_id is not None:
            sql += " WHERE episode_id = ?"
            params = (episode_id,)
        rows = self._connection().execute(sql + " ORDER BY rowid", params).fetchall()
        return [Episode.model_validate_json(row[0]) for row in rows]

    def export_jsonl(self, out: TextIO, status: EpisodeStatus | str | None = None) -> int:
        """Write each stored episode as one JSON line (the Episode's fields plus ``run_id``)."""
        count = 0
        for row in self._rows(status):
            record = json.loads(row["episode_json"])
            record["run_id"] = row["run_id"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count

    def summary(self) -> StoreSummary:
        """Counts of runs, episodes by status, judgements, scenarios, models, turns and tokens."""
        conn = self._connection()
        by_status = {
            row[0]: row[1] for row in conn.execute("SELECT status, COUNT(*) FROM episodes GROUP BY status")
        }
        judged = dict.fromkeys((0, 1), 0)
        judged.update(
            {row[0]: row[1] for row in conn.execute("SELECT ok, COUNT(*) FROM judgements GROUP BY ok")}
        )
        unjudged = conn.execute(
            "SELECT COUNT(*) FROM episodes e LEFT JOIN judgements j USING (episode_id) "
            "WHERE e.status = ? AND j.episode_id IS NULL",
            (EpisodeStatus.finished.value,),
        ).fetchone()[0]
        totals = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT scenario_id), COALESCE(SUM(num_turns), 0), "
            "COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM episodes"
        ).fetchone()
        models = sorted(
            {
                m
                for row in conn.execute("SELECT agent_models_json FROM episodes")
                for m in json.loads(row[0]).values()
            }
        )
        return StoreSummary(
            path=str(self.path),
            runs=self.runs(),
            episodes=totals[0],
            by_status=by_status,
            judged_ok=judged[1],
            judgement_failed=judged[0],
            unjudged_finished=unjudged,
            replaced_versions=conn.execute("SELECT COUNT(*) FROM episode_history").fetchone()[0],
            scenarios=totals[1],
            models=models,
            turns=totals[2],
            prompt_tokens=totals[3],
            completion_tokens=totals[4],
        )


# -- command line ------------------------------------------------------------------------------


def _summary_text(store: EpisodeStore) -> str:
    lines = [store.summary().render()]
    dimensions = summarize_dimensions(store.episodes(EpisodeStatus.finished))
    if dimensions:
        lines.append(
            "scores per agent (mean ± 95% CI half-width; n = scored agents; failed = agents whose judgement failed):"
        )
        width = max(len(d.dimension) for d in dimensions)
        for d in dimensions:
            lines.append(f"  {d.dimension:<{width}}  {d.stats.format()}  failed {d.failed}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.store export|summary DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.store", description="Read a SocialGym episode store."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="print every stored episode as one JSON line")
    export.add_argument("run_dir", type=Path, help="run folder (or its episodes.sqlite)")
    export.add_argument("--status", choices=[s.value for s in EpisodeStatus], help="only this status")
    summary = commands.add_parser("summary", help="counts and per-dimension scores")
    summary.add_argument("run_dir", type=Path, help="run folder (or its episodes.sqlite)")
    args = parser.parse_args(argv)
    try:
        with EpisodeStore(args.run_dir, create=False) as store:
            if args.command == "export":
                store.export_jsonl(sys.stdout, args.status)
            else:
                print(_summary_text(store))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(f"error: reading {args.run_dir} failed ({exc}); the store may be corrupt", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `... export DIR | head`
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
