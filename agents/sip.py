"""The Social-R1 output format as one object, :data:`SIP`: prompt text, parser, checker and format rewards.

A SIP (social information processing) completion looks like::

    <think>
    1. Cue Encoding: what was said and done, who saw what ...
    2. Cue Interpretation: what those cues mean for each person's beliefs and feelings ...
    3. Goal Clarification: what I am trying to achieve (or what the question asks) ...
    4. Response Generation: the candidate responses, weighed, and the one chosen ...
    </think>
    <Answer>B</Answer>

The format object owns everything that knows this shape, the way a verifiers parser owns its
format reward: :meth:`SIPFormat.instructions` (what the policy is told), :meth:`SIPFormat.parse`
(reads whatever a model actually wrote: any tag case, markdown around the stage markers, a
missing ``</think>``, chatter outside the tags; never raises), :meth:`SIPFormat.check` (every
deviation from the canonical shape), :meth:`SIPFormat.render` (a canonical reply), and the two
training terms that judge the shape, :meth:`SIPFormat.format_reward` and
:meth:`SIPFormat.structure_reward`. Reading an MCQ choice out of the answer is not SIP: it lives
in :mod:`eval.answers`.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

SIP_STAGES: tuple[str, ...] = (
    "Cue Encoding",
    "Cue Interpretation",
    "Goal Clarification",
    "Response Generation",
)
"""The four SIP stages, in the order they must appear inside ``<think>``."""

THINK_PREFILL: str = f"<think>\n1. {SIP_STAGES[0]}:"
"""The opening of a SIP reply; written into the prompt so a small model starts inside the format."""

STAGE_GUIDE: dict[str, str] = {
    "Cue Encoding": "the cues that matter: what was said, done and seen, and by whom.",
    "Cue Interpretation": "what the cues mean for what each person believes, wants and feels.",
    "Goal Clarification": "the goal you serve (or what the question asks) and its limits.",
    "Response Generation": "the possible responses, weighed against the goal; pick one.",
}
"""One-line guidance per stage, used in the instructions (and by the content judge)."""

Task = Literal["mcq", "free", "social"]
"""What the ``<Answer>`` holds: an option letter, a few words, or a social act."""

ANSWER_SPECS: dict[str, tuple[str, str]] = {
    "mcq": ("The answer is the letter of one option.", "B"),
    "free": ("The answer is a few words.", "..."),
    "social": (
        "The answer is your next act, all the others see: the words you say, or "
        '{"action_type": "<type>", "argument": "..."} for another action type.',
        "...",
    ),
}
"""Per task: the sentence saying what goes inside ``<Answer>``, and the example answer in the skeleton."""

AnswerSource = Literal["answer", "after_think", "whole"]
"""Where a reply's answer was read: its ``<Answer>``, the text after ``</think>``, or the whole reply."""

_LETTERS = string.ascii_uppercase
_TAG_ORDER: tuple[tuple[str, bool], ...] = (
    ("think", False),
    ("think", True),
    ("answer", False),
    ("answer", True),
)
"""The canonical tag sequence as (kind, closing) pairs: <think> </think> <Answer> </Answer>."""


def is_blank(text: str | None) -> bool:
    """True for None or text without a single letter or digit."""
    return text is None or not any(ch.isalnum() for ch in text)


# --------------------------------------------------------------------------------------------------
# Parsing

_TAG_RE = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)

_STAGE_NAME_RE = {s: r"[ \t_-]*".join(w.lower() for w in s.split()) for s in SIP_STAGES}
"""Each stage name as a pattern: its words in any case, joined by spaces, tabs, ``_`` or ``-``."""

_MARKER_RE = re.compile(
    r"""
    (?: ^[ \t]* | (?<=[.!?;>])[ \t]* )                     # line start, or after a sentence end / tag
    (?P<deco> (?: [#>*+•\-–—][ \t]* )* )                      # markdown header, quote, bullet, bold
    (?P<num> \(? (?: (?:stage|step)[ \t]* )? \d{1,2} [ \t]* [.):\-–—]? \)? [ \t]* )?   # 1.  (1)  Stage 1:
    (?P<emph> [*_]{0,3} )
    (?P<name> """
    + "|".join(f"(?P<s{i}>{pat})" for i, pat in enumerate(_STAGE_NAME_RE.values()))
    + r""" )
    (?P<emph2> [*_]{0,3} )
    (?: [ \t]* \( [^()\n]{0,80} \) )?                       # an optional parenthetical gloss
    (?P<emph2b> [*_]{0,3} )
    [ \t]*
    (?P<sep> [:：\-–—] )?
    [ \t]*
    (?P<emph3> [*_]{0,3} )
    [ \t]*
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


@dataclass(frozen=True)
class Tag:
    """One ``<think>``/``</think>``/``<Answer>``/``</Answer>`` tag found in a text (any case)."""

    kind: Literal["think", "answer"]
    closing: bool
    start: int
    end: int

    @property
    def label(self) -> str:
        """The canonical spelling of this tag, e.g. ``</Answer>``."""
        name = "think" if self.kind == "think" else "Answer"
        return f"</{name}>" if self.closing else f"<{name}>"


@dataclass(frozen=True)
class StageMark:
    """One stage marker found inside the reasoning, with the text that follows it."""

    stage: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SIPParse:
    """What :meth:`SIPFormat.parse` found.

    ``think`` and ``answer`` are the stripped contents (None when absent). ``stages`` maps every
    stage name to the stripped text after its first marker (None when the marker is absent).
    ``order`` lists the markers in order of appearance, repeats included. Positions refer to the
    parsed string.
    """

    text: str
    think: str | None
    answer: str | None
    stages: dict[str, str | None]
    order: tuple[str, ...]
    tags: tuple[Tag, ...] = ()
    marks: tuple[StageMark, ...] = ()
    think_span: tuple[int, int] | None = None
    answer_span: tuple[int, int] | None = None
    answer_closed: bool = False
    prefix: str = ""
    between: str = ""
    suffix: str = ""
    stage_region_is_think: bool = False
    answer_marks: tuple[str, ...] = ()

    def count(self, kind: Literal["think", "answer"], closing: bool) -> int:
        """How many tags of this kind (opening or closing) the text holds."""
        return sum(1 for t in self.tags if t.kind == kind and t.closing == closing)

    @property
    def has_think(self) -> bool:
        """True when some reasoning block was found (opened, closed, or both)."""
        return self.think_span is not None

    @property
    def has_answer(self) -> bool:
        """True when an ``<Answer>`` block (possibly unclosed) was found."""
        return self.answer is not None

    @property
    def present_stages(self) -> tuple[str, ...]:
        """Stages (in canonical order) whose marker is present with non-empty text."""
        return tuple(s for s in SIP_STAGES if not is_blank(self.stages.get(s)))

    @property
    def answer_source(self) -> AnswerSource:
        """Where the answer is read: the ``<Answer>``; else non-blank text after ``</think>``; else the whole reply."""
        if self.answer is not None:
            return "answer"
        if self.think_span is not None and self.suffix.strip():
            return "after_think"
        return "whole"

    @property
    def final_answer(self) -> str:
        """The answer this reply gives, read from :attr:`answer_source` (stripped)."""
        source = self.answer_source
        if source == "answer":
            return self.answer or ""
        return self.suffix.strip() if source == "after_think" else self.text.strip()

    @property
    def reasoning_without_answer(self) -> bool:
        """True when the reply reasons (a think block or stage markers) but gives no answer to read.

        Its whole text is then the only answer there is; an agent must not play it, since the
        others would see the reasoning.
        """
        return self.answer_source == "whole" and (self.think_span is not None or bool(self.order))

    @property
    def first_order(self) -> tuple[str, ...]:
        """Stage markers in order of first appearance (repeats dropped)."""
        seen: list[str] = []
        for s in self.order:
            if s not in seen:
                seen.append(s)
        return tuple(seen)


def _find_tags(text: str) -> list[Tag]:
    return [
        Tag(kind=m.group(2).lower(), closing=bool(m.group(1)), start=m.start(), end=m.end())  # type: ignore[arg-type]
        for m in _TAG_RE.finditer(text)
    ]


def _stage_marks(region: str, offset: int = 0) -> list[StageMark]:
    """Stage markers in ``region`` with the text each introduces (up to the next marker)."""
    found: list[tuple[str, int, int]] = []
    for m in _MARKER_RE.finditer(region):
        start = m.start()
        at_line_start = start == 0 or region[start - 1] in "\n>"
        decorated = bool(
            m.group("deco").strip()
            or m.group("num")
            or m.group("emph")
            or m.group("emph2")
            or m.group("emph2b")
        )
        line_end = region.find("\n", m.end())
        rest_of_line = region[m.end() : line_end if line_end >= 0 else len(region)]
        if at_line_start:
            ok = bool(m.group("sep")) or decorated or not rest_of_line.strip()
        else:
            ok = bool(m.group("sep"))
        if not ok:
            continue
        idx = next(i for i in range(len(SIP_STAGES)) if m.group(f"s{i}") is not None)
        end = m.end()
        opened = "*" in m.group("deco") or "_" in m.group("deco") or m.group("emph")
        if m.group("emph3") and not opened:  # "Stage: **bold text**": the stars belong to the text
            end = m.start("emph3")
        found.append((SIP_STAGES[idx], start, end))
    marks = []
    for j, (stage, start, end) in enumerate(found):
        stop = found[j + 1][1] if j + 1 < len(found) else len(region)
        marks.append(StageMark(stage, offset + start, offset + end, region[end:stop].strip()))
    return marks


def _parse(text: str) -> SIPParse:
    """Parse ``text``; the rules are in :meth:`SIPFormat.parse`."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    tags = _find_tags(text)
    think_open = next((t for t in tags if t.kind == "think" and not t.closing), None)
    think_span: tuple[int, int] | None = None
    think_end = 0  # where the reasoning (with its closing tag) ends
    prefix = ""
    if think_open is not None:
        prefix = text[: think_open.start]
        close = next((t for t in tags if t.kind == "think" and t.closing and t.start >= think_open.end), None)
        if close is not None:
            think_span, think_end = (think_open.end, close.start), close.end
        else:
            ans = next(
                (t for t in tags if t.kind == "answer" and not t.closing and t.start >= think_open.end), None
            )
            stop = ans.start if ans is not None else len(text)
            think_span, think_end = (think_open.end, stop), stop
    else:
        close = next((t for t in tags if t.kind == "think" and t.closing), None)
        if close is not None:
            think_span, think_end = (0, close.start), close.end

    blocks = _answer_blocks(text, [t for t in tags if t.start >= think_end], think_end)
    if not blocks and think_end > 0:
        blocks = _answer_blocks(text, tags, 0, lone_close=False)
    answer_span: tuple[int, int] | None = None
    answer_closed = False
    between = suffix = ""
    if blocks:
        (a_start, a_end, answer_closed, after) = blocks[-1]
        answer_span = (a_start, a_end)
        suffix = text[max(after, think_end) :] if answer_closed else ""
        first_open = blocks[0][0]
        first_tag = next((t for t in tags if t.kind == "answer" and t.end == first_open), None)
        if first_tag is not None and first_tag.start >= think_end:
            between = text[think_end : first_tag.start]
    elif think_span is not None:
        suffix = text[think_end:]

    if think_span is not None:
        region_start, region_end = think_span
        region_is_think = True
    elif answer_span is not None:
        opener = next((t for t in tags if t.kind == "answer" and t.end == answer_span[0]), None)
        region_start, region_end = 0, (opener.start if opener is not None else answer_span[0])
        # with a lone </Answer> the answer starts at 0: no region then
        region_is_think = False
    else:
        region_start, region_end = 0, len(text)
        region_is_think = False
    marks = _stage_marks(text[region_start:region_end], region_start)
    stages: dict[str, str | None] = dict.fromkeys(SIP_STAGES)
    for mark in marks:
        if stages[mark.stage] is None:
            stages[mark.stage] = mark.text
    answer_text = text[answer_span[0] : answer_span[1]].strip() if answer_span else None
    answer_marks = tuple(m.stage for m in _stage_marks(answer_text)) if answer_text else ()
    return SIPParse(
        text=text,
        think=text[think_span[0] : think_span[1]].strip() if think_span else None,
        answer=answer_text,
        stages=stages,
        order=tuple(m.stage for m in marks),
        tags=tuple(tags),
        marks=tuple(marks),
        think_span=think_span,
        answer_span=answer_span,
        answer_closed=answer_closed,
        prefix=prefix,
        between=between,
        suffix=suffix,
        stage_region_is_think=region_is_think,
        answer_marks=answer_marks,
    )


def _answer_blocks(
    text: str, tags: list[Tag], start: int, lone_close: bool = True
) -> list[tuple[int, int, bool, int]]:
    """(content start, content end, closed, end of closing tag) for each answer block among ``tags``.

    An unclosed block ends where the next tag of any kind starts (else at the end of the text).
    With ``lone_close``, a ``</Answer>`` before any ``<Answer>`` closes an answer starting at ``start``.
    """
    blocks: list[tuple[int, int, bool, int]] = []
    current: Tag | None = None
    for tag in tags:
        if tag.kind == "think":
            if current is not None:
                blocks.append((current.end, tag.start, False, tag.start))
                current = None
        elif not tag.closing:
            if current is not None:
                blocks.append((current.end, tag.start, False, tag.start))
            current = tag
        elif current is not None:
            blocks.append((current.end, tag.start, True, tag.end))
            current = None
        elif lone_close and not blocks:
            blocks.append((start, tag.start, True, tag.end))
    if current is not None:
        blocks.append((current.end, len(text), False, len(text)))
    return blocks


@dataclass(frozen=True)
class SIPCheck:
    """Result of :meth:`SIPFormat.check`: ``ok`` when ``problems`` is empty."""

    ok: bool
    problems: list[str]
    parse: SIPParse


_ALIAS_RE: dict[str, re.Pattern[str]] = {
    "think": re.compile(r"<\s*(?:thought|thoughts|thinking|reasoning|reason)\s*>", re.IGNORECASE),
    "answer": re.compile(r"<\s*(?:final[ _]?answer|response|ans)\s*>", re.IGNORECASE),
}
"""Tags models write in place of ``<think>`` / ``<Answer>``: named in the checker's message, never accepted."""


def _longest_increasing(seq: Sequence[int]) -> int:
    """Length of the longest strictly increasing subsequence (O(n^2), n <= a handful)."""
    best: list[int] = []
    for i, x in enumerate(seq):
        best.append(1 + max((best[j] for j in range(i) if seq[j] < x), default=0))
    return max(best, default=0)


# --------------------------------------------------------------------------------------------------
# The format object


class SIPFormat:
    """The SIP reply format: the prompt text that asks for it, and the reading and judging of replies.

    Every part of the code that writes, reads or rewards this format calls the one instance
    :data:`SIP`, so the stage names, the tag order and the answer rules exist once.
    """

    stages: tuple[str, ...] = SIP_STAGES
    """The stage names, in their required order."""
    prefill: str = THINK_PREFILL
    """The opening of a reply, written into the prompt where the backend can continue it."""

    # ---------------------------------------------------------------------------------------------
    # Writing

    def stage_list(self) -> str:
        """The numbered stages with one line of guidance each, one per line."""
        return "\n".join(f"{i}. {s}: {STAGE_GUIDE[s]}" for i, s in enumerate(self.stages, 1))

    def skeleton(self, answer_example: str) -> str:
        """The shape of a reply with ``...`` for each stage text and ``answer_example`` as the answer."""
        lines = ["<think>"]
        lines += [f"{i}. {stage}: ..." for i, stage in enumerate(self.stages, 1)]
        lines += ["</think>", f"<Answer>{answer_example}</Answer>"]
        return "\n".join(lines)

    def instructions(self, task: Task = "social", answer_spec: str | None = None) -> str:
        """System-prompt text that explains the SIP format for ``task`` (see :data:`ANSWER_SPECS`).

        ``answer_spec`` replaces the task's sentence describing what goes inside ``<Answer>``
        (then the skeleton's answer is ``...``). Kept short on purpose: every prompt token is paid
        for on every turn of every training episode.
        """
        if task not in ANSWER_SPECS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(map(repr, ANSWER_SPECS))}")
        spec, example = ANSWER_SPECS[task]
        if answer_spec is not None:
            spec, example = answer_spec, "..."
        return (
            "Reason inside <think></think> in four numbered stages, in this order:\n"
            f"{self.stage_list()}\n"
            f"Then give your answer once inside <Answer></Answer> and stop. {spec}\n"
            f"Shape:\n{self.skeleton(example)}"
        )

    def render(self, stages: Mapping[str, str] | Sequence[str], answer: str) -> str:
        """The canonical reply for the given stage texts (by name, or four in order) and answer."""
        if isinstance(stages, Mapping):
            missing = [s for s in self.stages if s not in stages]
            if missing:
                raise ValueError(f"missing stage texts: {missing}")
            texts = [stages[s] for s in self.stages]
        else:
            texts = list(stages)
            if len(texts) != len(self.stages):
                raise ValueError(f"expected {len(self.stages)} stage texts, got {len(texts)}")
        body = "\n".join(
            f"{i}. {s}: {t.strip()}" for i, (s, t) in enumerate(zip(self.stages, texts, strict=True), 1)
        )
        return f"<think>\n{body}\n</think>\n<Answer>{answer.strip()}</Answer>"

    # ---------------------------------------------------------------------------------------------
    # Reading

    def parse(self, text: str) -> SIPParse:
        """Parse a (possibly messy) reply. Never raises on a string.

        Rules: the reasoning runs from the first ``<think>`` to the next ``</think>``; when that is
        missing it ends at the first ``<Answer>`` after it, else at the end of the text; with no
        ``<think>`` but a ``</think>`` it starts at the beginning of the text. The answer is the
        last ``<Answer>`` block after the reasoning (an unclosed one runs to the end of the text; a
        lone ``</Answer>`` closes an answer that starts right after the reasoning); when none
        follows the reasoning, blocks anywhere count. Stage markers are looked for in the reasoning,
        or, without one, in the text before the answer (or the whole text).
        """
        return _parse(text)

    def parse_answer(self, text: str) -> str:
        """The answer a reply gives: its ``<Answer>``, else the text after ``</think>``, else the whole reply."""
        return self.parse(text).final_answer

    def split_reasoning(self, text: str) -> tuple[str | None, str]:
        """A reasoning block that opens a reply, split off: (reasoning or None, the rest as written).

        For replies that need not follow the SIP format (reasoning models behind a plain agent):
        the reasoning must open the reply, as ``<think>...</think>`` or as text ending in
        ``</think>``; an unclosed ``<think>`` makes the whole reply reasoning (the rest is empty).
        """
        p = self.parse(text)
        if p.think_span is None or p.prefix.strip():
            return None, p.text
        close = next(
            (t for t in p.tags if t.kind == "think" and t.closing and t.start == p.think_span[1]), None
        )
        if close is None:
            return p.text[p.think_span[0] :].strip(), ""
        return p.think, p.text[close.end :]

    def check(self, text: str) -> SIPCheck:
        """Strictly check ``text`` against the canonical shape; list every problem found.

        Tags may use any letter case (``<answer>``); everything else must be canonical: one
        ``<think>`` then one ``</think>`` then one ``<Answer>`` then one ``</Answer>``, only whitespace
        outside and between the blocks, a non-empty answer, and the four stages inside ``<think>``,
        each once, non-empty and in order, with no stage marker inside the answer.
        """
        p = self.parse(text)
        problems: list[str] = []
        for kind, name in (("think", "think"), ("answer", "Answer")):
            n_open, n_close = p.count(kind, False), p.count(kind, True)  # type: ignore[arg-type]
            if n_open == 0:
                alias = _ALIAS_RE[kind].search(p.text)
                problems.append(
                    f"missing <{name}>" + (f" (found {alias.group(0)!r} instead)" if alias else "")
                )
            elif n_open > 1:
                problems.append(f"more than one <{name}>" + (" block" if kind == "answer" else ""))
            if n_close == 0:
                problems.append(f"missing </{name}>")
            elif n_close > 1:
                problems.append(f"more than one </{name}>")
            if n_open == 1 and n_close == 1:
                o = next(t for t in p.tags if t.kind == kind and not t.closing)
                c = next(t for t in p.tags if t.kind == kind and t.closing)
                if c.start < o.start:
                    problems.append(f"</{name}> before <{name}>")
        first_answer = next((t for t in p.tags if t.kind == "answer" and not t.closing), None)
        last_think_close = next((t for t in reversed(p.tags) if t.kind == "think" and t.closing), None)
        if (
            first_answer is not None
            and last_think_close is not None
            and first_answer.start < last_think_close.start
        ):
            problems.append("<Answer> before </think>")
        if p.prefix.strip():
            problems.append("text before <think>")
        if p.between.strip():
            problems.append("text between </think> and <Answer>")
        if p.suffix.strip():
            problems.append("text after </Answer>" if p.answer_closed else "text after </think>")
        if p.answer is not None and not p.answer.strip():
            problems.append("empty <Answer>")
        for stage in self.stages:
            n = p.order.count(stage)
            if n == 0:
                problems.append(f"stage {stage!r} missing")
                continue
            if n > 1:
                problems.append(f"stage {stage!r} appears more than once")
            if is_blank(p.stages[stage]):
                problems.append(f"empty stage {stage!r}")
        first = {s: p.order.index(s) for s in self.stages if s in p.order}
        present = [s for s in self.stages if s in first]
        for prev, cur in itertools.pairwise(present):
            if first[cur] < first[prev]:
                problems.append(f"stage {prev!r} appears after {cur!r}")
        if p.has_think:
            for stage in dict.fromkeys(
                m.stage for part in (p.prefix, p.between, p.suffix) for m in _stage_marks(part)
            ):
                problems.append(f"stage {stage!r} outside <think>")
        for stage in dict.fromkeys(p.answer_marks):
            problems.append(f"stage {stage!r} inside <Answer>")
        return SIPCheck(ok=not problems, problems=list(dict.fromkeys(problems)), parse=p)

    # ---------------------------------------------------------------------------------------------
    # Format rewards (training terms ``format`` and ``structure``)

    def format_reward(self, completion: str, ok: float = 1.0, bad: float = -1.0, **_: Any) -> float:
        """``ok`` (1.0) when the tags appear exactly once each and in order, else ``bad`` (-1.0).

        Formula: let T be the sequence of ``<think>``, ``</think>``, ``<Answer>``, ``</Answer>`` tags
        in the completion (any letter case, whitespace inside the brackets allowed); reward = ok if
        T == (<think>, </think>, <Answer>, </Answer>) else bad. Range {bad, ok} = {-1, 1} by default
        (ToM-RL style). Text outside the tags and the stage layout are not judged here (see
        :meth:`structure_reward` and :meth:`check`).
        """
        tags = tuple((t.kind, t.closing) for t in self.parse(completion).tags)
        return ok if tags == _TAG_ORDER else bad

    def structure_reward(self, completion: str, **_: Any) -> float:
        """Share of the four stages present, non-empty and in order; in [0, 1].

        Formula: take the stage markers in order of first appearance (inside ``<think>``, or in the
        text before the answer when there is no reasoning block), keep those whose text holds a
        letter or digit, map each to its canonical index (Cue Encoding 0 ... Response Generation 3);
        reward = (length of the longest strictly increasing subsequence of those indices) / 4.
        All four in order: 1.0; one swapped pair: 0.75; none: 0.0.
        """
        p = self.parse(completion)
        idx = [self.stages.index(s) for s in p.first_order if not is_blank(p.stages[s])]
        return _longest_increasing(idx) / len(self.stages)


SIP = SIPFormat()
"""The SIP format; every writer, reader and format reward of SIP replies uses this instance."""


# --------------------------------------------------------------------------------------------------
# MCQ prompts


class MCQLike(Protocol):
    """Anything shaped like ``eval.items.MCQItem``: options plus a rendered question."""

    options: list[str]

    def render(self) -> str:
        """Story, question and lettered options as one block of text."""
        ...


def mcq_messages(item: MCQLike, sip: bool = True) -> list[dict[str, str]]:
    """Chat messages asking ``item``: SIP reasoning then ``<Answer>``, or (``sip=False``) just the answer.

    Plain mode asks for the option letter alone (or a short phrase for free-text items).
    """
    letters = _LETTERS[: len(item.options)]
    if item.options:
        choose = f"one of {', '.join(letters)}" if len(letters) > 1 else letters
        ask_plain = f"Reply with the letter of the correct option ({choose}) and nothing else."
        ask_sip = f"Answer with the letter of the correct option ({choose}) inside <Answer></Answer>."
    else:
        ask_plain = "Reply with the answer in a few words and nothing else."
        ask_sip = "Answer in a few words inside <Answer></Answer>."
    if sip:
        return [
            {"role": "system", "content": SIP.instructions("mcq" if item.options else "free")},
            {"role": "user", "content": f"{item.render()}\n\n{ask_sip}"},
        ]
    system = "You answer questions about stories and social situations. Be accurate and brief."
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{item.render()}\n\n{ask_plain}"},
    ]
