"""PettingZoo's own API tests (parallel and, through parallel_to_aec, AEC) and env sources."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import parallel_to_aec
from test_envs_support import make_setup, write_library

from envs.social import SocialEpisodeEnv
from envs.types import ActionType, EpisodeStatus
from scenarios.load import load_path


@pytest.fixture
def library(tmp_path: Path):
    lib = load_path(write_library(tmp_path))
    lib.check_references()
    return lib


@pytest.mark.parametrize("turn_mode", ["round-robin", "simultaneous", "random"])
def test_parallel_api(turn_mode: str) -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=8), turn_mode=turn_mode, max_argument_chars=40)
    parallel_api_test(env, num_cycles=50)


# Advice for numeric envs (NumPy observations, Box/Discrete spaces, "player_0" names) does not fit a text env.
@pytest.mark.filterwarnings("ignore:Observation is not a NumPy array")
@pytest.mark.filterwarnings("ignore:Observation space for each agent probably should be")
@pytest.mark.filterwarnings("ignore:Action space for each agent probably should be")
@pytest.mark.filterwarnings("ignore:We recommend agents to be named")
@pytest.mark.parametrize("turn_mode", ["round-robin", "simultaneous", "random"])
def test_aec_api_through_parallel_to_aec(turn_mode: str) -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=8), turn_mode=turn_mode, max_argument_chars=40)
    api_test(parallel_to_aec(env), num_cycles=50)


def test_parallel_api_with_library_source(library) -> None:
    env = SocialEpisodeEnv(library, seed=3, max_argument_chars=40)
    with warnings.catch_warnings():
        # casts change between resets, so not every possible agent plays every episode
        warnings.filterwarnings("ignore", message="No agents present but not all possible_agents")
        parallel_api_test(env, num_cycles=50)


def test_three_agent_setup_passes_parallel_api() -> None:
    parallel_api_test(
        SocialEpisodeEnv(make_setup(roles=3, max_turns=9), max_argument_chars=40), num_cycles=50
    )


def test_spaces() -> None:
    env = SocialEpisodeEnv(make_setup())
    assert env.possible_agents == ["Alice Tester", "Bruno Tester"]
    space = env.action_space("Alice Tester")
    assert space is env.action_space("Alice Tester")
    assert space["action_type"].n == len(ActionType) == 5
    assert space.contains({"action_type": ActionType.speak.index, "argument": "Grüße! 👋 «quoted»"})
    observations, infos = env.reset()
    assert env.observation_space("Bruno Tester").contains(observations["Bruno Tester"])
    mask = infos["Bruno Tester"]["action_mask"]["action_type"]
    assert mask.tolist() == [1, 0, 0, 0, 0], "only 'none' while waiting"
    sampled = space.sample(infos["Bruno Tester"]["action_mask"])
    assert int(sampled["action_type"]) == 0
    with pytest.raises(KeyError, match="possible agents"):
        env.action_space("Nobody")


def test_list_source_draws_from_all_setups_and_is_seedable() -> None:
    setups = [make_setup(first=0), make_setup(first=2)]
    env = SocialEpisodeEnv(setups)
    assert env.possible_agents == ["Alice Tester", "Bruno Tester", "Chiara Tester", "Dev Tester"]
    draws = []
    for seed in range(12):
        env.reset(seed=seed)
        draws.append(tuple(env.agents))
    assert set(draws) == {("Alice Tester", "Bruno Tester"), ("Chiara Tester", "Dev Tester")}
    again = []
    for seed in range(12):
        env.reset(seed=seed)
        again.append(tuple(env.agents))
    assert draws == again


def test_library_source_possible_agents_and_seeding(library) -> None:
    env = SocialEpisodeEnv(library)
    assert sorted(env.possible_agents) == ["Alice Tester", "Bruno Tester", "Chiara Tester", "Dev Tester"]
    first = [SocialEpisodeEnv(library, seed=5).reset()[0].keys() for _ in range(2)]
    assert list(first[0]) == list(first[1])
    seen = set()
    for seed in range(30):
        env.reset(seed=seed)
        setup = env.episode.setup
        seen.add(setup.scenario.id)
        assert setup.seed is not None
        if setup.scenario.id == "test-friends-favour":
            assert {a.id for a in setup.agents} in ({"char-alice", "char-bruno"}, {"char-chiara", "char-dev"})
    assert seen == {"test-friends-favour", "test-strangers-seat"}
    only = SocialEpisodeEnv(library, scenario_ids=["test-strangers-seat"])
    only.reset(seed=1)
    assert only.episode.setup.scenario.id == "test-strangers-seat"


def test_reset_with_setup_option_and_unknown_cast() -> None:
    env = SocialEpisodeEnv([make_setup(first=0), make_setup(first=2)])
    env.reset(options={"setup": make_setup(first=2)})
    assert env.agents == ["Chiara Tester", "Dev Tester"]
    assert env.episode.status is EpisodeStatus.running
    outsider = make_setup()
    outsider.agents[0] = outsider.agents[0].model_copy(update={"first_name": "Zed"})
    with pytest.raises(ValueError, match="not among this env's possible agents"):
        env.reset(options={"setup": outsider})
    env.reset(
        seed=4, options={"unrelated": 1}
    )  # other options are ignored (PettingZoo's API test passes some)
    assert env.episode.metadata.seed == 4


def test_render_modes() -> None:
    env = SocialEpisodeEnv(make_setup(), render_mode="ansi")
    env.reset()
    env.step({"Alice Tester": {"action_type": 1, "argument": "hello"}})
    assert env.render() == 'Turn #0: Alice Tester said: "hello"'
    with pytest.raises(ValueError, match="render_mode"):
        SocialEpisodeEnv(make_setup(), render_mode="rgb_array")
