"""The built-in library under scenarios/library/: size, coverage and that every scenario can be cast."""

from __future__ import annotations

import pytest

from scenarios import (
    RelationshipType,
    ScenarioLibrary,
    eligible_casts,
    load_library,
    relationship_graph,
    sample_setups,
)


@pytest.fixture(scope="module")
def library() -> ScenarioLibrary:
    return load_library()  # also checks that every reference resolves


def test_counts(library: ScenarioLibrary) -> None:
    assert len(library.scenarios) >= 40
    assert len(library.characters) >= 25
    assert len(library.hard()) >= 10


def test_all_six_relationship_types(library: ScenarioLibrary) -> None:
    assert {r.type for r in library.relationships} == set(RelationshipType)
    assert {s.relationship for s in library.scenarios.values()} == set(RelationshipType)


def test_no_dangling_ids(library: ScenarioLibrary) -> None:
    characters = set(library.characters)
    for relationship in library.relationships:
        assert set(relationship.agents) <= characters
    for pairing in library.pairings:
        assert pairing.scenario in library.scenarios
        assert set(pairing.agents) <= characters


def test_every_scenario_has_an_eligible_cast(library: ScenarioLibrary) -> None:
    graph = relationship_graph(library)
    empty = [sid for sid, s in library.scenarios.items() if not eligible_casts(library, s, graph=graph)]
    assert empty == [], f"scenarios no character pair can play: {empty}"


def test_scenarios_are_well_formed(library: ScenarioLibrary) -> None:
    for scenario in library.scenarios.values():
        assert scenario.source == "socialgym"
        assert all(goal.text for goal in scenario.goals)
        assert scenario.codename, scenario.id


def test_one_setup_per_scenario(library: ScenarioLibrary) -> None:
    setups = sample_setups(library, n=1, seed=0)
    assert len(setups) == len(library.scenarios)
    for setup in setups:
        n = len(setup.agents)
        for a in range(n):
            for b in range(a + 1, n):
                assert setup.relationship_between(a, b).type is setup.scenario.relationship_of(a, b)
        for role, agent in enumerate(setup.agents):
            assert setup.scenario.admits(role, agent)


def test_summary_line(library: ScenarioLibrary) -> None:
    summary = library.summary()
    assert summary.startswith(f"{len(library.scenarios)} scenarios, {len(library.characters)} characters, ")
    assert summary.endswith(f" pairings, {len(library.hard())} hard")
