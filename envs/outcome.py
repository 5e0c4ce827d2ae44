"""What an evaluation does to an ended episode, and what the agents are told about it.

:func:`apply_evaluation` is the one place a judgement lands on an episode (the env, the runner,
the single-agent view, a re-judging and the web app all call it); :func:`outcome_info` is the
end-of-episode part of an agent's ``infos`` entry (the env and the single-agent view both give it).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from envs.rules import with_checks
from envs.types import RULES_DIMENSION, Episode, EpisodeEvaluation


def apply_evaluation(
    episode: Episode, evaluation: EpisodeEvaluation, reward_dimension: str | None = None
) -> dict[str, float]:
    """Store ``evaluation`` (with the rule checks added) on ``episode``; return the rewards it sets.

    Scores: an ok evaluation's, plus decided ``rules`` scores whatever the judge's outcome. Rewards
    are each agent's score on ``reward_dimension`` (None: the one the episode's env recorded,
    :attr:`Episode.reward_dimension`); a failed judgement sets none on judge dimensions (never
    zeros), while ``rules`` rewards come from the checks alone.
    """
    dimension = reward_dimension or episode.reward_dimension
    evaluation = with_checks(evaluation, episode)
    episode.evaluation = evaluation
    episode.scores = evaluation.flat_scores()
    if evaluation.ok or dimension == RULES_DIMENSION:
        episode.rewards = {
            name: score
            for name in episode.setup.agent_names
            if (score := evaluation.score(name, dimension)) is not None
        }
    return dict(episode.rewards)


class OutcomeInfo(TypedDict):
    """The end-of-episode keys of an agent's ``infos`` entry."""

    termination_reason: str | None
    evaluated: bool
    """A judgement (or rule check) succeeded."""
    scores: dict[str, float]
    """This agent's scores by dimension (rule scores even when the judgement failed)."""
    evaluation_error: NotRequired[str | None]
    """Why the evaluation failed (only when it did)."""


def outcome_info(episode: Episode, agent: str) -> OutcomeInfo:
    """How ``episode`` ended for ``agent``: termination reason, whether it was judged, its scores."""
    evaluation = episode.evaluation
    info = OutcomeInfo(
        termination_reason=episode.termination_reason,
        evaluated=evaluation is not None and evaluation.ok,
        scores=dict(episode.scores.get(agent, {})),
    )
    if evaluation is not None and not evaluation.ok:
        info["evaluation_error"] = evaluation.error
    return info
