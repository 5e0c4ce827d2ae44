"""ScriptedAgent: deterministic acts, then the chosen ending."""

from __future__ import annotations

import pytest

from agents.base import AgentCallError
from agents.scripted import ScriptedAgent, parse_line
from envs.types import ActionType, AgentAction, Observation


def obs(turn: int, available: list[ActionType] | None = None) -> Observation:
    return Observation(agent="Leo", text="...", turn=turn, available_actions=available or list(ActionType))


def test_parse_line_forms() -> None:
    assert parse_line("Hello") == AgentAction(action_type=ActionType.speak, argument="Hello")
    assert parse_line("[action] opens the window") == AgentAction(
        action_type=ActionType.action, argument="opens the window"
    )
    assert parse_line("[non-verbal] smiles").action_type is ActionType.non_verbal
    assert parse_line("[leave]") == AgentAction(action_type=ActionType.leave)
    with pytest.raises(ValueError, match="unknown action type"):
        parse_line("[juggle] three balls")


async def test_plays_lines_then_leaves_and_reset_rewinds() -> None:
    agent = ScriptedAgent(["Hi", "[action] waves"])
    acts = [await agent.act(obs(t)) for t in range(3)]
    assert [a.action_type for a in acts] == [ActionType.speak, ActionType.action, ActionType.leave]
    record = agent.last_turn_record()
    assert record.index == 2 and record.action.action_type is ActionType.leave
    agent.reset(None, "Leo")  # type: ignore[arg-type]
    assert (await agent.act(obs(0))).argument == "Hi"


async def test_then_repeat_none_and_error() -> None:
    repeat = ScriptedAgent(["a", "b"], then="repeat")
    assert [(await repeat.act(obs(t))).argument for t in range(5)] == ["a", "b", "a", "b", "a"]
    idle = ScriptedAgent([], then="none")
    assert (await idle.act(obs(0))).action_type is ActionType.none
    strict = ScriptedAgent(["only"], then="error")
    await strict.act(obs(0))
    with pytest.raises(AgentCallError, match="script ended"):
        await strict.act(obs(1))
    with pytest.raises(ValueError):
        ScriptedAgent([], then="repeat")


async def test_unavailable_act_is_mapped_and_flagged() -> None:
    agent = ScriptedAgent(["[leave]"])
    act = await agent.act(obs(0, [ActionType.speak, ActionType.none]))
    assert act.action_type is ActionType.none
    assert agent.last_turn_record().parse_fallback is True
