"""FanToM's scoring rules, as pure functions of replies (no model needed), and its aggregate scores.

Per question (as in FanToM's evaluation):

- fact: token F1 between the lower-cased reply and the lower-cased answer (whitespace tokens);
- belief, free response: right when the reply is closer to the correct belief than to the wrong one
  (a :mod:`eval.fantom.judges` judge decides), with the token F1 against the belief it is closer to;
- belief, choice: right when the reply names the gold letter (``(a)``, ``a)``, ``a.``, ``a:``, ``a,``
  at the start, ``(a)`` anywhere, or just ``a``);
- list: right when every correct name appears in the reply and no wrong name does (case-insensitive);
- binary: the reply read as yes / no / neither; right when it matches the gold (``no:long`` is no).

Scores (:func:`score`) are computed for the false-belief task (``inaccessible``) and its control
(``accessible``) separately. ``All*``: share of sets whose every theory-of-mind question is right
(both belief forms, lists and binaries); ``All``: the same without the free-response belief
question; ``All AnswerabilityQ`` / ``All Info-AccessQ``: the same over each family; binary
families are also scored by weighted F1 over the yes/no classes (a reply read as neither counts
as a wrong prediction). Sets can be grouped by ``part`` or ``conversation`` instead of ``set``.

Every :class:`Metric` names the protocol that produced it; only ``comparable`` ones can be put
next to the paper's figures. A question whose model call failed has no result: it is counted in
``errors`` and its set takes no part in the set-level scores.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from eval.fantom.data import FantomQuestion, Scenario
from eval.stats import MeanCI, mean_ci, proportion_ci

AggregationTarget = Literal["set", "part", "conversation"]
PUBLISHED = "fantom"
"""Protocol label of the rules above (FanToM's own)."""
TOKEN_F1_ALL = "token-f1 vs the correct belief, every reply (ours; not in the paper)"
SCENARIOS: tuple[Scenario, ...] = ("inaccessible", "accessible")


def token_f1(reference: str, reply: str) -> float:
    """F1 of the whitespace tokens of ``reply`` against ``reference`` (multiset overlap, case as given)."""
    ref, out = reference.split(), reply.split()
    common = sum((Counter(ref) & Counter(out)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def read_binary(reply: str) -> int:
    """1 for yes, 0 for no, -1 when the reply says neither (FanToM's reading)."""
    text = reply.lower().strip("'\"")
    if any(cue in text for cue in (" yes,", " yes ", " yes.", " knows ")) or text.startswith(("yes", "true")):
        return 1
    if any(
        cue in text for cue in (" no,", " no ", " no.", " does not know ", " doesn't know ")
    ) or text.startswith(("no", "false")):
        return 0
    return -1


def binary_gold(answer: str) -> int:
    """``yes`` -> 1, ``no`` and ``no:long`` -> 0."""
    return 1 if answer == "yes" else 0


def choice_right(reply: str, gold_letter: str) -> bool:
    """Whether ``reply`` picks ``gold_letter`` by FanToM's rule (see the module docstring)."""
    text = reply.lower()
    g = gold_letter.lower()
    return text.startswith((f"({g})", f"{g})", f"{g}.", f"{g}:", f"{g},")) or f"({g})" in text or text == g


def list_right(reply: str, correct: Sequence[str], wrong: Sequence[str]) -> tuple[bool, bool, bool]:
    """(right, left out someone who knows, named someone who does not)."""
    text = reply.lower()
    excluded = any(name.lower() not in text for name in correct)
    included = any(name.lower() in text for name in wrong)
    return not (excluded or included), excluded, included


def parse_reply(text: str) -> str:
    """The answer part of a reply: what follows the last ``Answer:`` or ``Choose an answer from above:``."""
    for marker in ("Answer:", "Choose an answer from above:"):
        if marker in text:
            return text.split(marker)[-1].strip()
    return text.strip()


def weighted_f1(truth: Sequence[int], predicted: Sequence[int]) -> float | None:
    """Per-class F1 averaged with the classes' support in ``truth`` as weights (None for no data).

    A prediction outside the true classes (-1, "neither") lowers the recall of its item's class.
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted must have the same length")
    if not truth:
        return None
    total = 0.0
    for label, support in Counter(truth).items():
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        predicted_as = sum(p == label for p in predicted)
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        total += support * f1
    return total / len(truth)


class Judgement(BaseModel):
    """The verdict on one reply (None where no verdict could be made)."""

    id: str
    right: bool | None = None
    word_overlap: float | None = Field(
        None, description="belief free response: token F1 vs the belief chosen"
    )
    token_f1_correct: float | None = Field(
        None, description="belief free response: token F1 vs the correct belief"
    )
    f1: float | None = Field(None, description="fact: token F1")
    binary: int | None = Field(None, description="binary: 1 yes, 0 no, -1 neither")
    excluded_aware: bool | None = None
    included_unaware: bool | None = None
    failed: bool = Field(False, description="the model call failed for good: nothing was scored")
    error: str | None = Field(
        None, description="why there is no verdict (failed call, judge failed or unavailable)"
    )


def judge_reply(question: FantomQuestion, reply: str, belief_right: bool | None = None) -> Judgement:
    """Score one reply by the rules above; ``belief_right`` is the free-response judge's verdict."""
    answer = parse_reply(reply)
    j = Judgement(id=question.id)
    if question.kind == "fact":
        assert isinstance(question.correct, str)
        j.f1 = token_f1(question.correct.lower(), answer.lower())
    elif question.kind == "belief_dist":
        assert isinstance(question.correct, str) and isinstance(question.wrong, str)
        j.token_f1_correct = token_f1(question.correct, answer)
        j.right = belief_right
        if belief_right is not None:
            j.word_overlap = token_f1(question.correct if belief_right else question.wrong, answer)
    elif question.kind == "belief_choice":
        assert isinstance(question.correct, str)
        j.right = choice_right(answer, question.correct)
    elif question.kind.endswith("_list"):
        assert isinstance(question.correct, list) and isinstance(question.wrong, list)
        j.right, j.excluded_aware, j.included_unaware = list_right(answer, question.correct, question.wrong)
    else:
        assert isinstance(question.correct, str)
        j.binary = read_binary(answer)
        j.right = j.binary == binary_gold(question.correct)
    return j


# -- aggregate scores ---------------------------------------------------------------------------------


class Metric(BaseModel):
    """One reported number with the protocol that produced it."""

    value: float | None = Field(description="a share or mean in 0..1; None when it could not be computed")
    n: int = Field(description="units it is over: questions, or sets for All scores")
    protocol: str
    comparable: bool = Field(description="produced as the paper does, so it can sit next to its figures")
    ci: MeanCI | None = None
    note: str | None = None


class ScenarioReport(BaseModel):
    """FanToM's scores for one scenario (the false-belief task or its control)."""

    scenario: Scenario
    metrics: dict[str, Metric]
    by_tom_type: dict[str, Metric] = Field(default_factory=dict)


class FantomScores(BaseModel):
    """Everything :func:`score` reports."""

    belief_protocol: str = Field(description="who judged free-response beliefs (or why nobody could)")
    belief_comparable: bool
    aggregation_target: AggregationTarget
    questions: int
    errors: int
    fact_token_f1: Metric
    fantom: ScenarioReport = Field(description="the false-belief task (inaccessible information)")
    control: ScenarioReport = Field(description="the control task (accessible information)")


def _share(results: Sequence[bool], protocol: str, comparable: bool, note: str | None = None) -> Metric:
    k = sum(results)
    ci = proportion_ci(k, len(results))
    return Metric(value=ci.mean, n=len(results), protocol=protocol, comparable=comparable, ci=ci, note=note)


def _mean(values: Sequence[float], protocol: str, comparable: bool, note: str | None = None) -> Metric:
    value = statistics.fmean(values) if values else None
    ci = mean_ci(values) if values else None
    return Metric(value=value, n=len(values), protocol=protocol, comparable=comparable, ci=ci, note=note)


def _unit(question: FantomQuestion, target: AggregationTarget) -> str:
    return {"set": question.set_id, "part": question.part_id, "conversation": question.conversation_id}[
        target
    ]


def _all_right(
    pairs: Iterable[tuple[FantomQuestion, Judgement]], target: AggregationTarget
) -> tuple[list[bool], int]:
    """Per unit: every question right; units with a question without a verdict are left out (counted)."""
    units: dict[str, list[bool | None]] = defaultdict(list)
    for q, j in pairs:
        units[_unit(q, target)].append(j.right)
    done = [all(r for r in rs) for rs in units.values() if None not in rs]
    return done, len(units) - len(done)


def _scenario(
    pairs: list[tuple[FantomQuestion, Judgement]],
    scenario: Scenario,
    target: AggregationTarget,
    belief_protocol: str,
    belief_comparable: bool,
    belief_available: bool,
) -> ScenarioReport:
    mine = [(q, j) for q, j in pairs if q.scenario == scenario]

    def of(*kinds: str) -> list[tuple[FantomQuestion, Judgement]]:
        return [(q, j) for q, j in mine if q.kind in kinds]

    def right(*kinds: str) -> list[bool]:
        return [bool(j.right) for _, j in of(*kinds) if j.right is not None]

    def set_share(kinds: tuple[str, ...], protocol: str, comparable: bool) -> Metric:
        done, dropped = _all_right(of(*kinds), target)
        note = f"{dropped} {target}(s) without a verdict on every question left out" if dropped else None
        return _share(done, protocol, comparable, note)

    tom_kinds = ("belief_choice", "answerability_list", "answerability_binary", "info_list", "info_binary")
    unavailable = f"needs free-response belief verdicts: {belief_protocol}"
    metrics: dict[str, Metric] = {}
    if belief_available:
        metrics["all_star"] = set_share(("belief_dist", *tom_kinds), belief_protocol, belief_comparable)
    else:
        metrics["all_star"] = Metric(
            value=None, n=0, protocol=belief_protocol, comparable=False, note=unavailable
        )
    metrics["all"] = set_share(tom_kinds, PUBLISHED, True)
    metrics["belief_choice"] = _share(right("belief_choice"), PUBLISHED, True)
    if belief_available:
        metrics["belief_dist"] = _share(right("belief_dist"), belief_protocol, belief_comparable)
        overlaps = [j.word_overlap for _, j in of("belief_dist") if j.right and j.word_overlap is not None]
        metrics["belief_token_f1"] = _mean(
            overlaps,
            belief_protocol,
            belief_comparable,
            "token F1 of the replies judged right, vs the correct belief",
        )
    else:
        for name in ("belief_dist", "belief_token_f1"):
            metrics[name] = Metric(
                value=None, n=0, protocol=belief_protocol, comparable=False, note=unavailable
            )
    metrics["belief_token_f1_all"] = _mean(
        [j.token_f1_correct for _, j in of("belief_dist") if j.token_f1_correct is not None],
        TOKEN_F1_ALL,
        False,
    )
    for family in ("answerability", "info"):
        metrics[f"{family}_all"] = set_share((f"{family}_list", f"{family}_binary"), PUBLISHED, True)
        metrics[f"{family}_list"] = _share(right(f"{family}_list"), PUBLISHED, True)
        binaries = [(q, j) for q, j in of(f"{family}_binary") if j.binary is not None]
        truth = [binary_gold(str(q.correct)) for q, _ in binaries]
        metrics[f"{family}_binary_f1"] = Metric(
            value=weighted_f1(truth, [int(j.binary) for _, j in binaries]), n=len(binaries),
            protocol=PUBLISHED, comparable=True, note="weighted F1 over yes/no",
        )  # fmt: skip
        metrics[f"{family}_binary_accuracy"] = _share(right(f"{family}_binary"), PUBLISHED, True)
    by_tom: dict[str, Metric] = {}
    kind, protocol, comparable = (
        ("belief_dist", belief_protocol, belief_comparable)
        if belief_available
        else ("belief_choice", PUBLISHED, True)
    )
    for tom_type in sorted({str(q.tom_type) for q, _ in of(kind)}):
        by_tom[tom_type] = _share(
            [bool(j.right) for q, j in of(kind) if q.tom_type == tom_type and j.right is not None],
            protocol, comparable, f"{kind.replace('_', ' ')} accuracy",
        )  # fmt: skip
    return ScenarioReport(scenario=scenario, metrics=metrics, by_tom_type=by_tom)


def score(
    questions: Sequence[FantomQuestion],
    judgements: Sequence[Judgement],
    *,
    belief_protocol: str,
    belief_comparable: bool,
    belief_available: bool,
    target: AggregationTarget = "set",
) -> FantomScores:
    """FanToM's aggregate scores over ``questions`` and their ``judgements`` (same order)."""
    if len(questions) != len(judgements):
        raise ValueError("one judgement per question is needed")
    pairs = list(zip(questions, judgements, strict=True))
    facts = [j.f1 for q, j in pairs if q.kind == "fact" and j.f1 is not None]
    args = (target, belief_protocol, belief_comparable, belief_available)
    return FantomScores(
        belief_protocol=belief_protocol,
        belief_comparable=belief_comparable and belief_available,
        aggregation_target=target,
        questions=len(questions),
        errors=sum(j.failed for j in judgements),
        fact_token_f1=_mean(facts, PUBLISHED, True),
        fantom=_scenario(pairs, "inaccessible", *args),
        control=_scenario(pairs, "accessible", *args),
    )
