"""The single-agent (learner) view with embedded partner agents."""

from __future__ import annotations

import pytest
from test_envs_support import LEAVE, ScriptAgent, make_setup, speak

from envs.evaluator import TranscriptStatsEvaluator
from envs.social import SocialEpisodeEnv
from envs.types import AgentAction, EpisodeStatus, Observation, Turn
from envs.wrappers import SingleAgentEnv

A, B, C = "Alice Tester", "Bruno Tester", "Chiara Tester"


async def test_learner_first_sees_only_its_turns() -> None:
    partner = ScriptAgent(["hello there", "fine, thanks"])
    view = SingleAgentEnv(SocialEpisodeEnv(make_setup(max_turns=10)), partner)
    obs, info = await view.reset()
    assert isinstance(obs, Observation) and obs.agent == A and obs.is_my_turn and obs.turn == 0
    assert "GOAL-ALICE" in obs.text and "GOAL-BRUNO" not in obs.text
    obs, reward, terminated, truncated, _ = await view.step(speak("hi"))
    assert (obs.turn, obs.agent, reward, terminated, truncated) == (2, A, 0.0, False, False)
    assert 'Bruno Tester said: "hello there"' in obs.text
    assert view.episode.turns[1].raw_text == "RAW<hello there>", "partner records are attached"
    assert partner.observations[0].agent == B
    obs, _, terminated, _, _ = await view.step(
        Turn(index=0, agent=A, action=speak("how are you?"), raw_text="R2")
    )
    assert view.episode.turns[2].raw_text == "R2"
    obs, reward, terminated, truncated, info = await view.step(AgentAction(action_type="leave"))
    assert terminated and not truncated and info["evaluated"] is False
    assert view.episode.status is EpisodeStatus.finished
    assert view.episode.agent_models == {A: "learner", B: "test-script"}
    with pytest.raises(RuntimeError, match="reset"):
        await view.step(speak("again"))


async def test_learner_second_role_waits_for_partner_and_gets_final_reward() -> None:
    view = SingleAgentEnv(
        SocialEpisodeEnv(make_setup(max_turns=4), reward_dimension="words"),
        ScriptAgent(["one two", "three"]),
        learner_role=1,
        evaluator=TranscriptStatsEvaluator(),
    )
    obs, _ = await view.reset()
    assert obs.agent == B and obs.turn == 1
    assert 'Alice Tester said: "one two"' in obs.text
    obs, reward, terminated, truncated, _ = await view.step(speak("a b c d"))
    assert not (terminated or truncated) and reward == 0.0
    obs, reward, terminated, truncated, info = await view.step(speak("e"))
    assert truncated and not terminated
    assert reward == 5.0 and info["evaluated"] and info["scores"]["words"] == 5.0
    assert view.episode.rewards == {A: 3.0, B: 5.0}


async def test_simultaneous_partners_act_with_the_learner() -> None:
    view = SingleAgentEnv(
        SocialEpisodeEnv(make_setup(max_turns=3), turn_mode="simultaneous"), ScriptAgent(["x", "y", "z"])
    )
    await view.reset()
    await view.step(speak("a"))
    assert [(t.index, t.agent) for t in view.episode.turns] == [(0, A), (0, B)]


async def test_partner_failure_fails_the_episode() -> None:
    view = SingleAgentEnv(SocialEpisodeEnv(make_setup()), ScriptAgent(["ok"], fail_on_call=1))
    await view.reset()
    await view.step(speak("hi"))
    _, reward, terminated, _, info = await view.step(speak("still there?"))
    assert (
        terminated and reward == 0.0 and info["failed"] and "Bruno Tester failed on turn 3" in info["error"]
    )
    assert view.episode.status is EpisodeStatus.failed and len(view.episode.turns) == 3


async def test_partner_count_must_match_roles() -> None:
    view = SingleAgentEnv(SocialEpisodeEnv(make_setup(roles=3)), ScriptAgent([]))
    with pytest.raises(ValueError, match="1 partner agent"):
        await view.reset()
    view = SingleAgentEnv(
        SocialEpisodeEnv(make_setup(roles=3, max_turns=9)), [ScriptAgent([LEAVE]), ScriptAgent(["hm"])]
    )
    await view.reset()
    obs, _, terminated, _, _ = await view.step(speak("hi all"))
    # Bruno leaves, Chiara speaks: Alice goes on with Chiara
    assert not terminated and obs.turn == 3 and view.env.agents == [A, C]
