"""One place applies a judgement to an episode and tells the agents how it ended (envs.outcome)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from test_envs_support import LEAVE, ScriptAgent, make_setup, speak

from envs.evaluator import TranscriptStatsEvaluator
from envs.outcome import AgentInfo, LearnerInfo, OutcomeInfo, apply_evaluation, outcome_info
from envs.sinks import read_episodes
from envs.social import SocialEpisodeEnv
from envs.types import EpisodeEvaluation, Observation
from envs.wrappers import SingleAgentEnv
from eval.stats import episode_judgement
from eval.store import EpisodeStore

A, B = "Alice Tester", "Bruno Tester"


def _played(**settings: object) -> tuple[SocialEpisodeEnv, dict[str, dict[str, Any]]]:
    env = SocialEpisodeEnv(make_setup(), **settings)
    env.reset()
    env.step({A: speak("one two three")})
    *_, infos = env.step({B: LEAVE})
    return env, infos


def test_a_later_judgement_rewards_on_the_dimension_the_env_recorded() -> None:
    # what a re-judging of a stored episode does: no reward dimension given, the episode's own is used
    episode = _played(reward_dimension="words")[0].episode
    assert episode.reward_dimension == "words" and episode.rewards == {}
    evaluation = TranscriptStatsEvaluator().evaluate(episode)
    assert apply_evaluation(episode, evaluation) == {A: 3.0, B: 0.0}
    assert apply_evaluation(episode, evaluation, "speak") == {A: 1.0, B: 0.0}
    assert _played()[0].episode.reward_dimension == "goal"


def test_the_env_and_the_judgement_give_the_same_outcome_info() -> None:
    env, infos = _played(evaluator=TranscriptStatsEvaluator(), reward_dimension="words")
    for name in (A, B):
        assert {k: infos[name][k] for k in outcome_info(env.episode, name)} == outcome_info(env.episode, name)
    assert outcome_info(env.episode, A) == {
        "termination_reason": "leave",
        "evaluated": True,
        "scores": env.episode.scores[A],
    }
    failed = _played()[0].episode
    apply_evaluation(failed, EpisodeEvaluation(ok=False, error="judge down", evaluator="x"))
    assert outcome_info(failed, B) == {
        "termination_reason": "leave",
        "evaluated": False,
        "scores": {},
        "evaluation_error": "judge down",
    }


def test_stored_evaluations_of_any_shape_load_as_episode_evaluations(tmp_path: Path) -> None:
    episode = _played(evaluator=TranscriptStatsEvaluator(), reward_dimension="words")[0].episode
    stored = json.loads(episode.model_dump_json())
    assert (
        stored["evaluation"]["ok"] is True
    )  # the stored JSON keeps its shape (eval.store reads $.evaluation.ok)
    legacy = [
        stored,  # as every version so far wrote it
        {**stored, "evaluation": {"error": "quota", "evaluator": "old-judge"}},  # no ok: scores say judged
        {**stored, "evaluation": {"ok": False, "error": "quota", "scores": {A: {"goal": "high"}}}},
        {**stored, "scores": {}, "evaluation": {"evaluator": "old-judge"}},
    ]
    lines = "\n".join(json.dumps(record) for record in legacy) + "\n"
    (tmp_path / "episodes.jsonl").write_text(lines, encoding="utf-8")
    loaded = read_episodes(tmp_path)
    assert [type(e.evaluation) for e in loaded] == [EpisodeEvaluation] * 4
    assert loaded[0].evaluation == episode.evaluation
    assert (loaded[1].evaluation.ok, loaded[1].evaluation.error, loaded[1].evaluation.evaluator) == (
        True,
        "quota",
        "old-judge",
    )
    assert (loaded[2].evaluation.ok, loaded[2].evaluation.error) == (False, "quota")
    assert loaded[3].evaluation.ok is False
    assert episode_judgement(loaded[1]).score(A, "words") == 3.0  # ok without scores: Episode.scores
    with EpisodeStore(tmp_path / "store") as store:
        store.start_run(config={}, models=["scripted"])
        store.put(loaded[1])
        assert store.get(episode.id).evaluation == loaded[1].evaluation


def _is_agent_info(info: dict[str, Any]) -> bool:
    """Exactly the keys AgentInfo declares (required ones present), with the declared kinds of value."""
    keys = set(info)
    return (
        AgentInfo.__required_keys__ <= keys <= AgentInfo.__required_keys__ | AgentInfo.__optional_keys__
        and isinstance(info["observation"], Observation)
        and isinstance(info["action_mask"]["action_type"], np.ndarray)
        and info["turn"] == info["observation"].turn
    )


async def test_the_envs_infos_and_the_learners_info_carry_only_declared_keys() -> None:
    env = SocialEpisodeEnv(make_setup(), evaluator=TranscriptStatsEvaluator())
    _, infos = env.reset()
    assert all(_is_agent_info(info) for info in infos.values())
    *_, infos = env.step({A: speak("one"), B: speak("not my turn")})
    assert all(_is_agent_info(info) for info in infos.values()) and infos[B]["ignored_action"]
    *_, infos = env.step({B: LEAVE})
    assert all(
        _is_agent_info(info) and set(OutcomeInfo.__required_keys__) <= set(info) for info in infos.values()
    )
    assert set(AgentInfo.__optional_keys__) >= set(OutcomeInfo.__annotations__)
    assert set(LearnerInfo.__annotations__) >= set(AgentInfo.__annotations__)

    learner_keys = set(LearnerInfo.__annotations__)
    view = SingleAgentEnv(SocialEpisodeEnv(make_setup()), ScriptAgent([LEAVE]))
    _, info = await view.reset()
    assert _is_agent_info(info) and set(info) <= learner_keys
    *_, info = await view.step(speak("hi"))
    assert set(info) <= learner_keys and info["termination_reason"] == "leave"
    failing = SingleAgentEnv(SocialEpisodeEnv(make_setup()), ScriptAgent(["ok"], fail_on_call=1))
    await failing.reset()
    await failing.step(speak("hi"))
    *_, info = await failing.step(speak("still there?"))
    assert set(info) == {"failed", "error", "status"} <= learner_keys and info["status"] == "failed"
