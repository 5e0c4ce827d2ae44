"""Rule-checked goal conditions: outcomes a program reads off an episode's public acts, no judge needed.

A role's :class:`~scenarios.schema.Goal` may carry ``checks``; each is one of five kinds (the
``kind`` field picks it):

- ``deal``: a price agreed in the documented form ``DEAL: $<amount>`` inside an act. The deal is
  made at the first turn where every party's latest deal statement names the same amount; the
  last deal made stands. Pass: the agreed amount is within the role's ``min_price``/``max_price``.
- ``agreement``: one of a fixed set of options agreed as ``AGREE: <option>``, made the same way.
  Pass: the agreed option is among the role's ``acceptable`` ones.
- ``allocation``: a division of a pool of items agreed as
  ``SPLIT: me <n> <item>, ...; you <n> <item>, ...`` (two roles; ``me`` is the speaker). Both
  statements must describe the same division of every item. Pass: the division meets this role's
  constraints and, with ``joint`` (default), every other role's allocation constraints too.
- ``fact``: a fact the role must learn and state as ``ANSWER: <answer>``; its last answer counts.
  Pass: the answer holds an accepted phrase and no wrong one and (with ``learned``, default) an
  accepted phrase appeared in another role's act before it.
- ``secret``: phrases (or regular expressions) the role must never say. Fail at the first act of
  the role that contains one.

Every result is ``pass``, ``fail`` or ``undecidable``, with the turn that decides it and a short
evidence text. Only what the transcript proves is decided: an episode that did not finish (it
failed, or is still running) decides a deal only if one was already made, and a secret only if it
was already disclosed; a statement the checker cannot read (``DEAL: three hundred``) leaves a
missing agreement undecidable rather than failed; a right answer never said before by anyone else
is undecidable (guessed, or learned in other words).

The statement forms are shown to the agents (:func:`protocol_lines`), so models know how to
close a deal. Matching is case-insensitive; texts are compared after :func:`normalise` (lower
case, digit groups joined, punctuation as spaces), phrase by whole words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Outcome = Literal["pass", "fail", "undecidable"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "undecidable")
SPOKEN_KINDS = frozenset({"speak", "non-verbal communication", "action"})
"""Act types whose argument is text another participant perceives (``none`` and ``leave`` carry none)."""

_Phrase = Annotated[str, Field(min_length=1, max_length=200)]
_Phrases = Annotated[list[_Phrase], Field(max_length=100)]
_ItemName = Annotated[str, Field(pattern=r"^[a-z][a-z\-]*$", max_length=40)]


class _CheckBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field("", max_length=200, description="Short name shown in results; defaults to the kind.")

    @property
    def name(self) -> str:
        """The label, or the kind when no label is given."""
        return self.label or str(getattr(self, "kind", "check"))


class DealCheck(_CheckBase):
    """A price agreed as ``DEAL: $<amount>``, within this role's limit."""

    kind: Literal["deal"] = "deal"
    min_price: float | None = Field(None, ge=0, description="Lowest agreed amount that passes (sellers).")
    max_price: float | None = Field(None, ge=0, description="Highest agreed amount that passes (buyers).")

    @model_validator(mode="after")
    def _has_limit(self) -> DealCheck:
        if self.min_price is None and self.max_price is None:
            raise ValueError("a deal check needs min_price, max_price or both (the role's limit)")
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price ({self.min_price:g}) is above max_price ({self.max_price:g})")
        return self


class AgreementCheck(_CheckBase):
    """One option of a fixed set agreed as ``AGREE: <option>``, acceptable to this role."""

    kind: Literal["agreement"] = "agreement"
    options: list[_Phrase] = Field(
        min_length=2, max_length=20, description="Every option, as agents write it."
    )
    acceptable: list[_Phrase] = Field(
        min_length=1, max_length=20, description="The options that pass for this role."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AgreementCheck:
        keys = [normalise(o) for o in self.options]
        if len(set(keys)) != len(keys):
            raise ValueError("options must differ (after lower-casing and dropping punctuation)")
        for a in keys:
            for b in keys:
                if a != b and contains_phrase(a, b):
                    raise ValueError(
                        f"option {b!r} is contained in option {a!r}: a statement could name both"
                    )
        unknown = [o for o in self.acceptable if normalise(o) not in keys]
        if unknown:
            raise ValueError(f"acceptable options {unknown} are not among the options")
        return self


class AllocationCheck(_CheckBase):
    """A division of ``pool`` agreed as ``SPLIT: me ...; you ...`` that meets the roles' constraints."""

    kind: Literal["allocation"] = "allocation"
    pool: dict[_ItemName, int] = Field(
        min_length=1, max_length=12, description="Item (one lower-case word) -> count."
    )
    min_items: dict[_ItemName, int] = Field(
        default_factory=dict, description="Least of each item this role must get."
    )
    values: dict[_ItemName, float] = Field(
        default_factory=dict, description="What each item is worth to this role."
    )
    min_value: float | None = Field(None, description="Least total value (by ``values``) this role must get.")
    joint: bool = Field(True, description="Pass only when every role's allocation constraints are met too.")

    @field_validator("pool")
    @classmethod
    def _counts(cls, pool: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in pool.items() if not 1 <= v <= 100}
        if bad:
            raise ValueError(f"item counts must be 1..100, got {bad}")
        return pool

    @model_validator(mode="after")
    def _constraints(self) -> AllocationCheck:
        for field in ("min_items", "values"):
            unknown = sorted(set(getattr(self, field)) - set(self.pool))
            if unknown:
                raise ValueError(f"{field} names items not in the pool: {unknown}")
        over = {k: v for k, v in self.min_items.items() if v > self.pool[k]}
        if over:
            raise ValueError(f"min_items asks for more than the pool holds: {over}")
        if self.min_value is not None and not self.values:
            raise ValueError("min_value needs values (what each item is worth to this role)")
        if not self.min_items and self.min_value is None:
            raise ValueError("an allocation check needs min_items, min_value or both (the role's constraint)")
        return self

    def satisfied_by(self, share: dict[str, int]) -> bool:
        """Whether this role getting ``share`` meets its constraints."""
        if any(share.get(item, 0) < need for item, need in self.min_items.items()):
            return False
        if self.min_value is not None:
            total = sum(self.values.get(item, 0.0) * count for item, count in share.items())
            return total >= self.min_value
        return True


class FactCheck(_CheckBase):
    """A fact learned from the others and stated as ``ANSWER: <answer>``."""

    kind: Literal["fact"] = "fact"
    answers: _Phrases = Field(min_length=1, description="Accepted phrasings of the fact (any one passes).")
    wrong: _Phrases = Field(
        default_factory=list, description="Wrong candidates: an answer holding one fails."
    )
    learned: bool = Field(
        True, description="An accepted phrase must appear in another role's act before the answer."
    )


class SecretCheck(_CheckBase):
    """Phrases or patterns this role must never say."""

    kind: Literal["secret"] = "secret"
    phrases: _Phrases = Field(default_factory=list, description="Whole-word phrases, case-insensitive.")
    patterns: _Phrases = Field(default_factory=list, description="Regular expressions (case-insensitive).")

    @model_validator(mode="after")
    def _something(self) -> SecretCheck:
        if not self.phrases and not self.patterns:
            raise ValueError("a secret check needs phrases, patterns or both")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return self


GoalCheck = Annotated[
    DealCheck | AgreementCheck | AllocationCheck | FactCheck | SecretCheck, Field(discriminator="kind")
]
"""One rule-checked condition of a role's goal."""
CHECK_KINDS: tuple[str, ...] = ("deal", "agreement", "allocation", "fact", "secret")
SHARED_FORMS = frozenset({"deal", "agreement", "allocation"})
"""Kinds whose statement every party makes: their form is shown to every role, not only the checked one."""


class CheckResult(BaseModel):
    """The outcome of one check for one role, with the turn that decides it."""

    model_config = ConfigDict(extra="forbid")

    label: str
    kind: str
    role: int
    outcome: Outcome
    turn: int | None = Field(
        None, description="Index of the deciding turn (None: decided by the absence of an act)."
    )
    evidence: str = ""


@dataclass(frozen=True)
class Act:
    """One public act as the checks read it: turn index, the acting role, the act type, its text."""

    index: int
    role: int
    kind: str
    text: str


# -- text matching ---------------------------------------------------------------------------------

_DIGIT_GROUP = re.compile(r"(?<=\d)[,_](?=\d{3}\b)")
_NON_WORD = re.compile(r"[^a-z0-9.]+|(?<!\d)\.|\.(?!\d)")


_CLOCK = re.compile(r"(\d)\s*([ap])\.?\s?m\b\.?")


def normalise(text: str) -> str:
    """Lower case, ``1,200`` -> ``1200``, ``4 p.m.`` -> ``4pm``, every run of other characters one space."""
    text = _DIGIT_GROUP.sub("", text.lower().replace("’", "'"))
    text = _CLOCK.sub(r"\1\2m", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (both normalised)."""
    needle = normalise(phrase)
    return bool(needle) and f" {needle} " in f" {normalise(text)} "


def _marker(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{word}\s*:", re.IGNORECASE)


_DEAL = _marker("DEAL")
_AGREE = _marker("AGREE")
_SPLIT = _marker("SPLIT")
_ANSWER = _marker("ANSWER")
_ANY_MARKER = re.compile(r"\b(?:DEAL|AGREE|SPLIT|ANSWER)\s*:", re.IGNORECASE)
_AMOUNT = re.compile(r"^\s*[$€£]?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s*(k\b|thousand\b)?", re.IGNORECASE)


def statements(text: str, marker: re.Pattern[str]) -> list[str]:
    """The payloads of every ``MARKER:`` in ``text``: what follows it, up to a line end or the next marker."""
    payloads = []
    for match in marker.finditer(text):
        rest = text[match.end() :]
        stop = _ANY_MARKER.search(rest)
        rest = rest[: stop.start()] if stop else rest
        payloads.append(rest.split("\n", 1)[0].strip())
    return payloads


def read_amount(payload: str) -> float | None:
    """The amount a deal statement names (``$1,200``, ``350.50``, ``2k``), or None when it names none."""
    match = _AMOUNT.match(payload)
    if match is None:
        return None
    value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
    return value * 1000 if match.group(3) else value


def read_option(payload: str, options: Sequence[str]) -> str | None:
    """The one option an agreement statement names, or None when it names none or several."""
    named = [o for o in options if contains_phrase(payload, o)]
    return named[0] if len(named) == 1 else None


def _item_key(word: str, pool: Sequence[str]) -> str | None:
    word = word.lower()
    for item in pool:
        forms = {item, f"{item}s", f"{item}es"}
        if item.endswith("y"):
            forms.add(f"{item[:-1]}ies")
        if word in forms:
            return item
    return None


def read_split(payload: str, pool: dict[str, int]) -> tuple[dict[str, int], dict[str, int]] | str:
    """``(mine, yours)`` from ``me 2 book, 1 hat; you 1 book``, or a reason why it cannot be read."""
    parts: dict[str, dict[str, int]] = {}
    for chunk in (c.strip() for c in payload.split(";")):
        if not chunk:
            continue
        head = re.match(r"^(me|you)\b[:\s]*", chunk, re.IGNORECASE)
        if head is None:
            return f"part {chunk!r} does not start with 'me' or 'you'"
        side = head.group(1).lower()
        if side in parts:
            return f"'{side}' appears twice"
        share: dict[str, int] = dict.fromkeys(pool, 0)
        for count, word in re.findall(r"(\d+)\s*x?\s*([A-Za-z][A-Za-z\-]*)", chunk[head.end() :]):
            key = _item_key(word, list(pool))
            if key is None:
                return f"unknown item {word!r} (items: {', '.join(pool)})"
            share[key] += int(count)
        parts[side] = share
    if set(parts) != {"me", "you"}:
        return "a split names both 'me' and 'you'"
    mine, yours = parts["me"], parts["you"]
    wrong = [item for item, count in pool.items() if mine[item] + yours[item] != count]
    if wrong:
        return "the shares do not add up to the pool for " + ", ".join(
            f"{item} ({mine[item]} + {yours[item]} != {pool[item]})" for item in wrong
        )
    return mine, yours


# -- evaluation ------------------------------------------------------------------------------------

_UNREADABLE = object()


@dataclass
class _Agreement:
    value: object
    turn: int
    text: str


def _agreement(
    acts: Sequence[Act], parties: Sequence[int], marker: re.Pattern[str], read: Callable[[str, int], object]
) -> tuple[_Agreement | None, Act | None, dict[int, object]]:
    """Scan statements: the last agreement made, the act of a still-unread latest statement, latest values.

    ``read(payload, role)`` returns a comparable value, or None when the statement cannot be read.
    """
    latest: dict[int, object] = {}
    latest_act: dict[int, Act] = {}
    agreed: _Agreement | None = None
    for act in acts:
        if act.kind not in SPOKEN_KINDS or act.role not in parties:
            continue
        for payload in statements(act.text, marker):
            value = read(payload, act.role)
            latest[act.role] = _UNREADABLE if value is None else value
            latest_act[act.role] = act
            values = [latest.get(role) for role in parties]
            if all(v is not None and v is not _UNREADABLE for v in values) and all(
                v == values[0] for v in values
            ):
                agreed = _Agreement(values[0], act.index, act.text)
    unread = next((latest_act[r] for r in parties if latest.get(r) is _UNREADABLE), None)
    return agreed, unread, latest


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= limit else text[: limit - 3] + "..."}"'


def _no_agreement(check: _CheckBase, role: int, what: str, unread: Act | None, finished: bool) -> CheckResult:
    if unread is not None:
        why = f"no {what} was made and a statement could not be read: {_quote(unread.text)}"
        return _result(check, role, None, unread.index, why)
    if not finished:
        return _result(check, role, None, None, f"the episode did not finish and no {what} had been made")
    return _result(check, role, False, None, f"no {what} was made: every party must state the same one")


def _result(
    check: _CheckBase, role: int, passed: bool | None, turn: int | None, evidence: str
) -> CheckResult:
    """One check's result; ``passed=None`` is undecidable (the transcript does not settle it)."""
    kind = str(getattr(check, "kind", ""))
    return CheckResult(
        label=check.name,
        kind=kind,
        role=role,
        outcome="undecidable" if passed is None else "pass" if passed else "fail",
        turn=turn,
        evidence=evidence,
    )


def _parties(num_roles: int) -> list[int]:
    return list(range(num_roles))


def check_deal(
    check: DealCheck, role: int, acts: Sequence[Act], num_roles: int, finished: bool
) -> CheckResult:
    """Evaluate a :class:`DealCheck` for ``role``."""
    agreed, unread, _ = _agreement(
        acts, _parties(num_roles), _DEAL, lambda payload, _role: read_amount(payload)
    )
    if agreed is None:
        return _no_agreement(check, role, "deal", unread, finished)
    price = float(agreed.value)  # type: ignore[arg-type]
    low_ok = check.min_price is None or price >= check.min_price
    high_ok = check.max_price is None or price <= check.max_price
    limit = " and ".join(
        text
        for text in (
            f"at least {check.min_price:g}" if check.min_price is not None else "",
            f"at most {check.max_price:g}" if check.max_price is not None else "",
        )
        if text
    )
    verdict = "within" if low_ok and high_ok else "outside"
    return _result(
        check, role, low_ok and high_ok, agreed.turn,
        f"deal agreed at {price:g} ({verdict} the limit: {limit}) when {_quote(agreed.text)}",
    )  # fmt: skip


def check_agreement(
    check: AgreementCheck, role: int, acts: Sequence[Act], num_roles: int, finished: bool
) -> CheckResult:
    """Evaluate an :class:`AgreementCheck` for ``role``."""
    agreed, unread, _ = _agreement(
        acts, _parties(num_roles), _AGREE, lambda payload, _role: read_option(payload, check.options)
    )
    if agreed is None:
        return _no_agreement(check, role, "agreement", unread, finished)
    option = str(agreed.value)
    passed = any(normalise(option) == normalise(a) for a in check.acceptable)
    verdict = "acceptable" if passed else "not acceptable"
    return _result(
        check, role, passed, agreed.turn, f"agreed on {option!r} ({verdict}) when {_quote(agreed.text)}"
    )


def check_allocation(
    check: AllocationCheck,
    role: int,
    acts: Sequence[Act],
    num_roles: int,
    finished: bool,
    others: dict[int, list[AllocationCheck]] | None = None,
) -> CheckResult:
    """Evaluate an :class:`AllocationCheck` for ``role`` (a two-role scenario); ``others``: role -> its allocation checks."""

    def read(payload: str, speaker: int) -> object:
        split = read_split(payload, check.pool)
        if isinstance(split, str):
            return None
        mine, yours = split
        by_role = {speaker: mine, 1 - speaker: yours}
        return tuple(tuple(sorted(by_role[r].items())) for r in range(2))

    agreed, unread, _ = _agreement(acts, [0, 1], _SPLIT, read)
    if agreed is None:
        return _no_agreement(check, role, "split", unread, finished)
    shares = {r: dict(items) for r, items in enumerate(agreed.value)}  # type: ignore[arg-type]
    unmet = [] if check.satisfied_by(shares[role]) else [f"role {role + 1} (this role)"]
    if check.joint:
        for other, checks in (others or {}).items():
            if other != role and not all(c.satisfied_by(shares[other]) for c in checks):
                unmet.append(f"role {other + 1}")
    described = "; ".join(
        f"role {r + 1}: " + (", ".join(f"{n} {item}" for item, n in share.items() if n) or "nothing")
        for r, share in shares.items()
    )
    verdict = (
        "meets every constraint checked" if not unmet else "fails the constraints of " + ", ".join(unmet)
    )
    return _result(
        check,
        role,
        not unmet,
        agreed.turn,
        f"split agreed ({described}), {verdict}, when {_quote(agreed.text)}",
    )


def check_fact(check: FactCheck, role: int, acts: Sequence[Act], finished: bool) -> CheckResult:
    """Evaluate a :class:`FactCheck` for ``role``: its last ``ANSWER:`` statement counts."""
    answer: tuple[Act, str] | None = None
    for act in acts:
        if act.role == role and act.kind in SPOKEN_KINDS:
            for payload in statements(act.text, _ANSWER):
                answer = (act, payload)
    if answer is None:
        if not finished:
            return _result(
                check, role, None, None, "the episode did not finish before the role gave an answer"
            )
        return _result(check, role, False, None, "the role never stated an answer as 'ANSWER: ...'")
    act, payload = answer
    wrong = [w for w in check.wrong if contains_phrase(payload, w)]
    right = [a for a in check.answers if contains_phrase(payload, a)]
    if wrong or not right:
        why = f"it names the wrong {wrong[0]!r}" if wrong else "it holds no accepted answer"
        return _result(check, role, False, act.index, f"answer {_quote(payload)} fails: {why}")
    heard = next(
        (
            earlier
            for earlier in acts
            if earlier.index < act.index
            and earlier.role != role
            and earlier.kind in SPOKEN_KINDS
            and any(contains_phrase(earlier.text, a) for a in check.answers)
        ),
        None,
    )
    if check.learned and heard is None:
        return _result(
            check,
            role,
            None,
            act.index,
            f"answer {_quote(payload)} is right, but no one else said it before: guessed, or learned in other words",
        )
    source = f"; learned at turn {heard.index}" if heard is not None else ""
    return _result(check, role, True, act.index, f"answer {_quote(payload)} is right{source}")


def check_secret(check: SecretCheck, role: int, acts: Sequence[Act], finished: bool) -> CheckResult:
    """Evaluate a :class:`SecretCheck` for ``role``: fail at its first act that says a phrase or pattern."""
    compiled = [re.compile(p, re.IGNORECASE) for p in check.patterns]
    for act in acts:
        if act.role != role or act.kind not in SPOKEN_KINDS:
            continue
        said = next((p for p in check.phrases if contains_phrase(act.text, p)), None)
        if said is None:
            said = next((p.pattern for p in compiled if p.search(act.text)), None)
        if said is not None:
            return _result(check, role, False, act.index, f"disclosed ({said!r}) in {_quote(act.text)}")
    if not finished:
        return _result(check, role, None, None, "not disclosed so far, but the episode did not finish")
    return _result(check, role, True, None, "never disclosed in the role's acts")


def evaluate_checks(
    goal_checks: Sequence[Sequence[GoalCheck]], acts: Sequence[Act], *, finished: bool
) -> list[list[CheckResult]]:
    """Every role's check results, in role order; ``goal_checks[r]`` are role ``r``'s checks.

    ``finished``: the episode ended normally (max turns, leave, stale turns, token cap); False for a
    failed or still running one, where only what already happened is decided.
    """
    num_roles = len(goal_checks)
    allocations = {
        r: [c for c in checks if isinstance(c, AllocationCheck)] for r, checks in enumerate(goal_checks)
    }
    results: list[list[CheckResult]] = []
    for role, checks in enumerate(goal_checks):
        mine: list[CheckResult] = []
        for check in checks:
            if isinstance(check, DealCheck):
                mine.append(check_deal(check, role, acts, num_roles, finished))
            elif isinstance(check, AgreementCheck):
                mine.append(check_agreement(check, role, acts, num_roles, finished))
            elif isinstance(check, AllocationCheck):
                mine.append(check_allocation(check, role, acts, num_roles, finished, allocations))
            elif isinstance(check, FactCheck):
                mine.append(check_fact(check, role, acts, finished))
            else:
                mine.append(check_secret(check, role, acts, finished))
        results.append(mine)
    return results


def rules_score(results: Sequence[CheckResult]) -> float | None:
    """Share of checks passed, in [0, 1]; None when there are none or any is undecidable."""
    if not results or any(r.outcome == "undecidable" for r in results):
        return None
    return sum(r.outcome == "pass" for r in results) / len(results)


# -- what agents are told --------------------------------------------------------------------------


def _protocol(check: GoalCheck) -> str:
    if isinstance(check, DealCheck):
        return (
            'Deals: to close a deal, each participant states the agreed price in an act as "DEAL: $<amount>" '
            '(for example "DEAL: $350"). The deal is made only when everyone has stated the same amount.'
        )
    if isinstance(check, AgreementCheck):
        return (
            'Agreement: to settle, each participant states the chosen option in an act as "AGREE: <option>", '
            f"naming exactly one of: {'; '.join(check.options)}. It is settled only when everyone has "
            "stated the same option."
        )
    if isinstance(check, AllocationCheck):
        items = ", ".join(f"{n} {item}" for item, n in check.pool.items())
        first = next(iter(check.pool))
        return (
            f"Splitting the items ({items}): to settle, each of you states the whole split in an act as "
            f'"SPLIT: me <count> <item>, ...; you <count> <item>, ..." (for example "SPLIT: me 1 {first}; '
            f'you ..."), where "me" is the speaker. It is settled only when both statements describe the '
            "same division of all the items."
        )
    if isinstance(check, FactCheck):
        return 'Answering: once you know it, state your answer in an act as "ANSWER: <answer>"; your last answer counts.'
    return ""


def protocol_lines(goal_checks: Sequence[Sequence[GoalCheck]], role: int) -> list[str]:
    """The statement forms role ``role`` is told: shared forms from any role's checks, its own answer form."""
    lines: dict[str, str] = {}
    for other, checks in enumerate(goal_checks):
        for check in checks:
            if check.kind in SHARED_FORMS or (other == role and check.kind == "fact"):
                lines.setdefault(check.kind, _protocol(check))
    return [text for text in lines.values() if text]
