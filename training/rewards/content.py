"""The ``content`` term: how well each SIP stage is grounded in the context (lexical, or an LLM judge)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agents.sip import SIP, SIPParse
from envs.evaluator import run_sync
from training.rewards.content_judge import judge_content
from training.rewards.lexicon import GOAL_WORDS, MENTAL_WORDS, RESPONSE_WORDS, content_words


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return "\n".join(_as_text(v) for v in value)
    return str(value)


def grounding_sources(fields: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """(context, question and goal as one text, options) from a row's fields: what a reply is grounded in."""
    context = _as_text(fields.get("context"))
    question = "\n".join(t for t in (_as_text(fields.get("question")), _as_text(fields.get("goal"))) if t)
    options = [str(o) for o in (fields.get("options") or [])]
    return context, question, options


def stage_grounding(
    parse: SIPParse, context: str, question: str = "", options: Sequence[str] = (), min_words: int = 4
) -> dict[str, float]:
    """Per-stage lexical grounding scores in [0, 1] (see :func:`content_reward` for the formula)."""
    c, q, o = content_words(context), content_words(question), content_words(_as_text(options))
    cue, meaning, goal, response = SIP.stages
    refs = {
        cue: (c, c),
        meaning: (c | q | MENTAL_WORDS, MENTAL_WORDS),
        goal: (c | q | GOAL_WORDS, q | GOAL_WORDS),
        response: (c | q | o | RESPONSE_WORDS, o | RESPONSE_WORDS),
    }
    scores = {}
    for stage in SIP.stages:
        words = content_words(parse.stages.get(stage))
        if not words:
            scores[stage] = 0.0
            continue
        ref, anchor = refs[stage]
        grounded = len(words & ref) / len(words)
        size = min(1.0, len(words) / min_words)
        anchored = 1.0 if words & anchor else 0.5
        scores[stage] = grounded * size * anchored
    return scores


def content_reward(
    completion: str,
    context: str | None = None,
    question: str | None = None,
    options: Sequence[str] | None = None,
    goal: str | None = None,
    judge_model: str | None = None,
    judge_kwargs: Mapping[str, Any] | None = None,
    min_words: int = 4,
    **_: Any,
) -> float | None:
    """How well each SIP stage is grounded in the context; in [0, 1], None without a context.

    Lexical (default). Let W(x) be the stemmed content words of x, C = W(context),
    Q = W(question + goal), O = W(options), and M, G, R small fixed lexicons of mental-state,
    goal and response words. For each stage s with words S (empty or missing stage: score 0):

        score_s = |S ∩ Ref_s| / |S|  *  min(1, |S| / min_words)  *  (1 if S ∩ Anchor_s else 0.5)

    with Ref/Anchor: Cue Encoding C / C; Cue Interpretation C∪Q∪M / M; Goal Clarification
    C∪Q∪G / Q∪G; Response Generation C∪Q∪O∪R / O∪R. Reward = mean of the four scores.
    That is: say only what the context supports, say enough, and let each stage do its job.

    Judge: with ``judge_model`` (any litellm model string), reward = judge score (0..10) / 10
    from :func:`~training.rewards.content_judge.judge_content`; a failed judgement raises
    :class:`~training.rewards.content_judge.RewardJudgeError`.
    """
    ctx, q, opts = grounding_sources(
        {"context": context, "question": question, "goal": goal, "options": options}
    )
    if not ctx.strip():
        return None
    if judge_model:
        return run_sync(
            judge_content(
                completion,
                context=ctx,
                model=judge_model,
                question=q,
                options=opts,
                judge_kwargs=judge_kwargs,
            )
        )
    scores = stage_grounding(SIP.parse(completion), ctx, q, opts, min_words=min_words)
    return sum(scores.values()) / len(scores)
