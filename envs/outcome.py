"""What an evaluation does to an ended episode, and what the agents are told about it.

:func:`apply_evaluation` is the one place a judgement lands on an episode (the env, the runner,
the single-agent view, a re-judging and the web app all call it); :func:`outcome_info` is the
end-of-episode part of an agent's ``infos`` entry (the env and the single-agent view both give it).
The entries themselves are typed: :class:`AgentInfo` (the env's), :class:`LearnerInfo` (the
single-agent view's).
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from envs.rules import with_checks
from envs.types import RULES_DIMENSION, Episode, EpisodeEvaluation, Observation


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


# Optional keys are declared in ``total=False`` subclasses, not with ``NotRequired``: under
# ``from __future__ import annotations`` Python 3.11 counts a NotRequired key as required at runtime.
class _Outcome(TypedDict):
    termination_reason: str | None
    evaluated: bool
    """A judgement (or rule check) succeeded."""
    scores: dict[str, float]
    """This agent's scores by dimension (rule scores even when the judgement failed)."""


class OutcomeInfo(_Outcome, total=False):
    """The end-of-episode keys of an agent's ``infos`` entry."""

    evaluation_error: str | None
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


class ActionMask(TypedDict):
    """Which actions an agent may take now, in the action space's shape (``Dict`` of the two parts)."""

    action_type: np.ndarray
    """int8, 1 for each available :class:`~envs.types.ActionType` (in ``Discrete`` order)."""
    argument: None
    """Any text within the space's length is allowed."""


class _AgentView(TypedDict):
    observation: Observation
    """What the agent is given (the structured form of its text observation)."""
    turn: int
    action_mask: ActionMask


class AgentInfo(_AgentView, total=False):
    """One agent's entry in the ``infos`` of :meth:`envs.social.SocialEpisodeEnv.reset` and ``step``."""

    ignored_action: str
    """An act given for the agent when it was not its turn (it was ignored)."""
    termination_reason: str | None
    """From here on, once the episode has ended: :class:`OutcomeInfo`'s keys."""
    evaluated: bool
    scores: dict[str, float]
    evaluation_error: str | None


class LearnerInfo(TypedDict, total=False):
    """The info of :class:`envs.wrappers.SingleAgentEnv`: the learner's :class:`AgentInfo` keys (with
    the outcome once the episode ends) or, when a partner failed, why."""

    observation: Observation
    turn: int
    action_mask: ActionMask
    ignored_action: str
    termination_reason: str | None
    evaluated: bool
    scores: dict[str, float]
    evaluation_error: str | None
    failed: bool
    """A partner failed: the episode is over, marked failed."""
    error: str | None
    status: str
    """The episode's :class:`~envs.types.EpisodeStatus` value."""
