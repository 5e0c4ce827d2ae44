"""bench/eval_throughput.py: our runner plays exactly the baseline's tasks, and the comparison is against
SOTOPIA's fastest run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench_scripts import load_bench_script


def _bench() -> Any:
    return load_bench_script("eval_throughput")


def test_our_plan_is_the_baselines_tasks_and_pairings(shared_data: Path, tmp_path: Path) -> None:
    from eval.interactive import plan_setups, select_scenarios

    manifest = shared_data.parent / "bench" / "sotopia_baseline" / "results" / "n4_c4_a" / "manifest.json"
    if not manifest.is_file():
        pytest.skip(f"no baseline manifest at {manifest}")
    tasks = _bench().task_dump(manifest, shared_data / "sotopia", tmp_path / "tasks")
    library, ids = select_scenarios(f"sotopia:{tmp_path / 'tasks'}")
    planned = {setup.scenario.id: setup.agent_names for setup, _ in plan_setups(library, ids, 1)}
    expected = {task["env_id"]: task["agent_names"] for task in json.loads(manifest.read_text())["episodes"]}
    assert len(tasks) == 4 and planned == expected


def test_ours_is_compared_with_sotopias_fastest_run() -> None:
    bench = _bench()

    def run(wall: float, turns: list[int]) -> dict[str, Any]:
        return {"wall_s": wall, "episodes": len(turns), "turns": turns, "valid_judgements": 0}

    before = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    after = {"requests": 8, "prompt_tokens": 4000, "completion_tokens": 800}
    runs = {
        "sotopia": [bench.with_rates(run(w, [4, 4, 4, 4]), before, after) for w in (240.0, 120.0, 480.0)],
        "ours": [bench.with_rates(run(60.0, [2, 3, 3, 2]), before, after)],
    }
    assert runs["ours"][0]["episodes_per_min"] == 4.0 and runs["ours"][0]["agent_turns_per_min"] == 10.0
    assert runs["ours"][0]["prompt_tokens_per_episode"] == 1000.0
    episodes, turns = bench.compare(runs)
    # the fastest SOTOPIA run (120 s: 2 episodes/min, 8 agent turns/min) is the yardstick
    assert "SOTOPIA fastest 2.00 (of 3)" in episodes and "ratio mean 2.00x" in episodes
    assert "SOTOPIA fastest 8.00" in turns and "ratio mean 1.25x" in turns
