"""Episode.metadata is a typed record (envs.types.EpisodeMetadata) that still loads every stored shape.

Each layer writes its own declared keys (the env its settings, the runner the batch index and
failures, training the step/task/policy, eval.interactive its plan entry); a record written before
the type existed, or by another tool, loads with nothing lost and is written back as it was.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from test_envs_support import LEAVE, ScriptAgent, make_setup

from envs.runner import replay, run_episodes
from envs.sinks import read_episodes
from envs.types import EnvConfig, Episode, EpisodeMetadata, InteractivePlay, TurnMode
from eval.store import EpisodeStore

A = "Alice Tester"


def _played() -> list[Episode]:
    """Two episodes through the runner: one finished, one whose first agent fails on its 2nd call."""
    setups = [make_setup(max_turns=6, seed=i) for i in range(2)]

    def factory(setup):
        fail = 1 if setup.seed == 1 else None
        return [ScriptAgent(["hi", "again"], fail_on_call=fail), ScriptAgent(["hello", LEAVE])]

    return asyncio.run(run_episodes(setups, factory, env_kwargs={"turn_mode": "simultaneous"}))


def test_the_layers_write_typed_keys_and_the_stored_json_keeps_its_shape() -> None:
    finished, failed = _played()
    meta = finished.metadata
    assert isinstance(meta.env, EnvConfig) and meta.env.turn_mode is TurnMode.simultaneous
    assert (meta.seed, meta.max_turns, meta.batch_index) == (finished.setup.seed, 6, 0)
    assert (failed.metadata.failed_agent, failed.metadata.failed_turn) == (A, 1)
    assert failed.metadata.failed_turn_record is not None
    assert failed.metadata.failed_turn_record.raw_text == "UNPARSABLE"
    stored = json.loads(failed.model_dump_json())["metadata"]
    # the shape every earlier version wrote: plain keys, unset ones absent, the env as a mapping
    assert stored["env"]["turn_mode"] == "simultaneous" and stored["batch_index"] == 1
    assert stored["failed_turn_record"]["raw_text"] == "UNPARSABLE"
    assert "other" not in stored and "training_step" not in stored and "interactive" not in stored


def test_assignments_are_checked() -> None:
    meta = EpisodeMetadata()
    meta.training_step = 3
    with pytest.raises(ValidationError):
        meta.training_step = "three"  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="trainng_step"):
        meta.trainng_step = 3  # type: ignore[attr-defined]  # a typo fails where it is written
    meta.merge(EpisodeMetadata(task="mcq:x", policy="Alice"))
    assert (meta.training_step, meta.task, meta.policy) == (3, "mcq:x", "Alice")


def test_stored_metadata_of_any_shape_loads_and_is_written_back_as_it_was(tmp_path: Path) -> None:
    episode = _played()[0]
    record = json.loads(episode.model_dump_json())
    env = record["metadata"]["env"]
    plan = {"model": "m", "partner": "p", "side": "first", "test_agent": A, "replica": 0, "max_turns": 2}
    shapes = [
        record["metadata"],  # as this version writes it
        # as the runner wrote it before the type: None values present, a dumped turn record, a plan entry
        {**record["metadata"], "seed": None, "interactive": plan, "training_step": 4, "task": "social:0"},
        # keys no version of ours declares (another tool), and values that do not fit the declared type
        {
            "env": {**env, "turn_mode": "sideways"},
            "seed": "0x1f",
            "note": {"by": "a person"},
            "batch_index": 2,
        },
        {"interactive": {"model": "m"}, "max_turns": 3},  # an incomplete plan entry
        {},  # no metadata at all
    ]
    lines = [json.dumps({**record, "id": f"ep{i}", "metadata": meta}) for i, meta in enumerate(shapes)]
    lines.append(json.dumps({k: v for k, v in record.items() if k != "metadata"} | {"id": "ep5"}))
    (tmp_path / "episodes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    loaded = read_episodes(tmp_path)
    assert [type(e.metadata) for e in loaded] == [EpisodeMetadata] * 6
    now, old, foreign, partial, empty, absent = (e.metadata for e in loaded)
    assert now == episode.metadata and now.other == {}
    assert old.interactive == InteractivePlay(**plan) and (old.training_step, old.task) == (4, "social:0")
    assert old.seed is None and old.env == episode.metadata.env
    assert foreign.batch_index == 2 and foreign.env is None and foreign.seed is None
    assert foreign.other == {
        "env": {**env, "turn_mode": "sideways"},
        "seed": "0x1f",
        "note": {"by": "a person"},
    }
    assert partial.interactive is None and partial.other == {"interactive": {"model": "m"}}
    assert partial.max_turns == 3 and empty == absent == EpisodeMetadata()
    # a reward dimension recorded in an env config that no longer validates is still the one used
    assert loaded[2].reward_dimension == env["reward_dimension"] == "goal"
    with pytest.raises(ValidationError, match="turn_mode"):
        replay(loaded[2])  # replaying needs valid settings: the stored ones are named, not replaced

    expected = [{k: v for k, v in shape.items() if v is not None and k != "other"} for shape in shapes] + [{}]
    assert [json.loads(e.model_dump_json())["metadata"] for e in loaded] == expected
    with EpisodeStore(tmp_path / "store") as store:
        store.start_run(config={}, models=["scripted"])
        for e in loaded:
            store.put(e)
        assert [store.get(e.id).metadata for e in loaded] == [e.metadata for e in loaded]
        steps = {row.episode_id: row.training_step for row in store.rows()}
        assert steps["ep1"] == 4 and steps["ep0"] is None and steps["ep2"] is None
