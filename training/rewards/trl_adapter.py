"""The reward terms as TRL reward functions (``GRPOTrainer(reward_funcs=...)``), one per term, named after it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from envs.evaluator import run_sync
from training.rewards.content import grounding_sources
from training.rewards.content_judge import judge_content
from training.rewards.terms import PER_TURN, TERM_FIELDS, TERM_NAMES, TermFn, term
from training.tasks import RewardRow

_NOT_ROW_FIELDS = frozenset({"trainer_state", "log_extra", "log_metric", "prompts", "completions"})


def completion_texts(completion: Any) -> list[str]:
    """The policy texts in a TRL completion: a string, or the assistant contents of a message list."""
    if completion is None:
        return [""]
    if isinstance(completion, str):
        return [completion]
    if isinstance(completion, Mapping):
        completion = [completion]
    texts = []
    for msg in completion:
        if isinstance(msg, Mapping) and msg.get("role", "assistant") == "assistant":
            content = msg.get("content")
            if isinstance(content, list):  # content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
            texts.append(content or "")
    return texts or [""]


def trl_reward_funcs(
    names: Iterable[str] = TERM_NAMES,
    term_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Callable[..., list[float | None]]]:
    """Reward functions for TRL's ``GRPOTrainer(reward_funcs=...)``, one per term, named after it.

    Each has the signature ``f(prompts, completions, **kwargs) -> list[float | None]``; per-row
    dataset columns arrive as lists in ``kwargs``; each row's (a :class:`training.tasks.RewardRow`:
    the dataset row and the rollout's fields) are passed to the term as item fields.
    Completions may be strings or message lists. For multi-turn rows a ``policy_texts`` column
    (the raw text of each policy turn) is preferred; per-turn terms (format, structure, content,
    length) average over the turns, the others read the last one. Rows the term cannot score give
    None. Values are raw: the curriculum weighs them through TRL's ``reward_weights``
    (:class:`training.callbacks.CurriculumCallback`). ``term_kwargs`` fixes extra arguments per
    term, e.g. ``{"content": {"judge_model": "gpt-4o"}}``; a judged content term scores all rows of
    a batch concurrently.

    Every field a term reads (:data:`~training.rewards.terms.TERM_FIELDS`) must be among the
    batch's columns, or the call raises KeyError naming the term and the field. A row whose
    ``scorable`` field is False (its episode failed, or the policy never spoke) gets None from
    every term.
    """
    names = list(names)
    for name in names:
        term(name)
    return [
        _make_trl_func(n, dict((term_kwargs or {}).get(n, {})), log_scorable=i == 0)
        for i, n in enumerate(names)
    ]


def _make_trl_func(
    name: str, fixed: dict[str, Any], log_scorable: bool = False
) -> Callable[..., list[float | None]]:
    fn = term(name)

    def reward(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float | None]:
        n = len(completions)
        missing = [f for f in TERM_FIELDS[name] if f not in kwargs]
        if missing:
            raise KeyError(
                f"reward term {name!r} reads the row field(s) {missing}, but the batch has only "
                f"{sorted(k for k in kwargs if k not in _NOT_ROW_FIELDS)}: the dataset row and the term disagree"
            )
        rows = [
            cast(
                RewardRow,
                {
                    k: v[i]
                    for k, v in kwargs.items()
                    if k not in _NOT_ROW_FIELDS and isinstance(v, list) and len(v) == n
                },
            )
            for i in range(n)
        ]
        turns = [
            [str(t) for t in row["policy_texts"]] if row.get("policy_texts") else completion_texts(c)
            for row, c in zip(rows, completions, strict=True)
        ]
        scorable = [row.get("scorable", True) is not False for row in rows]
        if log_scorable and n and callable(kwargs.get("log_metric")):
            kwargs["log_metric"]("unscorable_frac", 1.0 - sum(scorable) / n)
        if name == "content" and fixed.get("judge_model"):
            return _judged_content(turns, rows, fixed, scorable)
        return [
            _score_row(name, fn, t, {**row, **fixed}) if ok else None
            for t, row, ok in zip(turns, rows, scorable, strict=True)
        ]

    reward.__name__ = name
    reward.__qualname__ = name
    reward.__doc__ = f"TRL reward function for the {name!r} term ({getattr(fn, '__name__', name)})."
    return reward


def _score_row(name: str, fn: TermFn, turns: list[str], fields: Mapping[str, Any]) -> float | None:
    if name not in PER_TURN:
        return fn(turns[-1], **fields)
    values = [fn(t, **fields) for t in turns]
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _judged_content(
    turns: list[list[str]], rows: list[RewardRow], fixed: dict[str, Any], scorable: list[bool]
) -> list[float | None]:
    async def one(texts: list[str], row: RewardRow, ok: bool) -> float | None:
        ctx, q, opts = grounding_sources(row)
        if not ok or not ctx.strip():
            return None
        scores = await asyncio.gather(
            *(
                judge_content(
                    t,
                    context=ctx,
                    model=fixed["judge_model"],
                    question=q,
                    options=opts,
                    judge_kwargs=fixed.get("judge_kwargs"),
                )
                for t in texts
            )
        )
        return sum(scores) / len(scores)

    async def everything() -> list[float | None]:
        return list(
            await asyncio.gather(*(one(t, r, ok) for t, r, ok in zip(turns, rows, scorable, strict=True)))
        )

    return run_sync(everything())
