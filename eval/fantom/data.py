"""FanToM's published data (``fantom_v1.json``) and the questions asked from it.

The file is a JSON list of question *sets*. A set is about one piece of information in one part
of a multi-party conversation (``set_id`` ``"<conversation>-<part>-<set>"``) and holds:

- ``short_context`` (the part of the conversation that matters) and ``full_context`` (all of it);
- ``factQA``: ``question`` and ``correct_answer`` (free text);
- ``beliefQAs``: ``question``, ``question_type`` (``tom:belief:inaccessible`` or ``:accessible``),
  ``tom_type`` (``first-order``, ``second-order:cyclic``, ``second-order:acyclic``),
  ``correct_answer`` and ``wrong_answer`` (the belief of someone who heard everything), and
  ``missed_info_accessibility``;
- ``answerabilityQA_list`` / ``infoAccessibilityQA_list``: "list everyone who knows ...", with the
  names in ``correct_answer`` and ``wrong_answer``;
- ``answerabilityQAs_binary`` / ``infoAccessibilityQAs_binary``: "does X know ...", answered
  ``yes``, ``no`` or ``no:long`` (no, but only the full conversation shows it).

:func:`flatten` turns sets into :class:`FantomQuestion` s with the prompts FanToM's evaluation
uses: every belief question is asked twice, as free response and as a two-way choice (correct vs
wrong belief, order drawn per question from ``seed``). With the short context, ``no:long``
binary questions are left out; with the full context, list and binary questions take the
accessibility the published evaluation derives for them (any character left out: inaccessible).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError
from eval.benchmarks.records import MAX_TEXT_CHARS, read_json

Scenario = Literal["inaccessible", "accessible"]
Kind = Literal[
    "fact",
    "belief_dist",
    "belief_choice",
    "answerability_list",
    "answerability_binary",
    "info_list",
    "info_binary",
]
ContextType = Literal["short", "full"]
DATA_FILE = "fantom_v1.json"
CHOICE_LETTERS = "ab"

Text = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class FactQA(_Record):
    """The fact question of a set: what was said, with its answer."""

    question: str = Text
    correct_answer: str = Text


class BeliefQA(_Record):
    """What one character believes about the set's information (first or second order)."""

    question: str = Text
    question_type: str = Text
    tom_type: str = Text
    correct_answer: str = Text
    wrong_answer: str = Text
    missed_info_accessibility: Scenario


class ListQA(_Record):
    """ "List every character who knows ...": the names that must and must not appear."""

    question: str = Text
    correct_answer: list[str] = Field(min_length=1)
    wrong_answer: list[str] = Field(default_factory=list)
    missed_info_accessibility: Scenario | None = None


class BinaryQA(_Record):
    """ "Does X know ...": yes, no, or no:long (no, shown only by the full conversation)."""

    question: str = Text
    correct_answer: Literal["yes", "no", "no:long"]
    missed_info_accessibility: Scenario | None = None


class FantomSet(_Record):
    """One published question set."""

    set_id: str = Field(pattern=r"^[^-\s]+-[^-\s]+-[^-\s]+$")
    short_context: str = Text
    full_context: str = Text
    factQA: FactQA  # the published field names
    beliefQAs: list[BeliefQA] = Field(default_factory=list)
    answerabilityQA_list: ListQA | None = None
    answerabilityQAs_binary: list[BinaryQA] = Field(default_factory=list)
    infoAccessibilityQA_list: ListQA | None = None
    infoAccessibilityQAs_binary: list[BinaryQA] = Field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        """The conversation this set belongs to."""
        return self.set_id.split("-")[0]

    @property
    def part_id(self) -> str:
        """The conversation part this set belongs to."""
        return "-".join(self.set_id.split("-")[:2])


class FantomQuestion(BaseModel):
    """One question as asked: its prompt, gold and what the scores group it by."""

    model_config = ConfigDict(extra="forbid")

    id: str
    set_id: str
    conversation_id: str
    part_id: str
    kind: Kind
    question_type: str = Field(description="FanToM's type, e.g. tom:belief:inaccessible:multiple-choice")
    scenario: Scenario | None = Field(None, description="None for the fact question")
    tom_type: str | None = None
    question: str = Field(description="the question alone (the prompt adds the conversation)")
    prompt: str
    correct: str | list[str] = Field(description="gold text, gold names, or (choice) the gold letter")
    wrong: str | list[str] = ""
    choices: list[str] = Field(default_factory=list, description="choice questions: the options as shown")


def data_file(path: Path) -> Path:
    """The published file: ``path`` itself, or ``fantom_v1.json`` in it (or in its ``fantom/`` folder)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise BenchmarkError(f"{path}: no such file or folder")
    for candidate in (path / DATA_FILE, path / "fantom" / DATA_FILE, path / "data" / "fantom" / DATA_FILE):
        if candidate.is_file():
            return candidate
    own = sorted(path.glob("*.json"))
    if len(own) == 1:
        return own[0]
    raise BenchmarkError(
        f"{path}: no {DATA_FILE} here (FanToM's release unpacks to fantom/{DATA_FILE}); give the file itself"
    )


def load_fantom(path: str | Path) -> list[FantomSet]:
    """Read and validate the published sets; a bad record names the file, record and field."""
    file = data_file(Path(path))
    sets: list[FantomSet] = []
    seen: set[str] = set()
    for row in read_json(file):
        try:
            record = FantomSet.model_validate(row.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or None
            raise BenchmarkFormatError(
                file, first.get("msg", str(exc)), where=row.where, field=field
            ) from None
        if record.set_id in seen:
            raise BenchmarkFormatError(
                file, f"set_id {record.set_id!r} occurs twice", where=row.where, field="set_id"
            )
        seen.add(record.set_id)
        sets.append(record)
    if not sets:
        raise BenchmarkError(f"{file}: no FanToM sets")
    return sets


# -- the prompts of FanToM's evaluation --------------------------------------------------------------


def _ask(context: str, question: str) -> str:
    return f"{context}\n\nQuestion: {question}\nAnswer:"


def choice_prompt(context: str, question: str, choices: list[str]) -> str:
    """The two-way belief question: lettered options, then the request to choose."""
    options = "\n".join(f"({letter}) {text}" for letter, text in zip(CHOICE_LETTERS, choices, strict=True))
    return f"{context}\n\nQuestion: {question}\n{options}\n\nChoose an answer from above:"


def _accessibility(declared: Scenario | None, inaccessible: bool, context: ContextType) -> Scenario:
    """A list/binary question's scenario: as declared (short input), or derived (full input, or undeclared)."""
    if context == "full" or declared is None:
        return "inaccessible" if inaccessible else "accessible"
    return declared


def flatten(sets: list[FantomSet], *, context: ContextType = "short", seed: int = 99) -> list[FantomQuestion]:
    """Every question of ``sets`` in FanToM's order (fact, beliefs with their choice form, lists, binaries)."""
    if context not in ("short", "full"):
        raise ValueError(f"context must be 'short' or 'full', got {context!r}")
    questions: list[FantomQuestion] = []
    for s in sets:
        text = (s.short_context if context == "short" else s.full_context).strip()
        base = {"set_id": s.set_id, "conversation_id": s.conversation_id, "part_id": s.part_id}
        fact_q, fact_a = s.factQA.question, s.factQA.correct_answer
        questions.append(FantomQuestion(
            id=f"{s.set_id}/fact", kind="fact", question_type="fact", question=fact_q, prompt=_ask(text, fact_q),
            correct=fact_a, **base,
        ))  # fmt: skip
        for i, b in enumerate(s.beliefQAs):
            shared = {"scenario": b.missed_info_accessibility, "tom_type": b.tom_type, **base}
            questions.append(FantomQuestion(
                id=f"{s.set_id}/belief/{i}", kind="belief_dist", question_type=b.question_type,
                question=b.question, prompt=_ask(text, b.question), correct=b.correct_answer, wrong=b.wrong_answer,
                **shared,
            ))  # fmt: skip
            last = random.Random(f"{seed}\x1f{s.set_id}\x1f{i}").choice([True, False])
            choices = [b.wrong_answer, b.correct_answer] if last else [b.correct_answer, b.wrong_answer]
            questions.append(FantomQuestion(
                id=f"{s.set_id}/belief/{i}/choice", kind="belief_choice",
                question_type=f"{b.question_type}:multiple-choice", question=b.question,
                prompt=choice_prompt(text, b.question, choices), correct=CHOICE_LETTERS[1 if last else 0],
                wrong=CHOICE_LETTERS[0 if last else 1], choices=choices, **shared,
            ))  # fmt: skip
        blocks = (
            ("answerability", s.answerabilityQA_list, s.answerabilityQAs_binary, f"Target: {fact_q}"),
            (
                "info",
                s.infoAccessibilityQA_list,
                s.infoAccessibilityQAs_binary,
                f"Information: {fact_q} {fact_a}",
            ),
        )
        for name, listed, binaries, lead in blocks:
            published = "answerability" if name == "answerability" else "info_accessibility"
            if listed is not None:
                questions.append(FantomQuestion(
                    id=f"{s.set_id}/{name}/list", kind=f"{name}_list", question_type=f"tom:{published}:list",
                    scenario=_accessibility(listed.missed_info_accessibility, bool(listed.wrong_answer), context),
                    question=listed.question, prompt=f"{text}\n\n{lead}\nQuestion: {listed.question}\nAnswer:",
                    correct=listed.correct_answer, wrong=listed.wrong_answer, **base,
                ))  # fmt: skip
            any_no = any(q.correct_answer != "yes" for q in binaries)
            for i, q in enumerate(binaries):
                if context == "short" and q.correct_answer == "no:long":
                    continue
                questions.append(FantomQuestion(
                    id=f"{s.set_id}/{name}/binary/{i}", kind=f"{name}_binary", question_type=f"tom:{published}:binary",
                    scenario=_accessibility(q.missed_info_accessibility, any_no, context),
                    question=q.question, prompt=f"{text}\n\n{lead}\nQuestion: {q.question} Answer yes or no.\nAnswer:",
                    correct=q.correct_answer, **base,
                ))  # fmt: skip
    return questions
