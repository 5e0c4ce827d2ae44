"""HumanAgent driven through injected streams."""

from __future__ import annotations

import io

import pytest

from agents.base import AgentCallError
from agents.human import HumanAgent
from envs.types import ActionType, AgentAction, Observation

OPENING = "Scenario: a quiet cafe.\nYour goal: borrow a book."


def obs(text: str = OPENING, turn: int = 0, available: list[ActionType] | None = None) -> Observation:
    return Observation(agent="Ana", text=text, turn=turn, available_actions=available or list(ActionType))


def human(lines: str) -> tuple[HumanAgent, io.StringIO]:
    out = io.StringIO()
    return HumanAgent(stdin=io.StringIO(lines), stdout=out), out


async def test_number_then_text() -> None:
    agent, out = human("1\nMay I borrow your book?\n")
    action = await agent.act(obs())
    assert action == AgentAction(action_type=ActionType.speak, argument="May I borrow your book?")
    shown = out.getvalue()
    assert "quiet cafe" in shown and "non-verbal communication" in shown and "leave" in shown
    record = agent.last_turn_record()
    assert record.raw_text == "May I borrow your book?" and record.index == 0


async def test_blank_choice_defaults_to_speak_and_names_work() -> None:
    agent, _ = human("\nHello!\nnonverbal\nwaves\nleave\n")
    assert (await agent.act(obs())).action_type is ActionType.speak
    assert await agent.act(obs(turn=1)) == AgentAction(action_type=ActionType.non_verbal, argument="waves")
    assert (await agent.act(obs(turn=2))).action_type is ActionType.leave


async def test_invalid_choice_and_empty_text_ask_again() -> None:
    agent, out = human("9\njuggle\n1\n\n2\nnods\n")
    action = await agent.act(obs())
    assert action == AgentAction(action_type=ActionType.non_verbal, argument="nods")
    assert "Not an available action" in out.getvalue() and "Nothing typed" in out.getvalue()


async def test_unavailable_names_are_refused() -> None:
    agent, _ = human("leave\nspeak\nHi\n")
    action = await agent.act(obs(available=[ActionType.speak, ActionType.none]))
    assert action == AgentAction(action_type=ActionType.speak, argument="Hi")


async def test_only_new_text_is_shown_next_turn() -> None:
    agent, out = human("1\nHi\n1\nBye\n")
    await agent.act(obs())
    before = len(out.getvalue())
    await agent.act(obs(OPENING + '\nTurn #1: Ben said: "Hello Ana"', turn=2))
    second = out.getvalue()[before:]
    assert "Hello Ana" in second and "quiet cafe" not in second


async def test_end_of_input_raises_agent_call_error() -> None:
    agent, _ = human("1\n")
    with pytest.raises(AgentCallError, match="end of file"):
        await agent.act(obs())
    assert agent.last_turn_record() is None
