"""Turn-taking, termination, truncation, turn records and end-of-episode rewards."""

from __future__ import annotations

import pytest
from test_envs_support import LEAVE, NONE, make_setup, speak

from envs.evaluator import AsyncEvaluator, TranscriptStatsEvaluator
from envs.social import SocialEpisodeEnv, TurnMode
from envs.types import ActionType, AgentAction, Episode, EpisodeEvaluation, EpisodeStatus, Turn

A, B, C = "Alice Tester", "Bruno Tester", "Chiara Tester"


def test_round_robin_alternates_and_truncates_at_max_turns() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=4))
    _, infos = env.reset()
    assert env.acting_agents == [A]
    assert infos[A]["observation"].available_actions == list(ActionType)
    assert infos[B]["observation"].available_actions == [ActionType.none]
    actors = []
    for step in range(4):
        actor = env.acting_agents[0]
        actors.append(actor)
        _, rewards, terminations, truncations, infos = env.step({actor: speak(f"line {step}")})
    assert actors == [A, B, A, B]
    assert truncations == {A: True, B: True} and terminations == {A: False, B: False}
    assert rewards == {A: 0.0, B: 0.0}
    assert env.agents == []
    episode = env.episode
    assert episode.status is EpisodeStatus.finished and episode.termination_reason == "max_turns"
    assert [t.index for t in episode.turns] == [0, 1, 2, 3]
    assert infos[A]["evaluated"] is False
    assert "turn limit of 4" in infos[A]["observation"].text
    with pytest.raises(RuntimeError, match="reset"):
        env.step({A: speak("too late")})


def test_env_max_turns_overrides_scenario() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=20), max_turns=1)
    env.reset()
    _, _, _, truncations, _ = env.step({A: speak("only one")})
    assert all(truncations.values()) and env.episode.metadata.max_turns == 1


def test_leave_terminates_two_agent_episode() -> None:
    env = SocialEpisodeEnv(make_setup())
    env.reset()
    env.step({A: speak("hi")})
    _, _, terminations, truncations, infos = env.step({B: LEAVE})
    assert terminations == {A: True, B: True} and not any(truncations.values())
    assert env.episode.termination_reason == "leave"
    assert "Bruno Tester left" in infos[A]["observation"].text


def test_leave_with_three_agents_lets_the_others_go_on() -> None:
    env = SocialEpisodeEnv(make_setup(roles=3, max_turns=10))
    env.reset()
    env.step({A: speak("hi")})
    _, _, terminations, _, infos = env.step({B: LEAVE})
    assert terminations == {A: False, B: True, C: False}
    assert env.agents == [A, C]
    assert "you left" in infos[B]["observation"].text
    assert env.acting_agents == [C]
    env.step({C: speak("bye Bruno")})
    assert env.acting_agents == [A], "round-robin skips the agent who left"
    _, _, terminations, _, _ = env.step({A: LEAVE})
    assert terminations == {A: True, C: True} and env.agents == []
    assert env.episode.termination_reason == "leave"


def test_stale_turns_terminate_and_reset_on_activity() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=20), max_stale_turns=2)
    env.reset()
    env.step({A: NONE})
    env.step({B: speak("anyone?")})  # resets the count
    _, _, terminations, _, _ = env.step({A: NONE})
    assert not any(terminations.values())
    _, _, terminations, truncations, _ = env.step({B: NONE})
    assert all(terminations.values()) and not any(truncations.values())
    assert env.episode.termination_reason == "stale_turns"
    assert env.episode.turns[-1].action.render(B) == "Bruno Tester did nothing"


def test_stale_turns_can_be_disabled() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=5), max_stale_turns=None)
    env.reset()
    for _ in range(5):
        _, _, terminations, truncations, _ = env.step({env.acting_agents[0]: NONE})
    assert not any(terminations.values()) and all(truncations.values())


def test_simultaneous_mode_everyone_acts_each_step() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=3), turn_mode=TurnMode.simultaneous)
    _, infos = env.reset()
    assert env.acting_agents == [A, B]
    assert all(infos[n]["observation"].is_my_turn for n in (A, B))
    env.step({A: speak("hello"), B: speak("hey")})
    env.step({A: speak("how are you?"), B: NONE})
    assert [(t.index, t.agent) for t in env.episode.turns] == [(0, A), (0, B), (1, A), (1, B)]
    with pytest.raises(ValueError, match="no action"):
        env.step({A: speak("only me")})
    _, _, terminations, _, _ = env.step({A: speak("bye"), B: LEAVE})
    assert all(terminations.values()) and env.episode.termination_reason == "leave"


def test_simultaneous_stale_needs_everyone_idle() -> None:
    env = SocialEpisodeEnv(make_setup(max_turns=10), turn_mode="simultaneous", max_stale_turns=1)
    env.reset()
    _, _, terminations, _, _ = env.step({A: NONE, B: speak("still here")})
    assert not any(terminations.values())
    _, _, terminations, _, _ = env.step({A: NONE, B: NONE})
    assert all(terminations.values())


def test_out_of_turn_actions_are_ignored_and_reported() -> None:
    env = SocialEpisodeEnv(make_setup())
    env.reset()
    _, _, _, _, infos = env.step({A: speak("my turn"), B: speak("interrupting")})
    assert [t.agent for t in env.episode.turns] == [A]
    assert infos[B]["ignored_action"] == 'Bruno Tester said: "interrupting"'
    assert "ignored_action" not in infos[A]


def test_invalid_actions_are_rejected() -> None:
    env = SocialEpisodeEnv(make_setup(), max_argument_chars=10)
    env.reset()
    with pytest.raises(ValueError, match="no action"):
        env.step({B: speak("not my turn")})
    with pytest.raises(ValueError, match="invalid action"):
        env.step({A: {"action_type": 9, "argument": ""}})
    with pytest.raises(ValueError, match="allows 10"):
        env.step({A: speak("x" * 11)})
    with pytest.raises(ValueError, match="not in the episode"):
        env.step({A: speak("ok"), "Nobody": speak("hi")})
    assert env.episode.turns == [], "rejected steps leave no trace"


def test_space_dict_actions_are_accepted() -> None:
    env = SocialEpisodeEnv(make_setup())
    env.reset()
    env.step({A: {"action_type": ActionType.action.index, "argument": "opens the door"}})
    assert env.episode.turns[0].action == AgentAction(
        action_type=ActionType.action, argument="opens the door"
    )


def test_turn_details_via_step_and_record_turn_details() -> None:
    env = SocialEpisodeEnv(make_setup())
    env.reset()
    detailed = Turn(
        index=99, agent="whoever", action=speak("hello"), raw_text="<think>x</think>hello", latency_s=0.5
    )
    env.step({A: detailed})
    first = env.episode.turns[0]
    assert (first.index, first.agent, first.raw_text, first.latency_s) == (0, A, "<think>x</think>hello", 0.5)
    env.step({B: speak("hi")})
    updated = env.record_turn_details(
        B, Turn(index=0, agent=B, action=LEAVE, raw_text="RAW", completion_tokens=4)
    )
    assert updated.action == speak("hi"), "details never change the act"
    assert env.episode.turns[1].raw_text == "RAW" and env.episode.turns[1].completion_tokens == 4
    fresh = SocialEpisodeEnv(make_setup())
    fresh.reset()
    with pytest.raises(ValueError, match="not acted"):
        fresh.record_turn_details(A, Turn(index=0, agent=A, action=NONE))


def test_rewards_from_evaluator_at_the_end() -> None:
    env = SocialEpisodeEnv(
        make_setup(max_turns=3), evaluator=TranscriptStatsEvaluator(), reward_dimension="words"
    )
    env.reset()
    _, rewards, _, _, _ = env.step({A: speak("one two three")})
    assert rewards == {A: 0.0, B: 0.0}
    env.step({B: speak("four five")})
    _, rewards, _, truncations, infos = env.step({A: speak("six")})
    assert all(truncations.values())
    assert rewards == {A: 4.0, B: 2.0}
    assert infos[A]["evaluated"] is True and infos[A]["scores"]["speak"] == 2.0
    assert env.episode.rewards == {A: 4.0, B: 2.0}
    assert env.episode.scores[B]["words"] == 2.0
    assert env.episode.evaluation.evaluator == "transcript-stats"


class _Broken(AsyncEvaluator):
    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        raise ConnectionError("judge unreachable")


class _Refusing(AsyncEvaluator):
    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        return EpisodeEvaluation(ok=False, error="no valid judgement after 3 attempts", evaluator="refusing")


@pytest.mark.parametrize(
    ("evaluator", "error"),
    [(_Broken(), "ConnectionError: judge unreachable"), (_Refusing(), "no valid judgement after 3 attempts")],
)
def test_failed_evaluation_is_recorded_not_zeroed(evaluator: AsyncEvaluator, error: str) -> None:
    env = SocialEpisodeEnv(make_setup(), evaluator=evaluator)
    env.reset()
    env.step({A: speak("hi")})
    _, rewards, _, _, infos = env.step({B: LEAVE})
    assert rewards == {A: 0.0, B: 0.0}
    assert infos[A]["evaluated"] is False and infos[A]["evaluation_error"] == error
    assert env.episode.rewards == {} and env.episode.scores == {}
    assert env.episode.evaluation.ok is False


async def test_sync_evaluation_inside_a_running_loop() -> None:
    env = SocialEpisodeEnv(make_setup(), evaluator=TranscriptStatsEvaluator(), reward_dimension="acts")
    env.reset()
    env.step({A: speak("hi")})
    _, rewards, _, _, _ = env.step({B: LEAVE})
    assert rewards == {A: 1.0, B: 1.0}


def test_fail_marks_episode_and_ends_it() -> None:
    env = SocialEpisodeEnv(make_setup())
    env.reset()
    env.step({A: speak("hi")})
    env.fail("RuntimeError: partner crashed")
    assert env.agents == [] and env.episode.status is EpisodeStatus.failed
    assert env.episode.error == "RuntimeError: partner crashed" and len(env.episode.turns) == 1
