"""Reward terms for Social-R1 training, the curriculum that weights them, and a TRL adapter.

Every term is a plain function ``f(completion: str, **item_fields) -> float | None``; unknown
keyword arguments are ignored, and a term returns None for rows it cannot score (an accuracy
term on an episode row, a goal term on an MCQ row). Formulas and ranges are in each docstring
and in ``docs/rewards.md``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.json_text import json_objects
from agents.sip import SIP, SIP_STAGES, SIPParse
from envs.evaluator import run_sync
from eval.answers import match_option_text, parse_choice, parse_letter

TERM_NAMES: tuple[str, ...] = ("format", "structure", "content", "length", "accuracy", "goal", "rules")
"""Names of the reward terms, as used by the curriculum, the TRL adapter and the logs."""

T = TypeVar("T")


class RewardJudgeError(RuntimeError):
    """An LLM judge did not return a usable score (the reward is never silently zero)."""


# --------------------------------------------------------------------------------------------------
# content (lexical grounding, or an LLM judge)

_STOPWORDS_TEXT = """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else even ever
    every few for from further had has have having he her here hers herself him himself his how however
    i if in into is it its itself just least less let like made make many may me might more most much
    must my myself neither no nor not now of off on once one only or other others our ours ourselves out
    over own per rather same shall she should since so some still such than that the their theirs them
    themselves then there these they this those though through thus to too under until up upon us very
    was we were what when where whether which while who whom whose why will with within without would
    yet you your yours yourself yourselves"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_MENTAL_TEXT = """think thought believe belief know knew known knowledge aware unaware realize notice noticed see saw
    seen hear heard feel felt feeling emotion emotional want wanted wish desire intend intention intent
    hope expect expectation assume suspect doubt trust guess wonder remember forget forgot mistake
    mistaken false true perspective mind mood happy sad angry upset afraid fear scared worry worried
    anxious nervous surprise surprised embarrass embarrassed ashamed proud guilty jealous envy lonely
    hurt relieved relief grateful disappoint disappointed frustrated confused curious annoyed calm
    excited comfortable uncomfortable prefer like dislike love hate care concern motive reason"""
_MENTAL = frozenset(_MENTAL_TEXT.split())

_GOAL_TEXT = """goal aim objective purpose want need ask asks asked question determine decide figure identify
    find achieve priority important must should avoid keep maintain protect secret relationship norm
    polite respect outcome"""
_GOAL = frozenset(_GOAL_TEXT.split())

_RESPONSE_TEXT = """option choice choose chose pick select answer respond response reply say tell suggest offer
    propose best most likely correct therefore because so consider compare instead"""
_RESPONSE = frozenset(_RESPONSE_TEXT.split())

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """A deliberately crude suffix stripper, applied alike to both sides of every comparison."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + repl
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def content_words(text: str | None) -> set[str]:
    """Stemmed content words of ``text``: lower-case tokens, stop words dropped, >= 3 letters or a number."""
    if not text:
        return set()
    out = set()
    for w in _WORD_RE.findall(text.lower().replace("’", "'")):
        base = w.split("'")[0]
        if base in _STOPWORDS or (len(base) < 3 and not base.isdigit()):
            continue
        out.add(_stem(w))
    return out


_MENTAL_S = frozenset(_stem(w) for w in _MENTAL)
_GOAL_S = frozenset(_stem(w) for w in _GOAL)
_RESPONSE_S = frozenset(_stem(w) for w in _RESPONSE)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return "\n".join(_as_text(v) for v in value)
    return str(value)


def stage_grounding(
    parse: SIPParse, context: str, question: str = "", options: Sequence[str] = (), min_words: int = 4
) -> dict[str, float]:
    """Per-stage lexical grounding scores in [0, 1] (see :func:`content_reward` for the formula)."""
    c, q, o = content_words(context), content_words(question), content_words(_as_text(options))
    refs = {
        "Cue Encoding": (c, c),
        "Cue Interpretation": (c | q | _MENTAL_S, _MENTAL_S),
        "Goal Clarification": (c | q | _GOAL_S, q | _GOAL_S),
        "Response Generation": (c | q | o | _RESPONSE_S, o | _RESPONSE_S),
    }
    scores = {}
    for stage in SIP_STAGES:
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


_JUDGE_SYSTEM = (
    "You grade the reasoning of a model about a social situation. The reasoning has four stages: "
    "Cue Encoding (the relevant cues), Cue Interpretation (what they mean for people's beliefs, "
    "intentions and feelings), Goal Clarification (the goal or what is asked), Response Generation "
    "(weighing the options and choosing). Judge only how faithful each stage is to the given context "
    "and how sound the inferences are, not the style. Reply with a JSON object only: "
    '{"score": <integer 0-10>, "reason": "<one sentence>"}. 0 = missing, invented or wrong; '
    "10 = every stage present, accurate, grounded in the context and sound."
)


def _judge_messages(
    parse: SIPParse, context: str, question: str, options: Sequence[str]
) -> list[dict[str, str]]:
    reasoning = "\n".join(f"{s}: {parse.stages[s] or '(missing)'}" for s in SIP_STAGES)
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

    parse = SIP.parse(completion)
    params: dict[str, Any] = {
        "temperature": 0.0,
        "max_tokens": 300,
        "response_format": {"type": "json_object"},
    }
    params.update(judge_kwargs or {})
    params = {k: v for k, v in params.items() if v is not None}
    messages = _judge_messages(parse, context, question, options)
    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            resp = await litellm.acompletion(model=model, messages=messages, **params)
            return parse_judge_score(resp.choices[0].message.content or "") / 10.0
        except RewardJudgeError as exc:
            last = exc
        except Exception as exc:
            from agents.client import redact

            raise RewardJudgeError(
                redact(f"content judge {model!r} failed: {exc}", params.get("api_key"))
            ) from exc
    raise RewardJudgeError(f"content judge {model!r} gave no valid score in {attempts} attempts: {last}")


def _grounding_sources(fields: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    context = _as_text(fields.get("context"))
    question = "\n".join(t for t in (_as_text(fields.get("question")), _as_text(fields.get("goal"))) if t)
    options = [str(o) for o in (fields.get("options") or [])]
    return context, question, options


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
    from :func:`judge_content`; a failed judgement raises :class:`RewardJudgeError`.
    """
    ctx, q, opts = _grounding_sources(
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


# --------------------------------------------------------------------------------------------------
# length


def repetition(text: str, n: int = 3) -> float:
    """Share of repeated word n-grams: 1 - distinct / total (0.0 when there are none)."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def length_window(n_words: int, lo: int, hi: int, decay: int | None = None) -> float:
    """1 inside [lo, hi]; n/lo below lo; 1 - (n - hi)/decay above hi (floored at 0). decay defaults to hi."""
    if not 0 <= lo <= hi or hi <= 0:
        raise ValueError(f"need 0 <= lo <= hi and hi > 0, got lo={lo}, hi={hi}")
    decay = hi if decay is None else decay
    if decay <= 0:
        raise ValueError(f"decay must be positive, got {decay}")
    if n_words < lo:
        return n_words / lo
    if n_words <= hi:
        return 1.0
    return max(0.0, 1.0 - (n_words - hi) / decay)


def length_reward(
    completion: str, lo: int = 40, hi: int = 400, decay: int | None = None, ngram: int = 3, **_: Any
) -> float:
    """Efficiency of the reasoning length, discounted by repetition; in [0, 1].

    Formula: n = number of whitespace-separated words in the reasoning (the ``<think>`` content,
    or the whole completion when there is none); window(n) = n/lo for n < lo, 1 for lo <= n <= hi,
    max(0, 1 - (n - hi)/decay) above hi (decay = hi by default, so 0 at 2*hi);
    rep = 1 - distinct/total word ``ngram``-grams of the reasoning (0 with fewer than ``ngram`` words).
    reward = window(n) * (1 - rep). (A product rather than a difference keeps the range [0, 1]
    without clipping, so long-and-repetitive still ranks below long-only.)
    """
    p = SIP.parse(completion)
    reasoning = p.think if p.think is not None else p.text
    return length_window(len(reasoning.split()), lo, hi, decay) * (1.0 - repetition(reasoning, ngram))


# --------------------------------------------------------------------------------------------------
# accuracy / goal

_ARTICLES = re.compile(r"^(?:the|a|an)\s+")


def _norm_answer(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower().replace("’", "'"))
    return _ARTICLES.sub("", " ".join(text.split()))


def free_text_match(predicted: str, gold: str, max_extra_words: int = 6) -> bool:
    """Normalized exact match, or ``gold`` contained (as whole words) in a prediction at most
    ``max_extra_words`` words longer than it (so listing every candidate does not pay)."""
    p, g = _norm_answer(predicted), _norm_answer(gold)
    if not g:
        return False
    if p == g:
        return True
    return f" {g} " in f" {p} " and len(p.split()) <= len(g.split()) + max_extra_words


def _gold_index(
    options: Sequence[str], answer: Any, answer_letter: str | None, answer_text: str | None
) -> int | None:
    if isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(options):
            raise ValueError(f"answer index {answer} outside the {len(options)} options")
        return answer
    if isinstance(answer, str) and answer.strip():
        if len(answer.strip()) == 1 and answer.strip().isalpha():
            answer_letter = answer_letter or answer.strip()
        else:
            answer_text = answer_text or answer
    if answer_letter:
        i = parse_letter(answer_letter, len(options))
        if i is None:
            raise ValueError(f"answer letter {answer_letter!r} does not name one of {len(options)} options")
        return i
    if answer_text:
        i = match_option_text(answer_text, options)
        if i is None:
            raise ValueError(f"answer text {answer_text!r} matches no single option")
        return i
    return None


def accuracy_reward(
    completion: str,
    options: Sequence[str] | None = None,
    answer: int | str | None = None,
    answer_letter: str | None = None,
    answer_text: str | None = None,
    correct: float = 1.0,
    wrong: float = -1.0,
    max_extra_words: int = 6,
    **_: Any,
) -> float | None:
    """``correct`` (1.0) for the right answer, ``wrong`` (-1.0) for a wrong or unreadable one; None without a gold.

    With ``options``: the gold index comes from ``answer`` (an index; a letter or option text is
    accepted too), else ``answer_letter``, else ``answer_text`` matched to an option; the
    prediction is ``parse_choice(completion, options)``. Without options: ``answer_letter``
    compares the letter read from the answer; ``answer_text`` (or a string ``answer``) uses
    :func:`free_text_match` on ``SIP.parse_answer(completion)``. ToM-RL's +2/-2 is
    ``correct=2, wrong=-2``. Range {wrong, correct}.
    """
    opts = [str(o) for o in options] if options else []
    if isinstance(answer, int) and not isinstance(answer, bool) and answer < 0:
        answer = None  # the dataset's "no gold index" (free-text items, episodes)
    if opts:
        gold = _gold_index(opts, answer, answer_letter, answer_text)
        if gold is None:
            return None
        return correct if parse_choice(completion, opts) == gold else wrong
    if answer_letter:
        gold_letter = parse_letter(answer_letter, 26)
        if gold_letter is None:
            raise ValueError(f"answer letter {answer_letter!r} is not a letter")
        return correct if parse_letter(SIP.parse_answer(completion), 26) == gold_letter else wrong
    gold_text = answer_text or (answer if isinstance(answer, str) else None)
    if gold_text and gold_text.strip():
        return correct if free_text_match(SIP.parse_answer(completion), gold_text, max_extra_words) else wrong
    return None


def goal_reward(completion: str | None = None, goal_score: float | None = None, **_: Any) -> float | None:
    """The episode judge's goal score (0..10) scaled to [0, 1]: goal_score / 10; None without one.

    Rows that are not episodes (MCQ items) carry no ``goal_score`` and get None, which TRL skips
    (NaN) and :func:`combine` ignores. A score outside 0..10 raises ValueError.
    """
    if goal_score is None or (isinstance(goal_score, float) and math.isnan(goal_score)):
        return None
    score = float(goal_score)
    if not 0.0 <= score <= 10.0:
        raise ValueError(f"goal score {goal_score} outside 0..10")
    return score / 10.0


def rules_reward(completion: str | None = None, rule_score: float | None = None, **_: Any) -> float | None:
    """The share of the policy role's rule checks passed (``scenarios.checks``), in [0, 1]; None without one.

    Rows without rule-checked goals (MCQ items, scenarios without checks) and rows whose checks
    were not all decided carry no ``rule_score`` and get None. A score outside 0..1 raises ValueError.
    """
    if rule_score is None or (isinstance(rule_score, float) and math.isnan(rule_score)):
        return None
    score = float(rule_score)
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"rule score {rule_score} outside 0..1")
    return score


TERM_FIELDS: dict[str, tuple[str, ...]] = {
    "format": (),
    "structure": (),
    "content": ("context", "question", "goal", "options"),
    "length": (),
    "accuracy": ("options", "answer", "answer_text"),
    "goal": ("goal_score",),
    "rules": ("rule_score",),
}
"""The row fields (dataset columns of :class:`training.tasks.TrainingRow` or rollout fields) each
term reads. The TRL adapter refuses a batch that lacks one, so a renamed column fails loudly
instead of silently changing what a term scores."""

TERMS: dict[str, Callable[..., float | None]] = {
    "format": SIP.format_reward,
    "structure": SIP.structure_reward,
    "content": content_reward,
    "length": length_reward,
    "accuracy": accuracy_reward,
    "goal": goal_reward,
    "rules": rules_reward,
}
"""Term name -> reward function."""


def reward_terms(
    completion: str, names: Iterable[str] = TERM_NAMES, **fields: Any
) -> dict[str, float | None]:
    """Every named term for one completion and its item fields."""
    return {name: _term(name)(completion, **fields) for name in names}


def _term(name: str) -> Callable[..., float | None]:
    if name not in TERMS:
        raise KeyError(f"unknown reward term {name!r}; known: {', '.join(TERM_NAMES)}")
    return TERMS[name]


# --------------------------------------------------------------------------------------------------
# curriculum and combination


class Phase(BaseModel):
    """A named point of the curriculum: the term weights at training progress ``at``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    at: float = Field(ge=0.0, le=1.0)
    weights: dict[str, float]

    @field_validator("weights")
    @classmethod
    def _known_nonnegative(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(TERM_NAMES))
        if unknown:
            raise ValueError(f"unknown reward terms {unknown}; known: {list(TERM_NAMES)}")
        bad = {k: w for k, w in v.items() if not (math.isfinite(w) and w >= 0)}
        if bad:
            raise ValueError(f"weights must be finite and >= 0, got {bad}")
        return v


DEFAULT_SCHEDULE: tuple[dict[str, Any], ...] = (
    {
        "name": "warmup",
        "at": 0.0,
        "weights": {
            "format": 1.0,
            "structure": 1.0,
            "content": 0.25,
            "length": 0.25,
            "accuracy": 0.5,
            "goal": 0.5,
            "rules": 0.5,
        },
    },
    {
        "name": "grounding",
        "at": 0.3,
        "weights": {
            "format": 0.5,
            "structure": 0.75,
            "content": 1.0,
            "length": 0.5,
            "accuracy": 1.0,
            "goal": 1.0,
            "rules": 1.0,
        },
    },
    {
        "name": "outcome",
        "at": 0.7,
        "weights": {
            "format": 0.25,
            "structure": 0.5,
            "content": 0.75,
            "length": 0.5,
            "accuracy": 1.5,
            "goal": 1.5,
            "rules": 1.5,
        },
    },
)
"""The default curriculum: learn the format first, then ground the stages, then win on outcomes."""


class Curriculum(BaseModel):
    """Term weights as a function of training progress in [0, 1].

    Weights are interpolated linearly between consecutive phases, held at the first phase's
    values before it and at the last phase's after it; a term a phase omits weighs 0 there.
    ``schedule`` is a list of phases, or a mapping ``{name: {"at": ..., "weights": {...}}}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: list[Phase] = Field(default_factory=lambda: [Phase(**p) for p in DEFAULT_SCHEDULE])

    @field_validator("schedule", mode="before")
    @classmethod
    def _from_mapping(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            return [{"name": k, **p} if isinstance(p, Mapping) else p for k, p in v.items()]
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Curriculum:
        if not self.schedule:
            raise ValueError("a curriculum needs at least one phase")
        ats = [p.at for p in self.schedule]
        if any(b <= a for a, b in itertools.pairwise(ats)):
            raise ValueError(f"phase positions must strictly increase, got {ats}")
        names = [p.name for p in self.schedule]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        return self

    @classmethod
    def constant(cls, weights: Mapping[str, float]) -> Curriculum:
        """A curriculum with the same weights throughout."""
        return cls(schedule=[Phase(name="constant", at=0.0, weights=dict(weights))])

    def phase(self, progress: float) -> str:
        """Name of the last phase that has started at ``progress``."""
        _check_progress(progress)
        started = [p for p in self.schedule if p.at <= progress]
        return (started[-1] if started else self.schedule[0]).name

    def weights(self, progress: float) -> dict[str, float]:
        """Weight of every term (all of ``TERM_NAMES``) at ``progress`` in [0, 1]."""
        _check_progress(progress)
        phases = self.schedule
        if progress <= phases[0].at:
            return _full(phases[0].weights)
        for a, b in itertools.pairwise(phases):
            if progress <= b.at:
                t = (progress - a.at) / (b.at - a.at)
                wa, wb = _full(a.weights), _full(b.weights)
                return {k: (1 - t) * wa[k] + t * wb[k] for k in TERM_NAMES}
        return _full(phases[-1].weights)


def _full(weights: Mapping[str, float]) -> dict[str, float]:
    return {k: float(weights.get(k, 0.0)) for k in TERM_NAMES}


def _check_progress(progress: float) -> None:
    if not (isinstance(progress, int | float) and math.isfinite(progress) and 0.0 <= progress <= 1.0):
        raise ValueError(f"progress must be in [0, 1], got {progress!r}")


def combine(terms: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """Weighted sum of the terms: sum of weights[k] * v over terms with a value (None/NaN skipped).

    A term with a value but no weight raises KeyError (give it weight 0 to drop it). When every
    term is None the sum is 0.0.
    """
    total = 0.0
    for name, value in terms.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if name not in weights:
            raise KeyError(f"no weight for reward term {name!r}")
        total += weights[name] * value
    return total


# --------------------------------------------------------------------------------------------------
# TRL adapter

_PER_TURN = frozenset({"format", "structure", "content", "length"})
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


def _progress(kwargs: Mapping[str, Any]) -> float:
    if "progress" in kwargs and isinstance(kwargs["progress"], int | float):
        return min(1.0, max(0.0, float(kwargs["progress"])))
    state = kwargs.get("trainer_state")
    step, total = getattr(state, "global_step", None), getattr(state, "max_steps", None)
    if state is None or step is None or not total:
        raise ValueError("a curriculum needs training progress: TRL's trainer_state (or a 'progress' kwarg)")
    return min(1.0, max(0.0, step / total))


def trl_reward_funcs(
    names: Iterable[str] = TERM_NAMES,
    curriculum: Curriculum | None = None,
    term_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Callable[..., list[float | None]]]:
    """Reward functions for TRL's ``GRPOTrainer(reward_funcs=...)``, one per term, named after it.

    Each has the signature ``f(prompts, completions, **kwargs) -> list[float | None]``; per-row
    dataset columns arrive as lists in ``kwargs`` and are passed to the term as item fields.
    Completions may be strings or message lists. For multi-turn rows a ``policy_texts`` column
    (the raw text of each policy turn) is preferred; per-turn terms (format, structure, content,
    length) average over the turns, accuracy reads the last one. Rows the term cannot score give
    None. With ``curriculum`` each value is multiplied by the term's weight at
    ``trainer_state.global_step / trainer_state.max_steps`` (then leave TRL's reward_weights at 1).
    ``term_kwargs`` fixes extra arguments per term, e.g. ``{"content": {"judge_model": "gpt-4o"}}``;
    a judged content term scores all rows of a batch concurrently.

    Every field a term reads (:data:`TERM_FIELDS`) must be among the batch's columns, or the call
    raises KeyError naming the term and the field. A row whose ``scorable`` field is False (its
    episode failed, or the policy never spoke) gets None from every term.
    """
    names = list(names)
    for name in names:
        _term(name)
    return [
        _make_trl_func(n, curriculum, dict((term_kwargs or {}).get(n, {})), log_scorable=i == 0)
        for i, n in enumerate(names)
    ]


def _make_trl_func(
    name: str, curriculum: Curriculum | None, fixed: dict[str, Any], log_scorable: bool = False
) -> Callable[..., list[float | None]]:
    fn = _term(name)

    def reward(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float | None]:
        n = len(completions)
        missing = [f for f in TERM_FIELDS[name] if f not in kwargs]
        if missing:
            raise KeyError(
                f"reward term {name!r} reads the row field(s) {missing}, but the batch has only "
                f"{sorted(k for k in kwargs if k not in _NOT_ROW_FIELDS)}: the dataset row and the term disagree"
            )
        rows = [
            {
                k: v[i]
                for k, v in kwargs.items()
                if k not in _NOT_ROW_FIELDS and isinstance(v, list) and len(v) == n
            }
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
            values = _judged_content(turns, rows, fixed, scorable)
        else:
            values = [
                _score_row(name, fn, t, {**row, **fixed}) if ok else None
                for t, row, ok in zip(turns, rows, scorable, strict=True)
            ]
        if curriculum is not None:
            w = curriculum.weights(_progress(kwargs))[name]
            values = [None if v is None else w * v for v in values]
        return values

    reward.__name__ = name
    reward.__qualname__ = name
    reward.__doc__ = f"TRL reward function for the {name!r} term ({fn.__name__})."
    return reward


def _score_row(
    name: str, fn: Callable[..., float | None], turns: list[str], fields: dict[str, Any]
) -> float | None:
    if name not in _PER_TURN:
        return fn(turns[-1], **fields)
    values = [fn(t, **fields) for t in turns]
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _judged_content(
    turns: list[list[str]], rows: list[dict[str, Any]], fixed: dict[str, Any], scorable: list[bool]
) -> list[float | None]:
    async def one(texts: list[str], row: dict[str, Any], ok: bool) -> float | None:
        ctx, q, opts = _grounding_sources(row)
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
