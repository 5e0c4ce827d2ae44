"""Reading answers and judging them: option letters and texts, and the one free-text correctness rule."""

from __future__ import annotations

import pytest

from agents.sip import SIP
from eval.answers import free_text_correct, normalize_answer, parse_choice, parse_letter

CE, CI, GC, RG = SIP.stages
VALID = SIP.render(
    {
        CE: "Sally put the marble in the basket.",
        CI: "She believes it is there.",
        GC: "Where she looks.",
        RG: "A.",
    },
    "A",
)


def test_normalize_answer() -> None:
    assert normalize_answer("  Red_Bucket. ") == "red bucket"
    assert normalize_answer("Sally’s  BOX!") == "sally's box"
    assert normalize_answer("...") == ""


# ToM-RL / Hi-ToM golds are short location phrases ("red_bucket", "box", "plastic storage bin");
# these are the shapes of the replies models give to them.
@pytest.mark.parametrize(
    ("answer", "gold", "correct"),
    [
        ("red_bucket", "red_bucket", True),
        ("the red bucket", "red_bucket", True),
        ("It is in the Red bucket.", "red_bucket", True),
        ("Sally thinks Anne thinks the pear is in the red_bucket", "red_bucket", True),
        ("plastic storage bin", "plastic storage bin", True),
        ("in the green box or in the red bucket", "green_box", False),  # hedging never pays
        ("box or crate", "box", False),
        ("red bucket, because Anne moved it", "red_bucket", False),  # the answer ends with the location
        ("red bucketful", "red_bucket", False),
        ("cardboard box", "box", True),  # no ToM-RL story names one location inside another
        ("kitchenette", "kitchen", False),
        ("box", "the box", True),
        ("a box", "box", True),
        ("", "red_bucket", False),
        ("anything", "", False),
    ],
)
def test_free_text_rule(answer: str, gold: str, correct: bool) -> None:
    assert free_text_correct(answer, gold) is correct


def test_parse_letter_bounds() -> None:
    assert parse_letter("(b)", 2) == 1
    assert parse_letter("C", 2) is None
    assert parse_letter("Option A is wrong; option B is right", 4) is None


OPTS = ["in the basket", "in the box", "on the table", "under the bed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", 1),
        ("b", 1),
        ("(b)", 1),
        ("[[B]]", 1),
        ("Answer: B", 1),
        ("b)", 1),
        ("B.", 1),
        ("**C**", 2),
        ("The answer is D.", 3),
        ("final answer: (c)", 2),
        ("B) in the box", 1),
        ("(A) in the basket", 0),
        ("C. on the table", 2),
        ("My choice is [[D]] because she hid it.", 3),
        ("answer is B, since Anne moved it", 1),
        ("B, because Anne moved it", 1),
        ("D - under the bed", 3),
        ("in the box", 1),
        ("  IN THE   BOX ", 1),
        ("She will look in the basket.", 0),
        ("the table", 2),
        (VALID, 0),
        ("<think>It is B? No.</think><Answer>D</Answer>", 3),
        ("E", None),
        ("", None),
        ("no idea", None),
        ("in the basket or in the box", None),
        ("Option A is wrong; option B is right", None),
        ("in the", None),
        ("I think so", None),
    ],
)
def test_parse_choice(text: str, expected: int | None) -> None:
    assert parse_choice(text, OPTS) == expected


def test_parse_choice_prefers_the_longest_nested_option() -> None:
    opts = ["Sally", "Sally's mother", "Anne"]
    assert parse_choice("Sally's mother", opts) == 1
    assert parse_choice("It was Sally's mother who knew", opts) == 1
    assert parse_choice("Sally and Anne", opts) is None


def test_parse_choice_duplicate_options_are_ambiguous_and_no_options_gives_none() -> None:
    assert parse_choice("yes", ["Yes", "yes "]) is None
    assert parse_choice("B", []) is None


def test_a_recited_option_list_is_not_an_answer() -> None:
    options = ["green basket", "red box", "blue crate"]
    assert parse_choice("A. green basket\nB. red box\nC. blue crate", options) is None


def test_a_letter_whose_text_names_another_option_is_unclear() -> None:
    options = ["green basket", "red box", "blue crate"]
    assert parse_choice("A. red box", options) is None
    assert parse_choice("(c) box", options) is None
    assert parse_choice("B. red box", options) == 1
    assert parse_choice("B. the red one, not the green basket or blue crate", options) == 1
    assert parse_choice("B, because Anne moved it", options) == 1
    assert parse_choice("<Answer>(a) green basket\n(b) red box</Answer>", options) is None
    assert parse_choice("A. green basket", options) == 0
    assert parse_choice("B", options) == 1
    assert parse_choice("The answer is C. It was moved there.", options) == 2
