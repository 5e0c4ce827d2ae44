"""The SIP format: instructions, tolerant parser, strict checker, answer reading."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agents.sip import ANSWER_SPECS, SIP, SIP_STAGES, mcq_messages
from eval.answers import parse_choice
from eval.items import MCQItem

REPO_ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 120.0
"""How long a child process may run before it counts as hung (not a speed bound)."""

CE, CI, GC, RG = SIP_STAGES
STAGE_TEXTS = {
    CE: "Sally put the marble in the basket and went out.",
    CI: "Sally did not see Anne move it, so she still believes it is in the basket.",
    GC: "The question asks where Sally will look first.",
    RG: "Option A, the basket, fits her false belief best.",
}
VALID = SIP.render(STAGE_TEXTS, "A")

# Words for generated stage texts: none is a tag, and "cue" and "encoding" are near-marker words
# that stage_text never lets stand side by side (see there).
WORDS = st.sampled_from(
    [
        "she",
        "he",
        "saw",
        "the",
        "box",
        "left",
        "room",
        "angry",
        "because",
        "Anne",
        "Sally",
        "2.",
        "1)",
        "**",
        "maybe",
        "-",
        "#",
        "quietly",
        "believes",
        "said",
        "'no'",
        "(aside)",
        "x",
        "42",
        "goal",
        "cue",
        "encoding",
    ]
)
SEPS = st.sampled_from([" ", " ", " ", "\n", ", ", ". ", "\n\n"])


# "cue encoding", "cue - encoding" ... spell the stage name Cue Encoding (the parser's pattern is
# cue[ \t_-]*encoding). On a line of its own, after "2." / "-" / "#", or after a sentence end with a
# "-", that name IS a stage marker by the format's own rules (a bare "Cue Encoding" header line is
# accepted on purpose), so a text holding it is not plain stage text and no property about plain
# stage texts can hold for it. Such texts are left out; the near-miss words stay.
_STAGE_NAME_IN_TEXT = re.compile(r"cue[ \t_-]*encoding", re.IGNORECASE)


@st.composite
def _words_text(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, min_size=1, max_size=25))
    out = words[0]
    for w in words[1:]:
        out += draw(SEPS) + w
    text = out.strip()
    return text if any(ch.isalnum() for ch in text) else text + " ok"


def stage_text() -> st.SearchStrategy[str]:
    """A non-empty stage text: words joined by spaces, punctuation and newlines, stripped; no stage name in it."""
    return _words_text().filter(lambda text: not _STAGE_NAME_IN_TEXT.search(text))


def test_stage_names_and_order() -> None:
    assert SIP_STAGES == ("Cue Encoding", "Cue Interpretation", "Goal Clarification", "Response Generation")


def test_instructions_name_every_stage_in_order_and_both_tags() -> None:
    for task in ("mcq", "social"):
        text = SIP.instructions(task)
        positions = [text.index(f"{i}. {s}") for i, s in enumerate(SIP_STAGES, 1)]
        assert positions == sorted(positions)
        for tag in ("<think>", "</think>", "<Answer>", "</Answer>"):
            assert tag in text
    assert "letter" in SIP.instructions("mcq")
    assert ANSWER_SPECS["social"][0] in SIP.instructions("social")
    assert '"action_type"' in SIP.instructions("social")
    assert "JSON action" in SIP.instructions("social", answer_spec="Put a JSON action in the answer.")
    with pytest.raises(ValueError, match="unknown task"):
        SIP.instructions("chat")  # type: ignore[arg-type]


def test_instruction_skeleton_is_itself_well_formed_apart_from_placeholder_stages() -> None:
    skeleton = SIP.instructions("mcq").split("Shape:\n", 1)[1]
    parse = SIP.parse(skeleton)
    assert parse.order == SIP_STAGES
    assert parse.answer == "B"
    problems = SIP.check(skeleton).problems
    assert problems == [f"empty stage {s!r}" for s in SIP_STAGES]  # '...' holds no words


def _item(**kw: object) -> MCQItem:
    base = dict(
        id="t1",
        benchmark="test",
        context="Sally put a marble in the basket.",
        question="Where?",
        options=["basket", "box", "drawer"],
        answer=0,
    )
    base.update(kw)
    return MCQItem(**base)  # type: ignore[arg-type]


def test_mcq_messages_sip_and_plain() -> None:
    sip = mcq_messages(_item(), sip=True)
    assert [m["role"] for m in sip] == ["system", "user"]
    assert all(s in sip[0]["content"] for s in SIP_STAGES)
    assert "A. basket" in sip[1]["content"] and "<Answer>" in sip[1]["content"]
    assert "A, B, C" in sip[1]["content"]
    plain = mcq_messages(_item(), sip=False)
    assert "Cue Encoding" not in plain[0]["content"] + plain[1]["content"]
    assert "letter" in plain[1]["content"] and "<think>" not in plain[1]["content"]
    free = mcq_messages(_item(options=[], answer=None, answer_text="basket"), sip=True)
    assert "letter" not in free[0]["content"] and "few words" in free[1]["content"]


def test_render_rejects_wrong_stage_sets() -> None:
    with pytest.raises(ValueError, match="missing stage"):
        SIP.render({CE: "x"}, "A")
    with pytest.raises(ValueError, match="expected 4"):
        SIP.render(["a", "b"], "A")


def test_canonical_text_parses_and_checks_clean() -> None:
    p = SIP.parse(VALID)
    assert p.stages == STAGE_TEXTS
    assert p.order == SIP_STAGES
    assert p.answer == "A"
    assert p.think is not None and p.think.startswith("1. Cue Encoding:")
    check = SIP.check(VALID)
    assert check.ok and check.problems == []


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(stage_text(), min_size=4, max_size=4), answer=stage_text())
def test_round_trip_of_random_stage_texts(texts: list[str], answer: str) -> None:
    text = SIP.render(texts, answer)
    p = SIP.parse(text)
    assert [p.stages[s] for s in SIP_STAGES] == texts
    assert p.order == SIP_STAGES
    assert p.answer == answer
    assert SIP.check(text).problems == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_and_checker_never_raise_on_arbitrary_text(text: str) -> None:
    p = SIP.parse(text)
    assert set(p.stages) == set(SIP_STAGES)
    c = SIP.check(text)
    assert c.ok == (not c.problems)
    assert isinstance(SIP.parse_answer(text), str)
    parse_choice(text, ["a", "b", "c"])


FRAGMENTS = st.sampled_from(
    [
        "<think>",
        "</think>",
        "<Answer>",
        "</Answer>",
        "<answer>",
        "< /ANSWER >",
        "Cue Encoding:",
        "cue-encoding",
        "**Goal Clarification**:",
        "### 2. Cue interpretation",
        "- response generation:",
        "\n",
        " ",
        "B",
        "(b)",
        "[[C]]",
        "Answer: A",
        "basket",
        "text",
        "1.",
        ".",
        "*",
        "#",
        "<",
        ">",
        "/",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_parser_never_raises_on_tag_soup(text: str) -> None:
    p = SIP.parse(text)
    c = SIP.check(text)
    assert c.ok == (not c.problems)
    if c.ok:
        assert p.order == SIP_STAGES and p.answer
    choice = parse_choice(text, ["basket", "box", "drawer"])
    assert choice is None or 0 <= choice < 3


def test_long_pathological_input_does_not_hang() -> None:
    # Long runs of stars, dots, half tags and numbers are what make a backtracking regex blow up.
    # No speed bound is asserted (no wall-clock asserts in tests): the parse runs in a child
    # process, and only a hang fails the test; a normal run takes well under a second.
    code = (
        "from agents.sip import SIP\n"
        "text = ('*' * 5000 + '\\n') * 20 + '.' * 20000 + '<think' * 2000 + '1. ' * 5000\n"
        "SIP.parse(text)\n"
        "SIP.check(text)\n"
    )
    try:
        subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"SIP.parse/SIP.check still running after {HANG_GUARD_S:.0f} s on pathological input")


# --- tolerant parsing -------------------------------------------------------------------------------


def test_markdown_markers_and_case_variants() -> None:
    text = (
        "Sure, here goes.\n<THINK>\n**Cue Encoding**: Anne moved the ball.\n"
        "### 2. Cue interpretation\nSally did not see it.\n"
        "- goal-clarification: say where Sally looks.\n"
        "__Response Generation (choice)__ — she looks in the basket.\n"
        "</Think>\n< answer > (b) </ANSWER>\nHope that helps!"
    )
    p = SIP.parse(text)
    assert p.stages == {
        CE: "Anne moved the ball.",
        CI: "Sally did not see it.",
        GC: "say where Sally looks.",
        RG: "she looks in the basket.",
    }
    assert p.answer == "(b)"
    assert SIP.check(text).problems == ["text before <think>", "text after </Answer>"]


@pytest.mark.parametrize(
    "marker",
    [
        "Cue Encoding:",
        "1. Cue Encoding:",
        "**Cue Encoding:**",
        "**Cue Encoding**:",
        "### 1. Cue encoding",
        "- cue-encoding:",
        "Stage 1 - Cue Encoding:",
        "(1) cue_encoding -",
        "> **1) CUE ENCODING**",
        "Cue Encoding",
    ],
)
def test_each_marker_style_is_recognised(marker: str) -> None:
    text = (
        f"<think>\n{marker}\nThe ball moved.\nCue Interpretation: she is unaware.\n</think><Answer>A</Answer>"
    )
    p = SIP.parse(text)
    assert p.stages[CE] == "The ball moved."
    assert p.stages[CI] == "she is unaware."


def test_stage_words_in_prose_are_not_markers() -> None:
    text = (
        "<think>\nCue encoding is the first step, so I start.\nI did the cue interpretation quickly\n</think>"
    )
    assert SIP.parse(text).order == ()


def test_inline_stages_after_sentence_ends() -> None:
    text = "<think>Cue Encoding: she left. Cue Interpretation: she is unaware. Goal Clarification: find her.</think>"
    p = SIP.parse(text)
    assert p.stages[CE] == "she left."
    assert p.stages[CI] == "she is unaware."
    assert p.stages[GC] == "find her."


def test_missing_close_think_when_answer_follows() -> None:
    text = "<think>\n1. Cue Encoding: x happened\n4. Response Generation: pick B\n<Answer>B</Answer>"
    p = SIP.parse(text)
    assert p.think == "1. Cue Encoding: x happened\n4. Response Generation: pick B"
    assert p.stages[RG] == "pick B"
    assert p.answer == "B"
    assert "missing </think>" in SIP.check(text).problems


def test_missing_open_think_qwen_style() -> None:
    text = "Cue Encoding: she left.\n</think>\n<Answer>C</Answer>"
    p = SIP.parse(text)
    assert p.think == "Cue Encoding: she left."
    assert p.stages[CE] == "she left."
    assert p.answer == "C"
    assert "missing <think>" in SIP.check(text).problems


def test_unclosed_answer_runs_to_the_end_or_next_tag() -> None:
    assert SIP.parse("<think>x</think><Answer> B because").answer == "B because"
    p = SIP.parse("<think>x</think><Answer>B<Answer>C</Answer>")
    assert p.answer == "C"


def test_lone_close_answer_after_think() -> None:
    assert SIP.parse("<think>x</think> B </Answer>").answer == "B"


def test_answer_inside_think_is_found_but_flagged() -> None:
    text = "<think>Cue Encoding: x. <Answer>B</Answer> more</think>"
    p = SIP.parse(text)
    assert p.answer == "B"
    assert "<Answer> before </think>" in SIP.check(text).problems


def test_no_tags_stages_are_read_from_the_whole_text() -> None:
    p = SIP.parse("Cue Encoding: a\nCue Interpretation: b\nThe answer is B")
    assert p.think is None and p.answer is None
    assert p.stages[CE] == "a" and p.stages[CI] == "b\nThe answer is B"


def test_last_answer_block_wins() -> None:
    assert SIP.parse("<think>x</think><Answer>A</Answer><Answer>C</Answer>").answer == "C"


def test_instruction_quoted_inside_think_does_not_hijack_the_answer() -> None:
    text = "<think>I must put my choice in <Answer> tags.\nCue Encoding: x</think>\n<Answer>D</Answer>"
    assert SIP.parse(text).answer == "D"


# --- strict checking: one test per defect -------------------------------------------------------------

DEFECTS: dict[str, tuple[object, str]] = {
    "no_close_think": (lambda t: t.replace("</think>", ""), "missing </think>"),
    "no_open_think": (lambda t: t.replace("<think>", ""), "missing <think>"),
    "two_answers": (lambda t: t + "<Answer>B</Answer>", "more than one <Answer> block"),
    "text_after": (lambda t: t + "\nThanks!", "text after </Answer>"),
    "text_before": (lambda t: "Okay.\n" + t, "text before <think>"),
    "text_between": (
        lambda t: t.replace("</think>\n", "</think>\nSo:\n"),
        "text between </think> and <Answer>",
    ),
    "no_answer": (lambda t: t.split("<Answer>")[0], "missing <Answer>"),
    "no_close_answer": (lambda t: t.replace("</Answer>", ""), "missing </Answer>"),
    "empty_answer": (lambda t: t.split("<Answer>")[0] + "<Answer> </Answer>", "empty <Answer>"),
    "missing_gc": (lambda t: _drop_stage(t, GC), "stage 'Goal Clarification' missing"),
    "empty_ce": (lambda t: _empty_stage(t, CE), "empty stage 'Cue Encoding'"),
    "swap_ci_gc": (
        lambda t: _swap(t, CI, GC),
        "stage 'Cue Interpretation' appears after 'Goal Clarification'",
    ),
    "repeat_rg": (
        lambda t: t.replace("</think>", "Response Generation: again\n</think>"),
        "stage 'Response Generation' appears more than once",
    ),
    "stage_in_answer": (
        lambda t: t.replace("<Answer>", "<Answer>Cue Encoding: oops\n"),
        "stage 'Cue Encoding' inside <Answer>",
    ),
    "stage_outside": (
        lambda t: t + "\nGoal Clarification: late",
        "stage 'Goal Clarification' outside <think>",
    ),
    "two_thinks": (lambda t: "<think>x</think>" + t, "more than one <think>"),
}


def _lines(t: str) -> list[str]:
    return t.split("\n")


def _drop_stage(t: str, stage: str) -> str:
    return "\n".join(line for line in _lines(t) if stage not in line)


def _empty_stage(t: str, stage: str) -> str:
    # The stage's text runs up to the next stage's marker line ("\n2. Cue Interpretation:"), or to
    # </think> for the last stage. A bare "\n2. " is not enough: generated stage texts hold
    # numbered lines of their own ("she\n2. she"), and stopping there left text in the stage.
    i = SIP_STAGES.index(stage)
    stop = f"\n{i + 2}. {SIP_STAGES[i + 1]}:" if i + 1 < len(SIP_STAGES) else "\n</think>"
    return re.sub(rf"({i + 1}\. {re.escape(stage)}:).*?(?={re.escape(stop)})", r"\1", t, count=1, flags=re.S)


def _swap(t: str, a: str, b: str) -> str:
    lines = _lines(t)
    i = next(k for k, line in enumerate(lines) if a in line)
    j = next(k for k, line in enumerate(lines) if b in line)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_check_names_each_defect(defect: str) -> None:
    mutate, problem = DEFECTS[defect]
    check = SIP.check(mutate(VALID))  # type: ignore[operator]
    assert not check.ok
    assert problem in check.problems, check.problems


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(stage_text(), min_size=4, max_size=4),
    answer=stage_text(),
    defect=st.sampled_from(sorted(DEFECTS)),
)
@example(  # a stage text with a numbered line of its own: the mutation once stopped there
    texts=["she she\n2. she she she she she she", "she", "she", "she"], answer="she", defect="empty_ce"
)
def test_check_catches_defects_on_random_texts(texts: list[str], answer: str, defect: str) -> None:
    mutate, problem = DEFECTS[defect]
    check = SIP.check(mutate(SIP.render(texts, answer)))  # type: ignore[operator]
    assert problem in check.problems, check.problems


def test_reversed_stages_report_each_adjacent_inversion() -> None:
    body = "\n".join(f"{s}: text" for s in reversed(SIP_STAGES))
    problems = SIP.check(f"<think>\n{body}\n</think>\n<Answer>A</Answer>").problems
    assert problems == [
        "stage 'Cue Encoding' appears after 'Cue Interpretation'",
        "stage 'Cue Interpretation' appears after 'Goal Clarification'",
        "stage 'Goal Clarification' appears after 'Response Generation'",
    ]


def test_case_of_tags_is_accepted_by_the_checker() -> None:
    assert SIP.check(VALID.replace("<Answer>", "<answer>").replace("</Answer>", "</ANSWER>")).ok


def test_close_before_open() -> None:
    assert "</Answer> before <Answer>" in SIP.check("<think>x</think></Answer>B<Answer>").problems


# --- answers ------------------------------------------------------------------------------------------


def test_parse_answer() -> None:
    assert SIP.parse_answer(VALID) == "A"
    assert SIP.parse_answer("  just B  ") == "just B"
    assert SIP.parse_answer("<think>hmm</think>\n C ") == "C"
    assert SIP.parse_answer("<answer>\n the box \n</answer>") == "the box"


@pytest.mark.parametrize(
    ("text", "source", "answer", "reasoning_only"),
    [
        (VALID, "answer", "A", False),
        ("<think>x</think><Answer></Answer>", "answer", "", False),
        ("<think>hmm</think>\n Let's go. ", "after_think", "Let's go.", False),
        ("  Hello there ", "whole", "Hello there", False),
        ("<think>1. Cue Encoding: x", "whole", "<think>1. Cue Encoding: x", True),
        ("<think>x</think>  ", "whole", "<think>x</think>", True),
        ("Cue Encoding: x\nResponse Generation: y", "whole", "Cue Encoding: x\nResponse Generation: y", True),
    ],
)
def test_where_the_answer_is_read(text: str, source: str, answer: str, reasoning_only: bool) -> None:
    p = SIP.parse(text)
    assert (p.answer_source, p.final_answer, p.reasoning_without_answer) == (source, answer, reasoning_only)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<think>be kind</think>\n{"action_type": "leave"}', ("be kind", '\n{"action_type": "leave"}')),
        ("  <THINK>still thinking", ("still thinking", "")),
        ("<think>unclosed <Answer>hi</Answer>", ("unclosed <Answer>hi</Answer>", "")),
        ("Hello <think>x</think>", (None, "Hello <think>x</think>")),
        ("plain reply", (None, "plain reply")),
        ("< think >a</think>b", ("a", "b")),
        ("the template opened it</think>Hi!", ("the template opened it", "Hi!")),
    ],
)
def test_split_reasoning_for_plain_agents(text: str, expected: tuple[str | None, str]) -> None:
    assert SIP.split_reasoning(text) == expected


def test_checker_names_a_wrong_tag_it_does_not_accept() -> None:
    text = "<thought>\n1. Cue Encoding: x\n</thought>\n<Answer>B</Answer>"
    check = SIP.check(text)
    assert not check.ok
    assert "missing <think> (found '<thought>' instead)" in check.problems
    assert "missing </think>" in check.problems
    assert "missing <Answer>" not in " ".join(check.problems)
