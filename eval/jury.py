"""Judging an episode more than once: repeats, swapped agent order, a jury of judges; cost and family checks.

:class:`JudgePanel` asks every judge for ``repeats`` judgements in each agent ``order`` and keeps
each one (:class:`~envs.types.Judgement`) beside their aggregate: per agent and dimension, the
mean over judges of each judge's mean over its repeats and orders (so a judge with more valid
judgements does not weigh more). The panel's evaluation is ok only when every judge gave at least
one valid judgement; otherwise the per-judge failures are its error (never zeros). The spread,
agreement and order statistics over a run are in :mod:`eval.reliability`.

:func:`family_warnings` flags a judge that shares a model family with a tested model (judges
favour text like their own). :func:`estimate_cost` prices a run's judge calls with litellm's
offline cost map before it starts.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from envs.evaluator import AsyncEvaluator
from envs.types import DimensionScore, Episode, EpisodeEvaluation, Judgement
from eval.judge import SotopiaJudge, judge_messages

Order = Literal["given", "swapped"]
ORDERS: dict[str, tuple[Order, ...]] = {
    "given": ("given",),
    "swapped": ("swapped",),
    "both": ("given", "swapped"),
}


class JudgePanel(AsyncEvaluator):
    """Several judges x ``repeats`` x agent ``orders`` per episode; implements the evaluator protocol."""

    def __init__(
        self, judges: Sequence[SotopiaJudge], *, repeats: int = 1, orders: Sequence[Order] = ("given",)
    ) -> None:
        if not judges:
            raise ValueError("a judge panel needs at least one judge")
        if repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {repeats}")
        if not orders:
            raise ValueError("a judge panel needs at least one agent order")
        self.judges = list(judges)
        self.repeats = repeats
        self.orders = tuple(orders)
        self.dimensions = self.judges[0].dimensions

    @property
    def name(self) -> str:
        """Label recorded on evaluations: the judges, repeats and orders."""
        judges = "+".join(j.name for j in self.judges)
        return f"jury[{judges}]x{self.repeats}/{'+'.join(self.orders)}"

    @property
    def calls_per_episode(self) -> int:
        """Judgements asked for per episode (each may take several attempts)."""
        return len(self.judges) * self.repeats * len(self.orders)

    async def aevaluate(self, episode: Episode) -> EpisodeEvaluation:
        """Every judgement, concurrently; their aggregate as the evaluation's scores."""
        started = time.perf_counter()
        jobs = [
            judge.ajudge(episode, repeat=repeat, swapped=order == "swapped")
            for judge in self.judges
            for repeat in range(self.repeats)
            for order in self.orders
        ]
        judgements = list(await asyncio.gather(*jobs))
        return aggregate(judgements, [j.name for j in self.judges], self.name, time.perf_counter() - started)


def aggregate(
    judgements: Sequence[Judgement], judges: Sequence[str], name: str, latency_s: float
) -> EpisodeEvaluation:
    """The panel's evaluation: mean over judges of each judge's mean score, every judgement kept."""
    by_judge: dict[str, list[Judgement]] = {judge: [] for judge in judges}
    for judgement in judgements:
        by_judge.setdefault(judgement.judge, []).append(judgement)
    silent = [judge for judge, found in by_judge.items() if not any(j.ok for j in found)]
    attempts = sum(j.attempts for j in judgements)
    if silent:
        errors = "; ".join(
            f"{judge}: {next((j.error for j in by_judge[judge] if j.error), 'no judgement')}"
            for judge in silent
        )
        return EpisodeEvaluation(
            ok=False,
            error=f"no valid judgement from {len(silent)} of {len(by_judge)} judges: {errors}",
            evaluator=name,
            attempts=attempts,
            latency_s=latency_s,
            judgements=list(judgements),
        )
    means: dict[str, dict[str, list[float]]] = {}
    for found in by_judge.values():
        per_judge: dict[str, dict[str, list[float]]] = {}
        for judgement in (j for j in found if j.ok):
            for agent, dims in judgement.scores.items():
                for dim, entry in dims.items():
                    per_judge.setdefault(agent, {}).setdefault(dim, []).append(entry.score)
        for agent, dims in per_judge.items():
            for dim, values in dims.items():
                means.setdefault(agent, {}).setdefault(dim, []).append(statistics.fmean(values))
    ok_count = sum(j.ok for j in judgements)
    scores = {
        agent: {
            dim: DimensionScore(
                score=statistics.fmean(values),
                reasoning=f"mean of {len(values)} judges ({ok_count} of {len(judgements)} judgements valid)",
            )
            for dim, values in dims.items()
        }
        for agent, dims in means.items()
    }
    return EpisodeEvaluation(
        ok=True,
        scores=scores,
        evaluator=name,
        attempts=attempts,
        latency_s=latency_s,
        judgements=list(judgements),
    )


# -- model families ----------------------------------------------------------------------------

_FAMILIES: tuple[tuple[str, str], ...] = (
    ("smollm", r"smollm"),
    ("gpt (OpenAI)", r"gpt|(^|/)o[1-9](-|$)|chatgpt"),
    ("claude (Anthropic)", r"claude"),
    ("gemini/gemma (Google)", r"gemini|gemma"),
    ("llama (Meta)", r"llama"),
    ("qwen (Alibaba)", r"qwen|qwq"),
    ("mistral", r"mistral|mixtral|ministral|codestral"),
    ("deepseek", r"deepseek"),
    ("phi (Microsoft)", r"(^|[/_-])phi-?\d"),
    ("command (Cohere)", r"command-r|command-a|cohere"),
    ("grok (xAI)", r"grok"),
)


def model_family(spec: str) -> str | None:
    """The model family a spec names (``local`` is SmolLM2; a checkpoint folder is read for its base), or None."""
    text = spec.strip().removeprefix("sip:").strip()
    if text == "local":
        return "smollm"
    candidates = [text.lower()]
    folder = Path(text).expanduser()
    config = folder / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        candidates.append(str(data.get("_name_or_path", "")).lower())
    for family, pattern in _FAMILIES:
        if any(re.search(pattern, candidate) for candidate in candidates):
            return family
    return None


def family_warnings(tested: Sequence[str], judges: Sequence[str]) -> list[str]:
    """One warning per (judge, tested model) pair of the same model family."""
    warnings = []
    for judge in dict.fromkeys(judges):
        family = model_family(judge)
        if family is None:
            continue
        for model in dict.fromkeys(tested):
            if model_family(model) == family:
                warnings.append(
                    f"judge {judge!r} and tested model {model!r} are both {family} models: judges tend to favour "
                    "their own family's text; add a judge of another family (--judge ...) or read the scores with care"
                )
    return warnings


# -- cost --------------------------------------------------------------------------------------

ACT_TOKENS = 60
"""Assumed tokens per transcript line when pricing judge calls before the episodes exist."""


class JudgeCost(BaseModel):
    """What one judge's calls of a run are estimated to cost (an upper bound: every reply at max tokens)."""

    judge: str
    calls: int
    prompt_tokens: int = Field(description="Estimated prompt tokens per call.")
    completion_tokens: int = Field(description="Completion tokens per call at most (the judge's max_tokens).")
    usd: float | None = Field(
        None, description="Total, or None when litellm's price list does not know the model."
    )

    @property
    def paid(self) -> bool:
        """True when the judge has a known price above zero."""
        return self.usd is not None and self.usd > 0


def estimate_cost(
    judges: Sequence[SotopiaJudge], episodes: Sequence[Episode], calls_per_judge: int
) -> list[JudgeCost]:
    """Price each judge's calls for ``episodes`` (not played yet: ``max_turns`` lines of ``ACT_TOKENS``).

    Uses litellm's offline cost map (``LITELLM_LOCAL_MODEL_COST_MAP``); the embedded model and models
    it does not list have no price. ``calls_per_judge`` is judgements per episode for one judge
    (repeats x orders).
    """
    import litellm

    costs = []
    for judge in judges:
        prompt = 0
        model = judge.spec if judge.spec != "local" else None
        for episode in episodes:
            messages = judge_messages(episode, judge.dimensions, form=judge.verdict_form)
            text = "\n".join(m["content"] for m in messages)
            tokens = litellm.token_counter(model=model or "gpt-3.5-turbo", text=text)
            prompt += tokens + ACT_TOKENS * int(
                episode.metadata.max_turns or episode.setup.scenario.max_turns
            )
        calls = len(episodes) * calls_per_judge
        per_call = prompt // max(1, len(episodes))
        usd: float | None = None
        if model is not None:
            try:
                prompt_usd, completion_usd = litellm.cost_per_token(
                    model=model, prompt_tokens=per_call, completion_tokens=judge.max_tokens
                )
                usd = (prompt_usd + completion_usd) * calls
            except Exception:  # litellm raises for models it has no price for
                usd = None
        else:
            usd = 0.0
        costs.append(
            JudgeCost(
                judge=judge.spec,
                calls=calls,
                prompt_tokens=per_call,
                completion_tokens=judge.max_tokens,
                usd=usd,
            )
        )
    return costs


def describe_costs(costs: Sequence[JudgeCost]) -> str | None:
    """A line per paid or unpriced remote judge, or None when every judge is free (the embedded model)."""
    lines = []
    for cost in costs:
        if cost.paid:
            lines.append(
                f"  {cost.judge}: {cost.calls} judgements x ~{cost.prompt_tokens:,} prompt + <={cost.completion_tokens:,} "
                f"completion tokens ~ ${cost.usd:,.2f} at most (litellm price list; retries and cache hits not counted)"
            )
        elif cost.usd is None:
            lines.append(
                f"  {cost.judge}: {cost.calls} judgements; price unknown (not in litellm's price list)"
            )
    if not lines:
        return None
    total = sum(c.usd for c in costs if c.usd is not None)
    return "estimated judge cost before starting:\n" + "\n".join(lines) + f"\n  total known: ${total:,.2f}"
