"""The tolerant action parser on awkward model outputs."""

from __future__ import annotations

import pytest

from agents.llm import EmptyOutputError, action_type_from_text, fit_to_available, parse_action
from envs.types import ActionType, AgentAction

ALL = list(ActionType)
SPEAK = ActionType.speak
NV = ActionType.non_verbal


def test_clean_json_is_not_a_fallback() -> None:
    action, fallback = parse_action('{"action_type": "speak", "argument": "Hello there."}', ALL)
    assert action == AgentAction(action_type=SPEAK, argument="Hello there.")
    assert fallback is False


def test_json_inside_fences_with_trailing_text() -> None:
    text = 'Sure! Here is my move:\n```json\n{"action_type": "action", "argument": "opens the door"}\n```\nHope that helps.'
    action, fallback = parse_action(text, ALL)
    assert (action.action_type, action.argument, fallback) == (ActionType.action, "opens the door", False)


def test_trailing_text_without_fences() -> None:
    action, fallback = parse_action('{"action_type": "leave", "argument": ""} I am done here.', ALL)
    assert (action.action_type, fallback) == (ActionType.leave, False)


def test_single_quotes_and_trailing_comma() -> None:
    action, fallback = parse_action("{'action_type': 'speak', 'argument': \"I'm fine, thanks\",}", ALL)
    assert (action.action_type, action.argument, fallback) == (SPEAK, "I'm fine, thanks", False)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Speak", SPEAK),
        ("SAY", SPEAK),
        ("talk", SPEAK),
        ("non-verbal", NV),
        ("nonverbal", NV),
        ("Non-Verbal Communication", NV),
        ("non_verbal_communication", NV),
        ("ActionType.leave", ActionType.leave),
        ("action", ActionType.action),
        ("none", ActionType.none),
        ("dance", None),
    ],
)
def test_action_type_words(word: str, expected: ActionType | None) -> None:
    assert action_type_from_text(word) == expected


def test_synonym_and_case_in_json() -> None:
    action, fallback = parse_action('{"Action_Type": "Say", "Argument": "Hi!"}', ALL)
    assert (action.action_type, action.argument, fallback) == (SPEAK, "Hi!", False)
    action, _ = parse_action('{"action_type": "nonverbal", "argument": "nods"}', ALL)
    assert action == AgentAction(action_type=NV, argument="nods")


def test_missing_argument_and_type_as_key() -> None:
    action, fallback = parse_action('{"action_type": "leave"}', ALL)
    assert (action, fallback) == (AgentAction(action_type=ActionType.leave), False)
    action, fallback = parse_action('{"say": "Good morning"}', ALL)
    assert (action, fallback) == (AgentAction(action_type=SPEAK, argument="Good morning"), False)


def test_unknown_type_with_text_is_speech_with_fallback() -> None:
    action, fallback = parse_action('{"action_type": "dance", "argument": "Shall we dance?"}', ALL)
    assert (action.action_type, action.argument, fallback) == (SPEAK, "Shall we dance?", True)


def test_cut_off_json_is_recovered_with_fallback() -> None:
    action, fallback = parse_action('{"action_type": "speak", "argument": "I was wondering whether', ALL)
    assert (action.action_type, action.argument, fallback) == (SPEAK, "I was wondering whether", True)


def test_plain_text_becomes_speech_with_fallback() -> None:
    action, fallback = parse_action('Alice Smith said: "Could you lend me the car?"', ALL, name="Alice Smith")
    assert (action.action_type, action.argument, fallback) == (SPEAK, "Could you lend me the car?", True)


def test_plain_text_is_clean_speech_when_allowed() -> None:
    action, fallback = parse_action("Nice to meet you.", ALL, speech_ok=True)
    assert (action, fallback) == (AgentAction(action_type=SPEAK, argument="Nice to meet you."), False)


@pytest.mark.parametrize("text", ["", "   \n", "```json\n```", None, "..."])
def test_empty_output_raises(text: str | None) -> None:
    with pytest.raises(EmptyOutputError):
        parse_action(text, ALL)


def test_unavailable_type_is_mapped_with_fallback() -> None:
    available = [SPEAK, ActionType.none]
    action, fallback = parse_action('{"action_type": "action", "argument": "waves"}', available)
    assert (action.action_type, action.argument, fallback) == (SPEAK, "waves", True)
    action, fallback = parse_action('{"action_type": "leave", "argument": ""}', available)
    assert (action.action_type, fallback) == (ActionType.none, True)


def test_fit_to_available_keeps_available_acts() -> None:
    act = AgentAction(action_type=NV, argument="smiles")
    assert fit_to_available(act, ALL) == (act, False)
    mapped, changed = fit_to_available(act, [ActionType.action, ActionType.leave])
    assert (mapped.action_type, mapped.argument, changed) == (ActionType.action, "smiles", True)


def test_first_action_object_wins_over_nested_noise() -> None:
    text = 'Thinking {"mood": "calm"} then {"action_type": "speak", "argument": "Okay."}'
    action, fallback = parse_action(text, ALL)
    assert (action.argument, fallback) == ("Okay.", False)
