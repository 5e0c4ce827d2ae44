"""The one reader of JSON in model text (agents.json_text), as its three users meet it."""

from __future__ import annotations

import json

import pytest

from agents.json_text import JSONTextError, fenced_blocks, json_objects, json_value
from agents.llm import parse_action
from envs.types import ActionType
from eval.judge import JudgementError, parse_judgement, resolve_dimensions
from training.rewards import parse_judge_score


def test_json_value_reads_the_whole_reply_or_the_first_object() -> None:
    assert json_value('```json\n{"a": {"b": 1}}\n```') == {"a": {"b": 1}}
    assert json_value('Verdict: {"a": {"b": [1, 2]}} and then {"c": 3}') == {"a": {"b": [1, 2]}}
    assert json_value("[1, 2]") == [1, 2]
    with pytest.raises(JSONTextError, match="no JSON object"):
        json_value("no braces at all")
    with pytest.raises(JSONTextError, match=r"malformed JSON: .* at position \d+"):
        json_value('prefix {"a": {"b": 1}, oops} suffix')


def test_json_objects_finds_nested_and_lenient_objects_in_order() -> None:
    text = 'x {"outer": {"inner": 1}} y {"z": 2}'
    assert json_objects(text) == [{"outer": {"inner": 1}}, {"inner": 1}, {"z": 2}]
    python_style = "{'action_type': 'speak', 'argument': 'hi', 'done': True,}"
    assert json_objects(python_style) == []
    assert json_objects(python_style, lenient=True) == [
        {"action_type": "speak", "argument": "hi", "done": True}
    ]
    assert fenced_blocks("```json\n{}\n```\n```\n```") == ["{}"]


def test_every_user_reads_a_nested_object() -> None:
    # the reward judge's reply with a nested object (a non-greedy regex cut it at the inner brace)
    assert parse_judge_score('Grade: {"why": {"grounded": true}, "score": 7} thanks') == 7.0
    goal = resolve_dimensions("goal")
    reply = 'Here: {"agent_1": {"goal": {"reasoning": "ok", "score": 6}}, "agent_2": {"goal": 3}}'
    scores = parse_judgement(reply, ["Ada", "Ben"], goal)
    assert (scores["Ada"]["goal"].score, scores["Ben"]["goal"].score) == (6, 3)
    with pytest.raises(JudgementError, match="malformed JSON"):
        parse_judgement('{"agent_1": {"goal": 3},', ["Ada", "Ben"], goal)
    action, fallback = parse_action(
        'Sure: {"output": {"action_type": "speak", "argument": "Hello"}}', list(ActionType)
    )
    assert (action.action_type, action.argument, fallback) == (ActionType.speak, "Hello", False)


def test_a_raw_newline_inside_a_string_is_read_as_written() -> None:
    """llama-cpp-python's JSON grammars let a model write a raw newline inside a string (its
    ``char`` rule is ``[^"\\\\]``); such a reply is still one unambiguous object for every reader."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from agents.prompts import action_schema

    assert '[^"\\\\]' in json_schema_to_gbnf(json.dumps(action_schema(list(ActionType))))
    reply = '{ "action_type": "speak","argument": "Fine.\nSee you." } '
    action, fallback = parse_action(reply, list(ActionType), name="Mia Chen")
    assert (action.argument, fallback) == ("Fine.\nSee you.", False)
    goal = resolve_dimensions("goal")
    verdict = '{"agent_1": {"goal": ["kept\nits word", 6]}, "agent_2": {"goal": ["no", 3]}}'
    scores = parse_judgement(verdict, ["Ada", "Ben"], goal)
    assert (scores["Ada"]["goal"].reasoning, scores["Ada"]["goal"].score) == ("kept\nits word", 6)
    assert json_value('```json\n{"why": "a\tb"}\n```') == {"why": "a\tb"}
