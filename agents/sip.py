"""The Social-R1 output format, in one place: prompt text, a tolerant parser and a strict checker.

A SIP (social information processing) completion looks like::

    <think>
    1. Cue Encoding: what was said and done, who saw what ...
    2. Cue Interpretation: what those cues mean for each person's beliefs and feelings ...
    3. Goal Clarification: what I am trying to achieve (or what the question asks) ...
    4. Response Generation: the candidate responses, weighed, and the one chosen ...
    </think>
    <Answer>B</Answer>

:func:`parse_sip` reads whatever a model actually wrote (any tag case, markdown around the stage
markers, a missing ``</think>``, chatter outside the tags) and never raises. :func:`check_sip`
lists every deviation from the canonical shape. The reward terms in ``training/rewards.py`` are
built on both.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

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
"""One-line guidance per stage, used in the instructions."""

_LETTERS = string.ascii_uppercase


# --------------------------------------------------------------------------------------------------
# Prompt text


def _skeleton(answer_example: str) -> str:
    lines = ["<think>"]
    lines += [f"{i}. {stage}: ..." for i, stage in enumerate(SIP_STAGES, 1)]
    lines += ["</think>", f"<Answer>{answer_example}</Answer>"]
    return "\n".join(lines)


_ANSWER_SPEC: dict[str, tuple[str, str]] = {
    "mcq": ("The answer is the letter of one option.", "B"),
    "social": (
        "The answer is what your character does next (the words they say); "
        "the others see only the answer, never your reasoning.",
        "...",
    ),
}


def build_instructions(task: Literal["mcq", "social"] = "social", answer_spec: str | None = None) -> str:
    """System-prompt text that explains the SIP format for ``task``.

    ``answer_spec`` replaces the default sentence describing what goes inside ``<Answer>``
    (for example an agent that wants a JSON action there). Kept short on purpose: every prompt
    token is paid for on every turn of every training episode.
    """
    if task not in _ANSWER_SPEC:
        raise ValueError(f"unknown task {task!r}; expected 'mcq' or 'social'")
    spec, example = _ANSWER_SPEC[task]
    if answer_spec is not None:
        spec, example = answer_spec, "..."
    stages = "\n".join(f"{i}. {s}: {STAGE_GUIDE[s]}" for i, s in enumerate(SIP_STAGES, 1))
    return (
        "Reason inside <think></think> in four numbered stages, in this order:\n"
        f"{stages}\n"
        f"Then give your answer once inside <Answer></Answer> and stop. {spec}\n"
        f"Shape:\n{_skeleton(example)}"
    )


SYSTEM_PROMPT: str = build_instructions("social")
"""The SIP system prompt for social episodes (``build_instructions("social")``)."""


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
        system = build_instructions(
            "mcq",
            None if item.options else "The answer is a few words.",
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f"{item.render()}\n\n{ask_sip}"},
        ]
    system = "You answer questions about stories and social situations. Be accurate and brief."
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{item.render()}\n\n{ask_plain}"},
    ]


def format_sip(stages: Mapping[str, str] | Sequence[str], answer: str) -> str:
    """The canonical SIP text for the given stage texts (by name, or four in order) and answer."""
    if isinstance(stages, Mapping):
        missing = [s for s in SIP_STAGES if s not in stages]
        if missing:
            raise ValueError(f"missing stage texts: {missing}")
        texts = [stages[s] for s in SIP_STAGES]
    else:
        texts = list(stages)
        if len(texts) != len(SIP_STAGES):
            raise ValueError(f"expected {len(SIP_STAGES)} stage texts, got {len(texts)}")
    body = "\n".join(
        f"{i}. {s}: {t.strip()}" for i, (s, t) in enumerate(zip(SIP_STAGES, texts, strict=True), 1)
    )
    return f"<think>\n{body}\n</think>\n<Answer>{answer.strip()}</Answer>"


# --------------------------------------------------------------------------------------------------
# Parsing

_TAG_RE = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)

_STAGE_NAME_RE = {
    "Cue Encoding": r"cue[ \t_-]*encoding",
    "Cue Interpretation": r"cue[ \t_-]*interpretation",
    "Goal Clarification": r"goal[ \t_-]*clarification",
    "Response Generation": r"response[ \t_-]*generation",
}

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
    """What :func:`parse_sip` found.

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
    def first_order(self) -> tuple[str, ...]:
        """Stage markers in order of first appearance (repeats dropped)."""
        seen: list[str] = []
        for s in self.order:
            if s not in seen:
                seen.append(s)
        return tuple(seen)


def is_blank(text: str | None) -> bool:
    """True for None or text without a single letter or digit."""
    return text is None or not any(ch.isalnum() for ch in text)


def _find_tags(text: str) -> list[Tag]:
    return [
        Tag(kind=m.group(2).lower(), closing=bool(m.group(1)), start=m.start(), end=m.end())  # type: ignore[arg-type]
        for m in _TAG_RE.finditer(text)
    ]


def find_stage_marks(region: str, offset: int = 0) -> list[StageMark]:
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


def parse_sip(text: str) -> SIPParse:
    """Parse a (possibly messy) SIP completion. Never raises on a string.

    Rules: the reasoning runs from the first ``<think>`` to the next ``</think>``; when that is
    missing it ends at the first ``<Answer>`` after it, else at the end of the text; with no
    ``<think>`` but a ``</think>`` it starts at the beginning of the text. The answer is the
    last ``<Answer>`` block after the reasoning (an unclosed one runs to the end of the text; a
    lone ``</Answer>`` closes an answer that starts right after the reasoning); when none
    follows the reasoning, blocks anywhere count. Stage markers are looked for in the reasoning,
    or, without one, in the text before the answer (or the whole text).
    """
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
    marks = find_stage_marks(text[region_start:region_end], region_start)
    stages: dict[str, str | None] = dict.fromkeys(SIP_STAGES)
    for mark in marks:
        if stages[mark.stage] is None:
            stages[mark.stage] = mark.text
    answer_text = text[answer_span[0] : answer_span[1]].strip() if answer_span else None
    answer_marks = tuple(m.stage for m in find_stage_marks(answer_text)) if answer_text else ()
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


# --------------------------------------------------------------------------------------------------
# Strict checking


@dataclass(frozen=True)
class SIPCheck:
    """Result of :func:`check_sip`: ``ok`` when ``problems`` is empty."""

    ok: bool
    problems: list[str]
    parse: SIPParse


_ALIAS_RE: dict[str, re.Pattern[str]] = {
    "think": re.compile(r"<\s*(?:thought|thoughts|thinking|reasoning|reason)\s*>", re.IGNORECASE),
    "answer": re.compile(r"<\s*(?:final[ _]?answer|response|ans)\s*>", re.IGNORECASE),
}
"""Tags models write in place of ``<think>`` / ``<Answer>``: named in the checker's message, never accepted."""


def check_sip(text: str) -> SIPCheck:
    """Strictly check ``text`` against the canonical SIP shape; list every problem found.

    Tags may use any letter case (``<answer>``); everything else must be canonical: one
    ``<think>`` then one ``</think>`` then one ``<Answer>`` then one ``</Answer>``, only whitespace
    outside and between the blocks, a non-empty answer, and the four stages inside ``<think>``,
    each once, non-empty and in order, with no stage marker inside the answer.
    """
    p = parse_sip(text)
    problems: list[str] = []
    for kind, name in (("think", "think"), ("answer", "Answer")):
        n_open, n_close = p.count(kind, False), p.count(kind, True)  # type: ignore[arg-type]
        if n_open == 0:
            alias = _ALIAS_RE[kind].search(text)
            problems.append(f"missing <{name}>" + (f" (found {alias.group(0)!r} instead)" if alias else ""))
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
    for stage in SIP_STAGES:
        n = p.order.count(stage)
        if n == 0:
            problems.append(f"stage {stage!r} missing")
            continue
        if n > 1:
            problems.append(f"stage {stage!r} appears more than once")
        if is_blank(p.stages[stage]):
            problems.append(f"empty stage {stage!r}")
    first = {s: p.order.index(s) for s in SIP_STAGES if s in p.order}
    present = [s for s in SIP_STAGES if s in first]
    for prev, cur in itertools.pairwise(present):
        if first[cur] < first[prev]:
            problems.append(f"stage {prev!r} appears after {cur!r}")
    if p.has_think:
        for stage in dict.fromkeys(
            m.stage for part in (p.prefix, p.between, p.suffix) for m in find_stage_marks(part)
        ):
            problems.append(f"stage {stage!r} outside <think>")
    for stage in dict.fromkeys(p.answer_marks):
        problems.append(f"stage {stage!r} inside <Answer>")
    return SIPCheck(ok=not problems, problems=list(dict.fromkeys(problems)), parse=p)


# --------------------------------------------------------------------------------------------------
# Answers


def extract_answer(text: str) -> str:
    """The ``<Answer>`` content if present; else the text after ``</think>``; else the whole text (stripped)."""
    p = parse_sip(text)
    if p.answer is not None:
        return p.answer
    if p.think_span is not None and p.suffix.strip():
        return p.suffix.strip()
    return p.text.strip()


_FULL_LETTER_RE = re.compile(
    r"""^\W*
    (?: (?:the\s+)? (?:final\s+|correct\s+|best\s+)? (?:answer|option|choice) (?:\s+is)? \s* [:=\-]? \s* )?
    [(\[{]* (?P<letter>[A-Za-z]) [)\]}]*
    [\s.)\]:]*\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_BRACKET_LETTER_RE = re.compile(r"\[\[\s*([A-Za-z])\s*\]\]")
_LEADING_LETTER_RE = re.compile(r"^[\s*_`]*[(\[]?([A-Za-z])(?:[)\]]|[.:,]\s|[.:,]$|\s+[-–—]\s)")
_KEYWORD_LETTER_RE = re.compile(
    r"(?i:answer|option|choice)(?:\s+(?i:is))?\s*[:=\-]?\s*(?:[(\[]([A-Za-z])[)\]]|\b([A-Z])\b(?!['’]))"
)


def _norm(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def _letter_index(letter: str, n_options: int) -> int | None:
    i = _LETTERS.find(letter.upper())
    return i if 0 <= i < n_options else None


def parse_letter(text: str, n_options: int) -> int | None:
    """The option index named by a letter in an answer text ("B", "(b)", "[[B]]", "Answer: B", "b) ..."), or None."""
    s = text.strip().strip("*_`").strip()
    for rx in (_FULL_LETTER_RE, _BRACKET_LETTER_RE, _LEADING_LETTER_RE):
        m = rx.search(s)
        if m:
            i = _letter_index(m.group(1), n_options)
            if i is not None:
                return i
    hits = {_letter_index(a or b, n_options) for a, b in _KEYWORD_LETTER_RE.findall(s)}
    hits.discard(None)
    return hits.pop() if len(hits) == 1 else None


def _contains_phrase(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def match_option_text(answer: str, options: Sequence[str]) -> int | None:
    """The option whose text best matches ``answer`` (case/whitespace/punctuation-insensitive), if unique.

    Exact match first; then the options contained in the answer (the longest, when it contains
    every other contained option); then the single option containing the answer.
    """
    a = _norm(answer)
    if not a:
        return None
    normed = [_norm(o) for o in options]
    exact = [i for i, o in enumerate(normed) if o and o == a]
    if exact:
        return exact[0] if len(exact) == 1 else None
    inside = [i for i, o in enumerate(normed) if _contains_phrase(a, o)]
    if inside:
        best = max(inside, key=lambda i: len(normed[i]))
        if all(
            j == best or (_contains_phrase(normed[best], normed[j]) and normed[j] != normed[best])
            for j in inside
        ):
            return best
        return None
    if len(a) >= 3:
        around = [i for i, o in enumerate(normed) if _contains_phrase(o, a)]
        if len(around) == 1:
            return around[0]
    return None


_LISTED_OPTION_RE = re.compile(r"^[\s*_`]*[(\[]?([A-Za-z])[.):\]]\s+\S", re.MULTILINE)


def recites_options(answer: str, n_options: int) -> bool:
    """True when the answer lists two or more lettered options (``A. ...`` / ``B) ...`` on their own lines).

    Such a reply restates the choices instead of picking one; reading its first line as the
    choice would credit "A" to a model that only copied the list.
    """
    letters = {m.group(1).upper() for m in _LISTED_OPTION_RE.finditer(answer)}
    valid = {chr(ord("A") + k) for k in range(n_options)}
    return len(letters & valid) >= 2


def parse_choice(text: str, options: list[str]) -> int | None:
    """Read an MCQ choice from SIP or plain output: a letter, else the option text; None if unclear.

    A reply that recites several lettered options is unclear (None), not its first letter; so is
    one whose leading letter and following text name different options ("A. red box" when A is
    the green basket and C the red box).
    """
    if not options:
        return None
    answer = extract_answer(text)
    if recites_options(answer, len(options)):
        return None
    i = parse_letter(answer, len(options))
    if i is None:
        return match_option_text(answer, options)
    bare = answer.strip().strip("*_`").strip()
    if (lead := _LEADING_LETTER_RE.match(bare)) is not None:
        named = match_option_text(bare[lead.end() :], options)
        if named is not None and named != i:
            return None
    return i
