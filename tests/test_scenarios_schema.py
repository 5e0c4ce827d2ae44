"""The scenario schema: what is accepted, what is rejected, and the small behaviours on the models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scenarios import (
    AgentProfile,
    AgeRange,
    EpisodeSetup,
    Goal,
    Pairing,
    Relationship,
    RelationshipType,
    RoleConstraint,
    Scenario,
)


def _person(agent_id: str = "ana", age: int = 30, occupation: str = "Nurse") -> AgentProfile:
    return AgentProfile(
        id=agent_id, first_name=agent_id.title(), age=age, occupation=occupation, gender="woman", pronouns="she/her"
    )


def _scenario(**overrides: object) -> Scenario:
    data: dict[str, object] = {
        "id": "split_bill",
        "setting": "Two friends split a restaurant bill.",
        "goals": ["Pay as little as possible", "Split the bill fairly"],
        "relationship": "friend",
    }
    data.update(overrides)
    return Scenario.model_validate(data)


def test_valid_scenario_has_defaults() -> None:
    scenario = _scenario()
    assert scenario.num_roles == 2
    assert scenario.relationship is RelationshipType.friend
    assert scenario.max_turns == 20
    assert not scenario.is_hard
    assert _scenario(tags=["hard"]).is_hard


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        _scenario(settings="typo")
    assert info.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"goals": ["only one"]}, "goals"),
        ({"relationship": "enemies"}, "relationship"),
        ({"id": "has space"}, "id"),
        ({"codename": "Not Snake"}, "codename"),
        ({"max_turns": 0}, "max_turns"),
        ({"setting": "   "}, "setting"),
    ],
)
def test_invalid_scenario_fields(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _scenario(**overrides)
    assert field in {str(err["loc"][0]) for err in info.value.errors()}


def test_role_constraints_must_match_roles() -> None:
    with pytest.raises(ValidationError, match="one constraint per role"):
        _scenario(role_constraints=[{}])


def test_goal_from_plain_string_and_views() -> None:
    goal = Goal.model_validate("Get a discount")
    assert goal.text == "Get a discount"
    full = Goal(text="Sell high", extra_info="It cost you $50.", strategy_hint="Anchor first.", clarification_hint="Above $60 wins.")
    assert "Anchor first." in full.for_agent()
    assert "Anchor first." not in full.for_agent(show_hints=False)
    assert "It cost you $50." in full.for_agent(show_hints=False)
    assert "Above $60 wins." not in full.for_agent()
    assert "Above $60 wins." in full.for_judge()


def test_relationship_levels_and_distinct_agents() -> None:
    assert [t.level for t in RelationshipType] == [0, 1, 2, 3, 4, 5]
    assert RelationshipType.from_level("4") is RelationshipType.romantic
    with pytest.raises(ValueError):
        RelationshipType.from_level(6)
    with pytest.raises(ValidationError, match="two different characters"):
        Relationship(agents=("ana", "ana"), type="friend")


def test_role_constraint_admits() -> None:
    constraint = RoleConstraint(age=AgeRange(min=18, max=40), occupations=["nurse", "Doctor"])
    assert constraint.admits(_person(age=30, occupation="Nurse"))
    assert constraint.admits(_person(age=18, occupation="doctor"))
    assert not constraint.admits(_person(age=41, occupation="Nurse"))
    assert not constraint.admits(_person(age=30, occupation="Chef"))
    assert RoleConstraint().admits(_person(age=5, occupation="Chef"))
    with pytest.raises(ValidationError, match="greater than max"):
        AgeRange(min=50, max=20)


def test_scenario_admits_by_role() -> None:
    scenario = _scenario(role_constraints=[{"age": {"min": 18}}, {}])
    child = _person("kid", age=12)
    assert not scenario.admits(0, child)
    assert scenario.admits(1, child)


def test_episode_setup_consistency() -> None:
    scenario = _scenario()
    ana, ben = _person("ana"), _person("ben")
    relationship = Relationship(agents=("ana", "ben"), type="friend")
    setup = EpisodeSetup(scenario=scenario, agents=[ana, ben], relationship=relationship, seed=3)
    assert setup.id == "split_bill|ana+ben"
    assert EpisodeSetup.model_validate_json(setup.model_dump_json()) == setup
    with pytest.raises(ValidationError, match="2 roles but 3 agents"):
        EpisodeSetup(scenario=scenario, agents=[ana, ben, _person("cal")], relationship=relationship)
    with pytest.raises(ValidationError, match="appears twice"):
        EpisodeSetup(scenario=scenario, agents=[ana, ana], relationship=relationship)


def test_pairing_needs_two_agents() -> None:
    with pytest.raises(ValidationError):
        Pairing(scenario="split_bill", agents=["ana"])
