"""Hand-made setups and tiny test agents shared by the env and runner tests (plus checks of the helpers' spaces)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import yaml

from envs.social import UnicodeText
from envs.types import ActionType, AgentAction, Observation, Turn
from scenarios.schema import (
    AgentProfile,
    EpisodeSetup,
    Goal,
    Personality,
    Relationship,
    RelationshipType,
    Scenario,
)

FIRST_NAMES = ["Alice", "Bruno", "Chiara", "Dev"]


def profile(index: int) -> AgentProfile:
    """A character whose every private or semi-private field carries a findable marker."""
    first = FIRST_NAMES[index]
    tag = first.upper()
    return AgentProfile(
        id=f"char-{first.lower()}",
        first_name=first,
        last_name="Tester",
        age=30 + index,
        occupation=f"OCCUPATION-{tag}",
        gender="woman" if index % 2 == 0 else "man",
        pronouns="she/her" if index % 2 == 0 else "he/him",
        public_info=f"PUBLIC-{tag}",
        personality=Personality(
            values=[f"VALUES-{tag}"],
            moral_values=[f"MORAL-{tag}"],
            decision_style=f"DECISION-{tag}",
            mbti="INTJ" if index % 2 == 0 else "ENFP",
            summary=f"PERSONALITY-{tag}",
        ),
        secret=f"SECRET-{tag}",
    )


def goal(index: int) -> Goal:
    """A goal with all four parts marked."""
    tag = FIRST_NAMES[index].upper()
    return Goal(
        text=f"GOAL-{tag}",
        extra_info=f"EXTRA-{tag}",
        strategy_hint=f"HINT-{tag}",
        clarification_hint=f"CLARIFY-{tag}",
    )


def make_setup(
    relationship: RelationshipType = RelationshipType.friend,
    *,
    roles: int = 2,
    max_turns: int = 6,
    first: int = 0,
    background: str = "HISTORY-SHARED",
    seed: int | None = 7,
) -> EpisodeSetup:
    """A setup of ``roles`` marked characters starting with ``FIRST_NAMES[first]``."""
    people = [profile((first + i) % len(FIRST_NAMES)) for i in range(roles)]
    scenario = Scenario(
        id=f"test-scenario-{roles}",
        setting="SETTING: two neighbours meet in the stairwell of their building.",
        goals=[goal((first + i) % len(FIRST_NAMES)) for i in range(roles)],
        relationship=relationship,
        max_turns=max_turns,
    )
    return EpisodeSetup(
        scenario=scenario,
        agents=people,
        relationship=Relationship(
            agents=(people[0].id, people[1].id), type=relationship, background=background
        ),
        seed=seed,
    )


def speak(text: str) -> AgentAction:
    """A speech act."""
    return AgentAction(action_type=ActionType.speak, argument=text)


LEAVE = AgentAction(action_type=ActionType.leave)
NONE = AgentAction(action_type=ActionType.none)


class ScriptAgent:
    """Plays ``lines`` in order (then leaves); optional delay per act, a failure at one turn, and turn records."""

    def __init__(
        self,
        lines: Sequence[AgentAction | str],
        *,
        delay_s: float = 0.0,
        fail_on_call: int | None = None,
        spec: str = "test-script",
    ) -> None:
        self.lines = [speak(x) if isinstance(x, str) else x for x in lines]
        self.delay_s = delay_s
        self.fail_on_call = fail_on_call
        self.spec = spec
        self.name = ""
        self.calls = 0
        self.observations: list[Observation] = []
        self._last: Turn | None = None

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Rewind."""
        self.name = name
        self.calls = 0
        self.observations = []
        self._last = None

    async def act(self, observation: Observation) -> AgentAction:
        """The next line (after the delay), or an error on the configured call."""
        self.observations.append(observation)
        call = self.calls
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_on_call is not None and call == self.fail_on_call:
            self._last = Turn(index=observation.turn, agent=self.name, action=NONE, raw_text="UNPARSABLE")
            raise RuntimeError(f"scripted failure on call {call}")
        action = self.lines[call] if call < len(self.lines) else LEAVE
        self._last = Turn(
            index=observation.turn,
            agent=self.name,
            action=action,
            raw_text=f"RAW<{action.argument}>",
            prompt_tokens=10 + call,
            completion_tokens=3,
        )
        return action

    def last_turn_record(self) -> Turn | None:
        """The record of the last act."""
        return self._last


def write_library(folder: Path) -> Path:
    """A small scenario file (4 characters, 3 relationships, 2 scenarios) usable without the built-in library."""
    people = [profile(i).model_dump(mode="json") for i in range(4)]
    document = {
        "characters": people,
        "relationships": [
            {"agents": ["char-alice", "char-bruno"], "type": "friend", "background": "HISTORY-AB"},
            {"agents": ["char-chiara", "char-dev"], "type": "friend", "background": "HISTORY-CD"},
            {"agents": ["char-alice", "char-chiara"], "type": "acquaintance"},
        ],
        "scenarios": [
            {
                "id": "test-friends-favour",
                "setting": "SETTING: one friend asks another for a favour.",
                "goals": [
                    "Get help moving on Saturday.",
                    "Keep your Saturday free without hurting the friendship.",
                ],
                "relationship": "friend",
                "max_turns": 6,
                "tags": ["hard"],
            },
            {
                "id": "test-strangers-seat",
                "setting": "SETTING: two strangers want the same seat on a train.",
                "goals": ["Get the window seat.", "Keep the window seat."],
                "relationship": "stranger",
                "max_turns": 4,
            },
        ],
    }
    path = folder / "test_library.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_unicode_text_accepts_any_string_within_bounds() -> None:
    space = UnicodeText(10, min_length=1)
    assert space.contains("héllo, 世界!")
    assert space.contains("a")
    assert not space.contains("")
    assert not space.contains("x" * 11)
    assert not space.contains(b"bytes")
    sample = space.sample()
    assert space.contains(sample)


def test_make_setup_markers_are_distinct() -> None:
    setup = make_setup(roles=3)
    assert setup.agent_names == ["Alice Tester", "Bruno Tester", "Chiara Tester"]
    assert setup.scenario.goals[1].for_agent() == "GOAL-BRUNO EXTRA-BRUNO Hint: HINT-BRUNO"
