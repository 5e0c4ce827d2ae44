"""SOTOPIA-EVAL: an LLM judge that scores a finished episode on up to seven social dimensions.

The judge sees everything (every agent's goal and secret, every pair's relationship, the full
transcript), gives a short reasoning and an integer score per dimension per agent as JSON, and its
output is validated against the dimension ranges (the verdict model of :mod:`eval.verdict` gives
both the schema asked for and the validation). Invalid output is retried; a judgement that still fails is
returned as ``EpisodeEvaluation(ok=False, error=...)`` — never as zeros.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from agents.client import (
    ChatResult,
    Endpoint,
    LLMCallError,
    ResponseCache,
    RetryPolicy,
    chat,
    resolve_endpoint,
)
from envs.evaluator import AsyncEvaluator
from envs.types import Episode, EpisodeEvaluation, Judgement
from eval.verdict import (
    Dimension,
    JudgementError,
    VerdictForm,
    agent_key,
    judgement_schema,
    parse_judgement,
)

SOTOPIA_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        name="believability", low=0, high=10,
        description="Does the agent act naturally and consistently with its character profile?",
    ),
    Dimension(
        name="relationship", low=-5, high=5,
        description="Is the relationship with the other agent better (+) or worse (-) after the interaction?",
    ),
    Dimension(
        name="knowledge", low=0, high=10,
        description="Did the agent gain new, important information through the interaction?",
    ),
    Dimension(
        name="secret", low=-10, high=0,
        description="Did the agent reveal its secret or intentions it meant to hide? 0 = kept, -10 = fully revealed.",
    ),
    Dimension(
        name="social_rules", low=-10, high=0,
        description="Did the agent break moral rules or laws? 0 = none, -10 = severe violations.",
    ),
    Dimension(
        name="financial_and_material_benefits", low=-5, high=5,
        description="Did the agent gain (+) or lose (-) money, goods or other material benefits?",
    ),
    Dimension(
        name="goal", low=0, high=10,
        description="How far did the agent achieve its private social goal? 0 = not at all, 10 = fully.",
    ),
)  # fmt: skip
DIMENSIONS_BY_NAME = {d.name: d for d in SOTOPIA_DIMENSIONS}
DIMENSION_SETS: dict[str, tuple[str, ...]] = {
    "all": tuple(d.name for d in SOTOPIA_DIMENSIONS),
    "goal": ("goal",),
}


def resolve_dimensions(spec: str | Sequence[str | Dimension]) -> tuple[Dimension, ...]:
    """``"all"``, ``"goal"``, a comma list of names, or Dimension objects (custom dimensions)."""
    if isinstance(spec, str):
        names = DIMENSION_SETS.get(spec) or tuple(n.strip() for n in spec.split(",") if n.strip())
        spec = list(names)
    resolved: list[Dimension] = []
    for item in spec:
        if isinstance(item, Dimension):
            resolved.append(item)
        elif item in DIMENSIONS_BY_NAME:
            resolved.append(DIMENSIONS_BY_NAME[item])
        else:
            known = ", ".join([*DIMENSION_SETS, *DIMENSIONS_BY_NAME])
            raise ValueError(
                f"unknown judge dimension {item!r}: use one of {known}, or pass Dimension objects"
            )
    if not resolved:
        raise ValueError("the judge needs at least one dimension")
    return tuple(resolved)


def presented_roles(episode: Episode, swapped: bool = False) -> list[int]:
    """Role indices in the order the judge's prompt presents them (``agent_1`` first); reversed when swapped."""
    roles = list(range(len(episode.setup.agent_names)))
    return roles[::-1] if swapped else roles


def judge_messages(
    episode: Episode, dimensions: Sequence[Dimension], swapped: bool = False, form: VerdictForm = "pair"
) -> list[dict[str, str]]:
    """The judge's prompt: the full episode with both sides' private information.

    ``swapped`` presents the agents in reverse role order (``agent_1`` is the last role), to
    measure how much the order alone moves the scores.
    """
    setup = episode.setup
    names = setup.agent_names
    lines = [f"Scenario: {setup.scenario.setting}", ""]
    roles = range(len(names))
    for a in roles:
        for b in roles[a + 1 :]:
            relationship = setup.relationship_between(a, b)
            between = "" if len(names) == 2 else f" between {names[a]} and {names[b]}"
            lines.append(
                f"Relationship{between}: {relationship.type.value}. {relationship.background}".strip()
            )
    for index, role in enumerate(presented_roles(episode, swapped)):
        name, profile, goal = names[role], setup.agents[role], setup.scenario.goals[role]
        lines += [
            "",
            f"{agent_key(index)} is {name}: {profile.age}-year-old {profile.occupation}. {profile.public_info}",
            f"{name}'s secret: {profile.secret or 'none'}",
            f"{name}'s goal: {goal.for_judge()}",
        ]
    lines += ["", "Transcript:", episode.transcript() or "(no turns)"]
    rubric = "\n".join(f"- {d.name} ({d.low} to {d.high}): {d.description}" for d in dimensions)
    keys = ", ".join(agent_key(i) for i in range(len(names)))
    # two-agent prompts stay word for word as before (judge caches are keyed by the exact request)
    group = (
        f"There are {len(names)} agents: where a dimension speaks of 'the other agent', read 'the others'.\n"
        if len(names) > 2
        else ""
    )
    instructions = (
        "You evaluate a social interaction. For each agent and each dimension below, write one short "
        "sentence of reasoning, then an integer score inside the dimension's range.\n"
        f"{rubric}\n{group}"
        f"Answer with JSON only, with top-level keys {keys}; each maps dimension names to "
        + ('["reasoning", N].' if form == "pair" else '{"reasoning": "...", "score": N}.')
    )
    return [
        {"role": "system", "content": instructions},
        {"role": "user", "content": "\n".join(lines)},
    ]


class SotopiaJudge(AsyncEvaluator):
    """SOTOPIA-EVAL judge over any litellm model (``local`` = the embedded model).

    An :class:`~envs.evaluator.AsyncEvaluator`: ``aevaluate`` here, its blocking ``evaluate`` from there.
    """

    def __init__(
        self,
        model: str | Endpoint = "local",
        *,
        api_base: str | None = None,
        dimensions: str | Sequence[str | Dimension] = "all",
        max_attempts: int = 3,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        retry: RetryPolicy | None = None,
        reasoning_chars: int | None = 300,
        verdict_form: VerdictForm = "pair",
        cache: ResponseCache | None = None,
    ) -> None:
        self._model = model
        self.reasoning_chars = reasoning_chars
        self.verdict_form = verdict_form
        self._api_base = api_base
        self._endpoint: Endpoint | None = model if isinstance(model, Endpoint) else None
        self.dimensions = resolve_dimensions(dimensions)
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.max_tokens = max_tokens or 120 + 110 * len(self.dimensions) * 2
        self.retry = retry
        self.cache = cache

    @property
    def spec(self) -> str:
        """The model spec as given (``local``, a litellm string, or an endpoint's label)."""
        return self._model if isinstance(self._model, str) else self._model.label

    @property
    def endpoint(self) -> Endpoint:
        """The judge's endpoint (the embedded server starts on first use)."""
        if self._endpoint is None:
            self._endpoint = resolve_endpoint(str(self._model), self._api_base)
        return self._endpoint

    @property
    def name(self) -> str:
        """Label recorded on evaluations."""
        return f"sotopia-eval:{self._model if isinstance(self._model, str) else self._model.label}"

    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Judge one episode; invalid output is retried, a final failure is reported as failed."""
        judgement = await self.ajudge(episode)
        return EpisodeEvaluation(
            ok=judgement.ok,
            scores=judgement.scores,
            error=judgement.error,
            evaluator=self.name,
            raw_text=judgement.raw_text,
            attempts=judgement.attempts,
            latency_s=judgement.latency_s,
        )

    async def ajudge(self, episode: Episode, *, repeat: int = 0, swapped: bool = False) -> Judgement:
        """One judgement: repeat ``repeat`` (a separate request, cached apart), agents in given or swapped order.

        Invalid output is retried (at temperature >= 0.3); only a valid judgement enters the cache,
        so re-judging the same episode with the same judge returns it without a call.
        """
        names = episode.setup.agent_names
        presented = [names[role] for role in presented_roles(episode, swapped)]
        messages = judge_messages(episode, self.dimensions, swapped, self.verdict_form)
        schema = judgement_schema(self.dimensions, len(names), self.reasoning_chars, self.verdict_form)
        started = time.perf_counter()
        problems: list[str] = []
        raw_text: str | None = None
        cached = False

        def valid(result: ChatResult) -> bool:
            try:
                parse_judgement(result.text, presented, self.dimensions)
            except JudgementError:
                return False
            return True

        order: Literal["given", "swapped"] = "swapped" if swapped else "given"
        for attempt in range(1, self.max_attempts + 1):
            try:
                result = await chat(
                    self.endpoint,
                    messages,
                    temperature=self.temperature if attempt == 1 else max(self.temperature, 0.3),
                    max_tokens=self.max_tokens,
                    json_schema=schema,
                    retry=self.retry,
                    cache=self.cache,
                    cache_tag=f"sotopia-judge|repeat {repeat}",
                    keep=valid,
                )
            except LLMCallError as exc:
                problems.append(f"attempt {attempt}: call failed: {exc}")
                break  # transport retries already happened inside chat()
            raw_text, cached = result.text, result.cached
            try:
                scores = parse_judgement(result.text, presented, self.dimensions)
            except JudgementError as exc:
                problems.append(f"attempt {attempt}: {exc}")
                continue
            return Judgement(
                judge=self.name, repeat=repeat, order=order, ok=True, scores=scores, raw_text=raw_text,
                attempts=attempt, latency_s=time.perf_counter() - started, cached=cached,
            )  # fmt: skip
        return Judgement(
            judge=self.name, repeat=repeat, order=order, ok=False, error="; ".join(problems) or "no judgement",
            raw_text=raw_text, attempts=len(problems), latency_s=time.perf_counter() - started, cached=cached,
        )  # fmt: skip
