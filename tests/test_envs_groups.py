"""Group episodes (3-4 agents) with scripted agents: turn orders, leaving, and a built-in group scenario end to end."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from test_envs_support import make_setup

from agents.scripted import ScriptedAgent
from envs.registry import resolve_scenarios
from envs.runner import run_episode
from envs.social import SocialEpisodeEnv, TurnMode
from envs.types import ActionType, EpisodeStatus
from scenarios.graph import sample_setups


def _speakers(turn_mode: TurnMode, seed: int, steps: int = 12) -> list[str]:
    env = SocialEpisodeEnv(make_setup(roles=4, max_turns=steps, seed=seed), turn_mode=turn_mode)
    env.reset()
    order = []
    while env.agents:
        (actor,) = env.acting_agents
        order.append(actor)
        env.step({actor: {"action_type": 1, "argument": f"hello from {actor}"}})
    return order


def test_round_robin_cycles_through_every_seat() -> None:
    order = _speakers(TurnMode.round_robin, seed=1, steps=8)
    assert order[:4] == order[4:] and len(set(order)) == 4


def test_random_order_is_seeded_and_never_repeats_a_speaker() -> None:
    first, again, other = (_speakers(TurnMode.random, seed) for seed in (1, 1, 2))
    assert first == again and first != other
    assert all(a != b for a, b in itertools.pairwise(first))
    assert len(set(first)) == 4  # in 12 steps every one of four speaks


def test_random_order_skips_an_agent_who_left() -> None:
    env = SocialEpisodeEnv(make_setup(roles=3, max_turns=10, seed=3), turn_mode="random")
    env.reset()
    (first,) = env.acting_agents
    env.step({first: {"action_type": ActionType.leave.index, "argument": ""}})
    assert first not in env.agents and len(env.agents) == 2
    while env.agents:
        (actor,) = env.acting_agents
        assert actor != first
        env.step({actor: {"action_type": 1, "argument": "still here"}})


def test_three_agents_play_on_after_one_leaves() -> None:
    setup = make_setup(roles=3, max_turns=9)
    agents = [
        ScriptedAgent(["I have to go."], then="leave"),
        ScriptedAgent(["Shall we carry on?"], then="repeat"),
        ScriptedAgent(["Yes, let us."], then="repeat"),
    ]
    episode = asyncio.run(run_episode(setup, agents))
    assert episode.status is EpisodeStatus.finished
    names = setup.agent_names
    leave = next(t for t in episode.turns if t.action.action_type is ActionType.leave)
    assert leave.agent == names[0]
    later = episode.turns[leave.index + 1 :]
    assert {t.agent for t in later} == {names[1], names[2]} and len(later) >= 4


@pytest.mark.parametrize("turn_mode", ["round-robin", "random"])
def test_builtin_group_scenario_with_scripted_agents(turn_mode: str) -> None:
    library, _ = resolve_scenarios("sotopia-group")
    setup = sample_setups(library, "sg_group_surprise_party", n=1, seed=0)[0]
    assert len(setup.agents) == 4 and len(setup.relationships) == 6
    agents = [ScriptedAgent([f"Line from seat {i}."], then="repeat") for i in range(4)]
    episode = asyncio.run(run_episode(setup, agents, env_kwargs={"turn_mode": turn_mode, "max_turns": 8}))
    assert episode.status is EpisodeStatus.finished and len(episode.turns) == 8
    assert {t.agent for t in episode.turns} == set(setup.agent_names)
    assert episode.metadata.env.turn_mode == turn_mode
