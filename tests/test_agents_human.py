"""HumanAgent driven through injected streams; RemoteHumanAgent driven through submit (the web app's path)."""

from __future__ import annotations

import asyncio
import io

import pytest

from agents.base import AgentCallError
from agents.human import ActRejected, HumanAgent, RemoteHumanAgent
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


async def test_remote_player_acts_through_submit() -> None:
    changes: list[bool] = []
    agent = RemoteHumanAgent(name="Ana")
    agent.on_change = lambda: changes.append(agent.waiting is not None)
    with pytest.raises(ActRejected, match="not your turn"):
        agent.submit("speak", "too early")
    pending = asyncio.create_task(agent.act(obs(turn=2, available=[ActionType.speak, ActionType.leave])))
    await asyncio.sleep(0)
    assert agent.waiting is not None and agent.waiting.turn == 2 and changes == [True]
    with pytest.raises(ActRejected, match="turn 1"):
        agent.submit("speak", "stale form", turn=1)
    with pytest.raises(ActRejected, match="not an available action"):
        agent.submit("action", "opens the window", turn=2)
    with pytest.raises(ActRejected, match="Type some text"):
        agent.submit("speak", "   ", turn=2)
    assert agent.submit("speak", " Hello there ", turn=2) == AgentAction(
        action_type=ActionType.speak, argument="Hello there"
    )
    with pytest.raises(ActRejected):  # sent twice: the second is not played
        agent.submit("speak", "Hello there", turn=2)
    assert await pending == AgentAction(action_type=ActionType.speak, argument="Hello there")
    assert agent.waiting is None and changes == [True, False]
    record = agent.last_turn_record()
    assert record is not None and record.index == 2 and record.raw_text == "Hello there"


async def test_remote_player_who_gives_up_or_times_out_fails_the_act() -> None:
    agent = RemoteHumanAgent(name="Ana")
    pending = asyncio.create_task(agent.act(obs()))
    await asyncio.sleep(0)
    agent.give_up("the server stopped")
    with pytest.raises(AgentCallError, match="the server stopped"):
        await pending
    quiet = RemoteHumanAgent(name="Ana", timeout_s=0.01)
    with pytest.raises(AgentCallError, match="no act from the player"):
        await quiet.act(obs())
    assert quiet.waiting is None and quiet.last_turn_record() is None
