"""The SQLite episode store: round trips, upserts, resume, concurrency, errors and the CLI."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from envs.types import (
    ActionType,
    AgentAction,
    DimensionScore,
    Episode,
    EpisodeEvaluation,
    EpisodeMetadata,
    EpisodeStatus,
    Turn,
)
from eval.store import DB_NAME, EpisodeStore, StoreError
from scenarios.schema import AgentProfile, EpisodeSetup, Relationship, RelationshipType, Scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
DIMENSIONS = {
    "believability": 8, "relationship": 2, "knowledge": 5, "secret": -1,
    "social_rules": 0, "financial_and_material_benefits": 1, "goal": 7,
}  # fmt: skip
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_setup(
    scenario_id: str = "borrow_car",
    names: tuple[str, str] = ("Alice", "Bob"),
    setting: str = "Two neighbours meet in the driveway; one needs a car for the weekend.",
    secret: str = "Has a dented bumper nobody knows about.",
) -> EpisodeSetup:
    """A valid two-role setup built by hand."""
    scenario = Scenario(
        id=scenario_id,
        codename=scenario_id.replace("-", "_").lower(),
        setting=setting,
        goals=["Borrow the car for the weekend.", "Lend the car only if it comes back with a full tank."],
        relationship=RelationshipType.acquaintance,
    )
    agents = [
        AgentProfile(id=f"{''.join(c for c in name.lower() if c.isalnum())}_{i}", first_name=name, last_name="Example", age=30 + i,
                     occupation="teacher", gender="woman" if i == 0 else "man",
                     pronouns="she/her" if i == 0 else "he/him", secret=secret)
        for i, name in enumerate(names)
    ]  # fmt: skip
    relationship = Relationship(
        agents=(agents[0].id, agents[1].id), type=RelationshipType.acquaintance, background="Neighbours."
    )
    return EpisodeSetup(scenario=scenario, agents=agents, relationship=relationship)


def make_episode(
    episode_id: str,
    *,
    scenario_id: str = "borrow_car",
    models: tuple[str, str] = ("model-a", "model-b"),
    status: EpisodeStatus = EpisodeStatus.finished,
    goals: tuple[float, float] = (7, 5),
    judged: bool | None = True,
    text: str = "Could I borrow your car on Saturday?",
    reasoning: str = "Cue Encoding: Bob looks relaxed. Response Generation: ask politely.",
    names: tuple[str, str] = ("Alice", "Bob"),
    setup: EpisodeSetup | None = None,
) -> Episode:
    """A played episode: three turns with raw SIP text, timings and tokens.

    ``judged``: True = ok judgement with all seven dimensions, False = failed judgement, None = not judged.
    """
    setup = setup or make_setup(scenario_id, names)
    agent_names = setup.agent_names
    raw = f"<think>{reasoning}</think><Answer>{text}</Answer>"
    turns = [
        Turn(index=0, agent=agent_names[0], action=AgentAction(action_type=ActionType.speak, argument=text),
             raw_text=raw, reasoning=reasoning, latency_s=1.25, prompt_tokens=300, completion_tokens=40),
        Turn(index=1, agent=agent_names[1],
             action=AgentAction(action_type=ActionType.non_verbal, argument="raises an eyebrow"),
             latency_s=0.5, prompt_tokens=320, completion_tokens=12, parse_fallback=True),
        Turn(index=2, agent=agent_names[0], action=AgentAction(action_type=ActionType.leave),
             latency_s=0.25, prompt_tokens=None, completion_tokens=None, error="timeout once, retried"),
    ]  # fmt: skip
    evaluation = None
    if judged is True:
        scores = {
            name: {dim: DimensionScore(score=goal if dim == "goal" else value, reasoning=f"{name} on {dim}.")
                   for dim, value in DIMENSIONS.items()}
            for name, goal in zip(agent_names, goals, strict=True)
        }  # fmt: skip
        evaluation = EpisodeEvaluation(ok=True, scores=scores, evaluator="sotopia-eval:test", attempts=1)
    elif judged is False:
        evaluation = EpisodeEvaluation(ok=False, error="judge returned invalid JSON", attempts=3)
    return Episode(
        id=episode_id,
        setup=setup,
        agent_models=dict(zip(agent_names, models, strict=True)),
        turns=turns if status is not EpisodeStatus.running else turns[:1],
        status=status,
        error="partner model crashed" if status is EpisodeStatus.failed else None,
        termination_reason="agent left" if status is EpisodeStatus.finished else None,
        scores=evaluation.flat_scores() if evaluation is not None else {},
        evaluation=evaluation,
        started_at=START,
        finished_at=START + timedelta(seconds=42) if status is not EpisodeStatus.running else None,
        metadata={"seed": 3},
    )


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def test_round_trip_keeps_the_whole_episode(tmp_path: Path) -> None:
    episode = make_episode("e1")
    with EpisodeStore(tmp_path) as store:
        store.put(episode)
        assert store.get("e1") == episode
        assert store.episodes() == [episode]
        back = store.get("e1")
    assert back is not None
    assert back.turns[0].raw_text == episode.turns[0].raw_text
    assert back.turns[0].reasoning == episode.turns[0].reasoning
    assert (tmp_path / DB_NAME).is_file()


def test_tables_hold_columns_judgement_and_scores(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("e1", goals=(9, 4)))
    db = tmp_path / DB_NAME
    assert _rows(db, "PRAGMA journal_mode") == [("wal",)]
    row = _rows(
        db,
        "SELECT setup_id, scenario_id, status, termination_reason, duration_s, num_turns, model_latency_s, "
        "prompt_tokens, completion_tokens, agent_models_json FROM episodes",
    )[0]
    assert row[:9] == (
        "borrow_car|alice_0+bob_1",
        "borrow_car",
        "finished",
        "agent left",
        42.0,
        3,
        2.0,
        620,
        52,
    )
    assert json.loads(row[9]) == {"Alice Example": "model-a", "Bob Example": "model-b"}
    assert _rows(db, "SELECT ok, evaluator, attempts FROM judgements") == [(1, "sotopia-eval:test", 1)]
    scores = _rows(
        db, "SELECT agent, dimension, score, reasoning FROM scores WHERE dimension = 'goal' ORDER BY agent"
    )
    assert scores == [
        ("Alice Example", "goal", 9.0, "Alice Example on goal."),
        ("Bob Example", "goal", 4.0, "Bob Example on goal."),
    ]
    assert _rows(db, "SELECT COUNT(*) FROM scores") == [(14,)]


def test_failed_judgement_is_stored_as_failed_without_scores(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("e1", judged=False))
        store.put(make_episode("e2", judged=None))
        summary = store.summary()
    db = tmp_path / DB_NAME
    assert _rows(db, "SELECT episode_id, ok, error FROM judgements") == [
        ("e1", 0, "judge returned invalid JSON")
    ]
    assert _rows(db, "SELECT COUNT(*) FROM scores") == [(0,)]
    assert (summary.judged_ok, summary.judgement_failed, summary.unjudged_finished) == (0, 1, 1)


def test_upsert_is_idempotent_and_keeps_replaced_versions(tmp_path: Path) -> None:
    failed = make_episode("e1", status=EpisodeStatus.failed, judged=None)
    finished = make_episode("e1", goals=(3, 3))
    with EpisodeStore(tmp_path) as store:
        store.put(failed)
        store.put(failed)
        assert store.history() == []
        store.put(finished)
        store.put(finished)
        assert store.episodes() == [finished]
        assert store.history("e1") == [failed]
        assert store.summary().replaced_versions == 1
    db = tmp_path / DB_NAME
    assert _rows(db, "SELECT COUNT(*) FROM episodes") == [(1,)]
    assert _rows(db, "SELECT COUNT(*) FROM judgements") == [(1,)]
    assert _rows(db, "SELECT COUNT(*) FROM scores") == [(14,)]


def test_rejudging_replaces_scores(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("e1", goals=(2, 2)))
        store.put(make_episode("e1", judged=False))
    db = tmp_path / DB_NAME
    assert _rows(db, "SELECT COUNT(*) FROM scores") == [(0,)]
    assert _rows(db, "SELECT ok FROM judgements") == [(0,)]


def test_resume_skips_finished_and_retries_failed_and_running(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("done"))
        store.put(make_episode("done-unjudged", judged=None))
        store.put(make_episode("broken", status=EpisodeStatus.failed, judged=None))
        store.put(make_episode("cut", status=EpisodeStatus.running, judged=None))
    with EpisodeStore(tmp_path, create=False) as rerun:
        assert rerun.finished_keys() == {"done", "done-unjudged"}
        assert (
            rerun.has("done") and not rerun.has("broken") and not rerun.has("cut") and not rerun.has("nope")
        )
        assert [e.id for e in rerun.episodes(EpisodeStatus.failed)] == ["broken"]
        assert [e.id for e in rerun.episodes("running")] == ["cut"]
        rerun.start_run(config={"resume": True})
        rerun.put(make_episode("broken"))
        assert rerun.finished_keys() == {"done", "done-unjudged", "broken"}
        assert len(rerun.runs()) == 2


def test_runs_record_config_models_and_revision(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        info = store.start_run(
            config={"partner": "model-b", "turns": 20}, models=["model-a", "model-b"], run_id="r1"
        )
        store.put(make_episode("e1"))
        (run,) = store.runs()
    assert run == info
    assert (run.run_id, run.config, run.models) == (
        "r1",
        {"partner": "model-b", "turns": 20},
        ["model-a", "model-b"],
    )
    assert run.git_revision is None or len(run.git_revision) == 40
    assert _rows(tmp_path / DB_NAME, "SELECT run_id FROM episodes") == [("r1",)]


def test_finish_run_records_end_and_summary(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        with pytest.raises(StoreError, match="no run was started"):
            store.finish_run({"episodes": 0})
        store.start_run(run_id="r1")
        assert store.runs()[0].finished_at is None and store.runs()[0].summary is None
        store.put(make_episode("e1"))
        done = store.finish_run({"episodes": 1, "goal": {"mean": 7.0}})
    with EpisodeStore(tmp_path, create=False) as again:
        (run,) = again.runs()
    assert run == done
    assert run.summary == {"episodes": 1, "goal": {"mean": 7.0}}
    assert run.finished_at is not None and run.finished_at >= run.created_at


def test_first_write_starts_a_run_automatically(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        assert store.run_id is None
        store.put(make_episode("e1"))
        assert store.run_id is not None
        assert [r.run_id for r in store.runs()] == [store.run_id]


def test_concurrent_writes_from_tasks_and_threads_lose_nothing(tmp_path: Path) -> None:
    """Many asyncio tasks and threads (several store objects, one file) write distinct and shared ids."""
    shared = [make_episode(f"shared-{i}") for i in range(10)]
    distinct_async = [make_episode(f"async-{i}", goals=(i % 11, 10 - i % 11)) for i in range(120)]

    async def write_all(store: EpisodeStore) -> None:
        await asyncio.gather(*(store.write(e) for e in [*distinct_async, *shared, *shared]))

    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with EpisodeStore(tmp_path) as own:
                for i in range(40):
                    own.put(make_episode(f"thread-{index}-{i}"))
                    own.put(shared[(index + i) % len(shared)])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with EpisodeStore(tmp_path) as store:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for thread in threads:
            thread.start()
        asyncio.run(write_all(store))
        for thread in threads:
            thread.join()
        assert errors == []
        expected = {e.id for e in [*shared, *distinct_async]} | {
            f"thread-{k}-{i}" for k in range(6) for i in range(40)
        }
        stored = store.episodes()
        assert sorted(e.id for e in stored) == sorted(expected)
        by_id = {e.id: e for e in stored}
        for episode in [*shared, *distinct_async]:
            assert by_id[episode.id] == episode
        assert store.history() == []  # identical rewrites are not new versions
    db = tmp_path / DB_NAME
    assert _rows(db, "SELECT COUNT(*) FROM episodes") == [(len(expected),)]
    assert _rows(db, "SELECT COUNT(*) FROM judgements") == [(len(expected),)]
    assert _rows(db, "SELECT COUNT(*) FROM scores") == [(len(expected) * 14,)]


def test_async_write_satisfies_the_sink_protocol(tmp_path: Path) -> None:
    async def write(store: EpisodeStore) -> None:
        await store.write(make_episode("e1"))

    with EpisodeStore(tmp_path) as store:
        asyncio.run(write(store))
        assert store.has("e1")


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no episode store at .*episodes\.sqlite"):
        EpisodeStore(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(StoreError, match=r"not a readable SocialGym episode store.*move it aside") as info:
        EpisodeStore(tmp_path)
    assert str(tmp_path / DB_NAME) in str(info.value)
    assert (tmp_path / DB_NAME).read_bytes().startswith(b"this is not a database")  # left untouched


def test_foreign_sqlite_file_is_rejected(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(StoreError, match="not a SocialGym episode store"):
        EpisodeStore(tmp_path)


def test_store_accepts_the_sqlite_path_itself(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("e1"))
    with EpisodeStore(tmp_path / DB_NAME, create=False) as again:
        assert again.finished_keys() == {"e1"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eval.store", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_cli_prints_one_json_line_per_episode(tmp_path: Path) -> None:
    written = [make_episode("e1"), make_episode("e2", status=EpisodeStatus.failed, judged=None)]
    with EpisodeStore(tmp_path) as store:
        store.start_run(run_id="r1")
        for episode in written:
            store.put(episode)
    done = _cli("export", str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [(r["id"], r["status"], r["run_id"]) for r in records] == [
        ("e1", "finished", "r1"),
        ("e2", "failed", "r1"),
    ]
    assert records[0]["scores"]["Alice Example"]["goal"] == 7
    assert records[1]["scores"] == {}
    assert [Episode.model_validate(r) for r in records] == written
    only_failed = _cli("export", str(tmp_path), "--status", "failed")
    assert [json.loads(line)["id"] for line in only_failed.stdout.splitlines()] == ["e2"]


def test_summary_cli(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("e1", goals=(8, 6)))
        store.put(make_episode("e2", goals=(6, 4)))
        store.put(make_episode("e3", judged=False))
    done = _cli("summary", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "episodes: 3 (finished 3)" in done.stdout
    assert "judgements: 2 ok, 1 failed" in done.stdout
    goal_line = next(line for line in done.stdout.splitlines() if line.strip().startswith("goal"))
    assert "6.00 ± " in goal_line and "(n=4)" in goal_line and "failed 2" in goal_line


def test_cli_on_missing_or_corrupt_store_explains(tmp_path: Path) -> None:
    missing = _cli("export", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no episode store at" in missing.stderr and str(tmp_path / "nope") in missing.stderr
    (tmp_path / DB_NAME).write_bytes(b"garbage" * 1000)
    corrupt = _cli("summary", str(tmp_path))
    assert corrupt.returncode == 2
    assert "move it aside" in corrupt.stderr


def test_read_only_store_reads_and_refuses_writes(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.put(make_episode("ep-1"))
    before = (tmp_path / DB_NAME).read_bytes()
    with EpisodeStore(tmp_path, read_only=True) as store:
        assert [e.id for e in store.episodes()] == ["ep-1"]
        with pytest.raises(StoreError, match="read-only"):
            store.put(make_episode("ep-2"))
        with pytest.raises(StoreError, match="read-only"):
            store.start_run()
    assert (tmp_path / DB_NAME).read_bytes() == before
    with pytest.raises(StoreError, match="no episode store"):
        EpisodeStore(tmp_path / "nowhere", read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_rows_list_episodes_without_their_transcripts(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path) as store:
        store.start_run(run_id="r1")
        store.put(make_episode("a", goals=(8, 3)))
        trained = make_episode("b", scenario_id="share_flat", judged=False)
        store.put(trained.model_copy(update={"metadata": EpisodeMetadata(training_step=4)}))
        store.put(make_episode("c", status=EpisodeStatus.failed, judged=None, models=("m1", "m2")))
        rows = {row.episode_id: row for row in store.rows()}
    assert set(rows) == {"a", "b", "c"}
    a, b, c = rows["a"], rows["b"], rows["c"]
    assert a.run_id == "r1" and a.scenario_id == "borrow_car" and a.codename == "borrow_car"
    assert a.agent_models == {"Alice Example": "model-a", "Bob Example": "model-b"}
    assert a.scores["Alice Example"]["goal"] == 8 and a.scores["Bob Example"]["goal"] == 3
    assert a.judged is True and a.training_step is None and a.num_turns == 3
    assert b.training_step == 4 and b.judged is False and b.scores == {}
    assert c.status is EpisodeStatus.failed and c.error == "partner model crashed" and c.judged is None
    assert list(c.agent_models.values()) == ["m1", "m2"]
