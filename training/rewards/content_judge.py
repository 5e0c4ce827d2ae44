"""The LLM judge behind the judged content term: its prompt, the call through litellm, the score it returns."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agents.json_text import json_objects
from agents.sip import SIP, SIPParse


class RewardJudgeError(RuntimeError):
    """An LLM judge did not return a usable score (the reward is never silently zero)."""


class _CallFailed(Exception):
    """The judge call itself failed after its transient retries (not a reply to ask again)."""


_JUDGE_SYSTEM = (
    f"You grade the reasoning of a model about a social situation. The reasoning has {len(SIP.stages)} "
    f"stages, each with its job:\n{SIP.stage_list()}\n"
    "Judge only how faithful each stage is to the given context and how sound the inferences are, "
    'not the style. Reply with a JSON object only: {"score": <integer 0-10>, "reason": "<one sentence>"}. '
    "0 = missing, invented or wrong; 10 = every stage present, accurate, grounded in the context and sound."
)


def judge_messages(
    parse: SIPParse, context: str, question: str, options: Sequence[str]
) -> list[dict[str, str]]:
    """The chat asking the judge to grade one parsed reply against its context, question and options."""
    reasoning = "\n".join(f"{s}: {parse.stages[s] or '(missing)'}" for s in SIP.stages)
    parts = [f"Context:\n{context.strip()}"]
    if question.strip():
        parts.append(f"Question or goal:\n{question.strip()}")
    if options:
        parts.append("Options:\n" + "\n".join(f"- {o}" for o in options))
    parts.append(f"Reasoning to grade:\n{reasoning}")
    parts.append(f"Final answer given: {parse.answer if parse.answer is not None else '(none)'}")
    return [{"role": "system", "content": _JUDGE_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def parse_judge_score(text: str) -> float:
    """The 0..10 ``score`` from a judge reply (a JSON object, possibly wrapped in prose or a code fence)."""
    for data in json_objects(text or ""):
        if "score" in data:
            score = data["score"]
            if isinstance(score, str):
                try:
                    score = float(score)
                except ValueError as exc:
                    raise RewardJudgeError(f"judge score is not a number: {score!r}") from exc
            if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
                raise RewardJudgeError(f"judge score is not a number: {score!r}")
            if not 0 <= score <= 10:
                raise RewardJudgeError(f"judge score {score} outside 0..10")
            return float(score)
    raise RewardJudgeError(f"no JSON object with a 'score' in judge reply: {text[:200]!r}")


async def judge_content(
    completion: str,
    *,
    context: str,
    model: str,
    question: str = "",
    options: Sequence[str] = (),
    attempts: int = 2,
    judge_kwargs: Mapping[str, Any] | None = None,
) -> float:
    """Content score in [0, 1] from an LLM judge via ``litellm.acompletion``: JSON score 0..10, / 10.

    ``judge_kwargs`` go to litellm (``api_base``, ``mock_response``, ...; a None value removes a
    default). Raises :class:`RewardJudgeError` after ``attempts`` replies without a valid score,
    or when the call itself fails.
    """
    import litellm  # heavy import, only when a judge is used

    params: dict[str, Any] = {
        "temperature": 0.0,
        "max_tokens": 300,
        "response_format": {"type": "json_object"},
    }
    params.update(judge_kwargs or {})
    params = {k: v for k, v in params.items() if v is not None}
    messages = judge_messages(SIP.parse(completion), context, question, options)
    from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

    from agents.client import RetryPolicy, is_retryable, redact

    # transient failures (429, 5xx, timeouts) back off through the shared policy; a reply without a
    # valid score is asked again at once, up to ``attempts`` replies
    transient = RetryPolicy().retrying(is_retryable)

    async def one_reply() -> float:
        try:
            resp = await transient(litellm.acompletion, model=model, messages=messages, **params)
        except Exception as exc:
            raise _CallFailed(
                redact(f"content judge {model!r} failed: {exc}", params.get("api_key"))
            ) from exc
        return parse_judge_score(resp.choices[0].message.content or "") / 10.0

    asking = AsyncRetrying(
        stop=stop_after_attempt(max(1, attempts)),
        retry=retry_if_exception_type(RewardJudgeError),
        reraise=False,
    )
    try:
        return await asking(one_reply)
    except _CallFailed as exc:
        raise RewardJudgeError(str(exc)) from exc.__cause__
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise RewardJudgeError(
            f"content judge {model!r} gave no valid score in {attempts} attempts: {last}"
        ) from last
