"""``python -m envs.episode`` end to end with scripted agents (no model, no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_envs_support import write_library

from envs.sinks import read_episodes
from envs.types import EpisodeStatus

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run(
        [sys.executable, "-m", "envs.episode", *args],
        cwd=cwd,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_runs_scripted_episodes_from_a_custom_file(tmp_path: Path) -> None:
    library = write_library(tmp_path)
    out = tmp_path / "out"
    result = _run(
        "--scenario",
        str(library),
        "--agents",
        "scripted:Could you help me move?|[leave]",
        "scripted:I am busy, sorry.",
        "--episodes",
        "2",
        "--concurrency",
        "2",
        "--out",
        str(out),
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert "Could you help me move?" in text and "I am busy, sorry." in text
    assert "[1]" in text and "[4]" in text, "lines are prefixed with the episode number"
    assert "episodes.jsonl" in text and "finished" in text
    episodes = read_episodes(out)
    assert len(episodes) == 4  # 2 per scenario, 2 scenarios
    assert all(e.status is EpisodeStatus.finished and e.termination_reason == "leave" for e in episodes)
    assert {e.setup.scenario.id for e in episodes} == {"test-friends-favour", "test-strangers-seat"}
    assert all(e.agent_models and set(e.agent_models.values()) == {"scripted"} for e in episodes)


def test_cli_builtin_scenario_id_and_default_out(tmp_path: Path) -> None:
    from scenarios.load import load_library

    scenario = next(s for s in load_library().scenarios.values() if s.num_roles == 2)
    result = _run(
        "--scenario",
        scenario.id,
        "--agents",
        "scripted:Hello.|[leave]",
        "scripted:Hi.",
        "--max-turns",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = list((tmp_path / "runs").glob("episodes-*/episodes.jsonl"))
    assert len(runs) == 1 and len(read_episodes(runs[0])) == 1


def test_cli_reports_failures_with_exit_status(tmp_path: Path) -> None:
    """A human agent whose input ends cannot act: the episode fails, is written, and the exit status says so."""
    library = write_library(tmp_path)
    result = _run(
        "--scenario",
        f"sotopia:{library}",
        "--agents",
        "human",
        "scripted:hey",
        "--turn-mode",
        "simultaneous",
        "--max-turns",
        "2",
        "--out",
        str(tmp_path / "o"),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    episodes = read_episodes(tmp_path / "o")
    assert len(episodes) == 2 and all(e.status is EpisodeStatus.failed for e in episodes)
    assert all(e.metadata.failed_agent == e.setup.agent_names[0] for e in episodes)


def test_cli_rejects_bad_input(tmp_path: Path) -> None:
    result = _run("--scenario", "no-such-scenario-xyz", "--agents", "scripted:a", "scripted:b", cwd=tmp_path)
    assert result.returncode == 2 and "unknown scenario" in result.stdout
    library = write_library(tmp_path)
    result = _run("--scenario", str(library), "--agents", "scripted:a", cwd=tmp_path)
    assert result.returncode == 2 and "1 agent spec(s)" in result.stdout
