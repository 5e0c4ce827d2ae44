"""Group scenarios (3-4 roles): per-pair relationships in the schema, cast sampling, visibility, judge prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from test_envs_support import make_setup

from envs.render import briefing
from envs.types import Episode
from eval.judge import judge_messages, judgement_schema, resolve_dimensions
from scenarios import (
    LibraryError,
    RelationshipType,
    ScenarioLibrary,
    eligible_casts,
    load_path,
    sample_setups,
)
from scenarios.schema import Scenario

LIBRARY = """
characters:
  - {id: ana, first_name: Ana, age: 34, occupation: Nurse, gender: Woman, pronouns: she/her,
     public_info: PUBLIC-ANA, secret: SECRET-ANA}
  - {id: ben, first_name: Ben, age: 36, occupation: Baker, gender: Man, pronouns: he/him,
     public_info: PUBLIC-BEN, secret: SECRET-BEN}
  - {id: cal, first_name: Cal, age: 45, occupation: Mediator, gender: Man, pronouns: he/him,
     public_info: PUBLIC-CAL, secret: SECRET-CAL}
  - {id: dee, first_name: Dee, age: 52, occupation: Chef, gender: Woman, pronouns: she/her,
     public_info: PUBLIC-DEE}
relationships:
  - {id: r_ana_ben, agents: [ana, ben], type: family, background: HISTORY-ANA-BEN}
  - {id: r_ana_dee, agents: [ana, dee], type: friend, background: HISTORY-ANA-DEE}
  - {id: r_ben_dee, agents: [ben, dee], type: friend, background: HISTORY-BEN-DEE}
scenarios:
  - id: mediation
    setting: Two siblings and a mediator.
    goals: [GOAL-ONE, GOAL-TWO, GOAL-THREE]
    relationship: stranger
    pair_relationships: [{roles: [0, 1], type: family}]
    role_constraints: [{}, {}, {occupations: [mediator]}]
    tags: [group]
  - id: trio
    setting: Three friends.
    goals: [A, B, C]
    relationship: friend
    tags: [group]
"""


@pytest.fixture
def library(tmp_path: Path) -> ScenarioLibrary:
    path = tmp_path / "groups.yaml"
    path.write_text(LIBRARY, encoding="utf-8")
    return load_path(path)


def test_eligible_casts_follow_each_pair_requirement(library: ScenarioLibrary) -> None:
    # roles 0-1 family (ana/ben either way round), the mediator a stranger to both
    assert eligible_casts(library, "mediation") == [("ana", "ben", "cal"), ("ben", "ana", "cal")]
    # ana, ben and dee are not all friends (ana-ben is family): no friend trio
    assert eligible_casts(library, "trio") == []
    with pytest.raises(LibraryError, match="no eligible cast"):
        sample_setups(library, "trio")


def test_setup_carries_every_pair(library: ScenarioLibrary) -> None:
    setup = library.setup("mediation", ["ana", "ben", "cal"])
    assert [(r.agents, r.type) for r in setup.relationships] == [
        (("ana", "ben"), RelationshipType.family),
        (("ana", "cal"), RelationshipType.stranger),
        (("ben", "cal"), RelationshipType.stranger),
    ]
    assert setup.relationship.id == "r_ana_ben"
    assert setup.relationship_between(2, 0).type is RelationshipType.stranger
    # a round trip through JSON keeps every pair (stored runs replay exactly)
    assert type(setup).model_validate_json(setup.model_dump_json()) == setup
    with pytest.raises(LibraryError, match=r"'family' relationship but 'ana' and 'dee' \(roles 0 and 1\)"):
        library.setup("mediation", ["ana", "dee", "cal"])


def test_each_agent_sees_others_as_its_own_pair_allows(library: ScenarioLibrary) -> None:
    setup = library.setup("mediation", ["ana", "ben", "cal"])
    names = setup.agent_names
    views = {name: dict(briefing(setup, name)) for name in names}
    ana_on_ben = views["Ana"]["What you know about Ben"]
    assert "are family" in ana_on_ben and "PUBLIC-BEN" in ana_on_ben and "HISTORY-ANA-BEN" in ana_on_ben
    ana_on_cal = views["Ana"]["What you know about Cal"]
    assert "strangers" in ana_on_cal and "PUBLIC-CAL" not in ana_on_cal
    cal_view = "\n".join(views["Cal"].values())
    assert "HISTORY-ANA-BEN" not in cal_view and "PUBLIC-ANA" not in cal_view and "PUBLIC-BEN" not in cal_view
    for name, view in views.items():
        text = "\n".join(view.values())
        others = [n for n in names if n != name]
        assert all(f"SECRET-{o.upper()}" not in text for o in others)
        goals = {"Ana": "GOAL-ONE", "Ben": "GOAL-TWO", "Cal": "GOAL-THREE"}
        assert goals[name] in text and all(goals[o] not in text for o in others)


def test_judge_prompt_and_schema_cover_every_agent_and_pair(library: ScenarioLibrary) -> None:
    setup = library.setup("mediation", ["ana", "ben", "cal"])
    episode = Episode(id="e1", setup=setup)
    prompt = "\n".join(m["content"] for m in judge_messages(episode, resolve_dimensions("goal")))
    assert "Relationship between Ana and Ben: family. HISTORY-ANA-BEN" in prompt
    assert "Relationship between Ben and Cal: stranger." in prompt
    assert all(goal in prompt for goal in ("GOAL-ONE", "GOAL-TWO", "GOAL-THREE"))
    assert "agent_1, agent_2, agent_3" in prompt and "There are 3 agents" in prompt
    pair = Episode(id="e2", setup=make_setup())  # two agents: the prompt has no group line
    assert "There are" not in judge_messages(pair, resolve_dimensions("goal"))[0]["content"]
    assert judgement_schema(resolve_dimensions("goal"), 3)["required"] == ["agent_1", "agent_2", "agent_3"]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([{"roles": [0, 3], "type": "family"}], "names role 3 but the scenario has 3 roles"),
        ([{"roles": [1, 1], "type": "family"}], "two different roles"),
        ([{"roles": [0, 1], "type": "family"}, {"roles": [1, 0], "type": "friend"}], "repeats roles"),
    ],
)
def test_bad_pair_relationships_are_named(pairs: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Scenario.model_validate(
            {
                "id": "x",
                "setting": "s",
                "goals": ["a", "b", "c"],
                "relationship": "stranger",
                "pair_relationships": pairs,
            }
        )
