"""``make``: env ids, errors, seeding; the built-in library through PettingZoo's test."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pettingzoo.test import parallel_api_test
from test_envs_support import write_library

import envs
from envs.registry import UnknownEnvError, make, resolve_scenarios


def test_make_sotopia_uses_builtin_library_without_network() -> None:
    env = make("sotopia", seed=0, max_argument_chars=40)
    assert isinstance(env, envs.SocialEpisodeEnv)
    library, ids = resolve_scenarios("sotopia")
    assert ids == list(library.scenarios) and len(ids) >= 2
    observations, _ = env.reset(seed=1)
    assert set(observations) == set(env.agents) and len(env.agents) >= 2
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No agents present but not all possible_agents")
        parallel_api_test(env, num_cycles=30)


def test_make_is_seedable() -> None:
    draws = []
    for _ in range(2):
        env = make("sotopia", seed=11)
        ids = []
        for _ in range(5):
            env.reset()
            ids.append(env.episode.setup.id)
        draws.append(ids)
    assert draws[0] == draws[1]


def test_sotopia_hard_is_the_hard_subset() -> None:
    library, ids = resolve_scenarios("sotopia-hard")
    assert ids and all(library.scenarios[i].is_hard for i in ids)
    env = make("sotopia-hard", seed=0)
    for seed in range(5):
        env.reset(seed=seed)
        assert env.episode.setup.scenario.is_hard


def test_sotopia_group_plays_three_or_four_roles() -> None:
    library, ids = resolve_scenarios("sotopia-group")
    assert len(ids) >= 8 and all(3 <= library.scenarios[i].num_roles <= 4 for i in ids)
    assert {4, 3} <= {library.scenarios[i].num_roles for i in ids}
    env = make("sotopia-group", seed=0)
    for seed in range(3):
        observations, _ = env.reset(seed=seed)
        assert "group" in env.episode.setup.scenario.tags
        assert len(observations) == env.episode.setup.scenario.num_roles


def test_custom_path(tmp_path: Path) -> None:
    path = write_library(tmp_path)
    _, ids = resolve_scenarios(f"sotopia:{path}")
    assert ids == ["test-friends-favour", "test-strangers-seat"]
    env = make(f"sotopia:{path}", seed=2)
    env.reset()
    assert env.episode.setup.scenario.id in ids
    assert env.metadata["env_id"] == f"sotopia:{path}"


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("sotopia-easy", "known ids:\n  sotopia "),
        ("mcq:tombench", "eval.mcq"),
        ("sotopia:", "needs a path"),
    ],
)
def test_unknown_ids_are_explained(env_id: str, message: str) -> None:
    with pytest.raises(UnknownEnvError) as caught:
        make(env_id)
    assert message in str(caught.value)


def test_missing_custom_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file or folder"):
        make(f"sotopia:{tmp_path / 'nope.yaml'}")


def test_package_exports_lazily() -> None:
    assert envs.make is make
    assert {"make", "SocialEpisodeEnv", "run_episodes", "JSONLSink", "SingleAgentEnv"} <= set(envs.__all__)
    with pytest.raises(AttributeError):
        _ = envs.not_a_thing
