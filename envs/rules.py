"""Rule checks on episodes: the scenario's goal checks (:mod:`scenarios.checks`) read off the transcript.

:func:`episode_checks` runs every role's checks on an :class:`~envs.types.Episode`;
:func:`with_checks` puts them on an evaluation (beside any judge scores, with the ``rules``
dimension added to an ok judgement's scores); :class:`RuleChecker` is an evaluator that needs no
model: its evaluation holds only the checks and the ``rules`` scores.
"""

from __future__ import annotations

import time
from collections import Counter

from envs.evaluator import AsyncEvaluator
from envs.types import RULES_DIMENSION, DimensionScore, Episode, EpisodeEvaluation, EpisodeStatus
from scenarios.checks import Act, CheckResult, evaluate_checks, rules_score

RULES_EVALUATOR = "rule-checks"
"""The name :class:`RuleChecker` records on its evaluations."""


def episode_acts(episode: Episode) -> list[Act]:
    """The public acts of an episode in the form the checks read (role by the agent's position)."""
    roles = {name: index for index, name in enumerate(episode.setup.agent_names)}
    return [
        Act(index=t.index, role=roles[t.agent], kind=t.action.action_type.value, text=t.action.argument)
        for t in episode.turns
        if t.agent in roles
    ]


def episode_checks(episode: Episode) -> dict[str, list[CheckResult]]:
    """Agent name -> its rule-check results (agents without checks are left out)."""
    scenario = episode.setup.scenario
    if not scenario.has_checks:
        return {}
    results = evaluate_checks(
        [goal.checks for goal in scenario.goals],
        episode_acts(episode),
        finished=episode.status is EpisodeStatus.finished,
    )
    names = episode.setup.agent_names
    return {names[role]: found for role, found in enumerate(results) if found}


def describe(results: list[CheckResult]) -> str:
    """``2 pass, 1 fail: deal fail (turn 6), secret pass`` — one line for a role's results."""
    counts = Counter(r.outcome for r in results)
    head = ", ".join(f"{counts[o]} {o}" for o in ("pass", "fail", "undecidable") if counts[o])
    detail = ", ".join(
        f"{r.label} {r.outcome}" + (f" (turn {r.turn})" if r.turn is not None else "") for r in results
    )
    return f"{head}: {detail}"


def with_checks(evaluation: EpisodeEvaluation, episode: Episode) -> EpisodeEvaluation:
    """``evaluation`` with the episode's rule checks; an ok one also gets each decided ``rules`` score."""
    checks = episode_checks(episode)
    scores = {agent: dict(dims) for agent, dims in evaluation.scores.items()}
    if evaluation.ok:
        for agent, results in checks.items():
            value = rules_score(results)
            if value is not None:
                scores.setdefault(agent, {})[RULES_DIMENSION] = DimensionScore(
                    score=value, reasoning=describe(results)
                )
    return evaluation.model_copy(update={"checks": checks, "scores": scores})


class RuleChecker(AsyncEvaluator):
    """An evaluator from rule checks alone (no model): ``rules`` per agent, every result kept.

    A scenario without checks gives a failed evaluation (nothing to check), never zeros.
    """

    name = RULES_EVALUATOR

    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Run the scenario's checks on the episode."""
        started = time.perf_counter()
        if not episode.setup.scenario.has_checks:
            return EpisodeEvaluation(
                ok=False,
                error=f"scenario {episode.setup.scenario.id!r} has no rule checks",
                evaluator=self.name,
                latency_s=time.perf_counter() - started,
            )
        evaluation = EpisodeEvaluation(ok=True, evaluator=self.name)
        evaluation = with_checks(evaluation, episode)
        evaluation.latency_s = time.perf_counter() - started
        return evaluation
