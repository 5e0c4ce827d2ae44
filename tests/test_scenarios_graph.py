"""The relationship graph, eligible casts, setups and the seeded sampler, on a small library."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import (
    LibraryError,
    RelationshipType,
    ScenarioLibrary,
    eligible_casts,
    load_path,
    relationship_graph,
    sample_setups,
)

LIBRARY = """
characters:
  - {id: ana, first_name: Ana, age: 34, occupation: Nurse, gender: Woman, pronouns: she/her}
  - {id: ben, first_name: Ben, age: 16, occupation: Student, gender: Man, pronouns: he/him}
  - {id: cal, first_name: Cal, age: 45, occupation: Chef, gender: Man, pronouns: he/him}
  - {id: dee, first_name: Dee, age: 52, occupation: Chef, gender: Woman, pronouns: she/her}
  - {id: eli, first_name: Eli, age: 29, occupation: Pilot, gender: Nonbinary, pronouns: they/them}
relationships:
  - {id: r_ana_cal, agents: [ana, cal], type: friend, background: They met at culinary school.}
  - {id: r_cal_dee, agents: [cal, dee], type: friend, background: Rival chefs turned friends.}
  - {id: r_dee_eli, agents: [dee, eli], type: family, background: Dee is Eli's mother.}
  - {id: r_dee_eli_2, agents: [dee, eli], type: stranger, background: A record of another type.}
  - {id: r_ana_ben, agents: [ana, ben], type: acquaintance}
scenarios:
  - id: split_bill
    setting: Two friends split a bill.
    goals: [Pay less, Pay a fair share]
    relationship: friend
  - id: kitchen
    setting: Two chef friends share a kitchen.
    goals: [Get the big stove, Get the big stove]
    relationship: friend
    role_constraints: [{occupations: [chef]}, {age: {min: 50}}]
  - id: bus_stop
    setting: Two strangers at a bus stop.
    goals: [Borrow a phone, Keep your phone]
    relationship: stranger
    role_constraints: [{age: {min: 18, max: 40}}, {}]
    tags: [hard]
  - id: reunion
    setting: A family reunion.
    goals: [Ask for money, Refuse politely]
    relationship: family
  - id: romance
    setting: A date.
    goals: [Propose, Delay]
    relationship: romantic
pairings:
  - {id: fixed_1, scenario: reunion, agents: [eli, dee]}
"""


@pytest.fixture()
def library(tmp_path: Path) -> ScenarioLibrary:
    path = tmp_path / "small.yaml"
    path.write_text(LIBRARY, encoding="utf-8")
    library = load_path(path)
    library.check_references()
    return library


def test_graph_nodes_and_edges(library: ScenarioLibrary) -> None:
    graph = relationship_graph(library)
    assert set(graph.nodes) == {"ana", "ben", "cal", "dee", "eli"}
    assert graph.nodes["eli"]["occupation"] == "Pilot"
    assert graph.nodes["eli"]["profile"].pronouns == "they/them"
    assert graph.edges["cal", "ana"]["type"] is RelationshipType.friend
    assert graph.edges["ana", "cal"]["background"] == "They met at culinary school."
    assert set(graph.edges["dee", "eli"]["relationships"]) == {RelationshipType.family, RelationshipType.stranger}
    assert graph.number_of_edges() == 4


def test_eligible_casts_either_order(library: ScenarioLibrary) -> None:
    assert eligible_casts(library, "split_bill") == [("ana", "cal"), ("cal", "ana"), ("cal", "dee"), ("dee", "cal")]


def test_eligible_casts_respect_role_constraints(library: ScenarioLibrary) -> None:
    # role 0 must be a chef, role 1 must be 50 or older
    assert eligible_casts(library, "kitchen") == [("cal", "dee")]


def test_stranger_casts_include_unconnected_pairs(library: ScenarioLibrary) -> None:
    casts = eligible_casts(library, "bus_stop")
    assert ("ana", "dee") in casts  # never met
    assert ("eli", "dee") in casts  # a recorded stranger relationship (besides family)
    assert ("ana", "cal") not in casts  # friends are not strangers
    assert ("ana", "ben") not in casts  # acquaintances are not strangers
    assert all(library.characters[a].age <= 40 for a, _ in casts)  # role 0 is 18..40
    assert not any(cast[0] in {"ben", "cal", "dee"} for cast in casts)


def test_setup_builds_relationship_in_role_order(library: ScenarioLibrary) -> None:
    setup = library.setup("split_bill", ["cal", "ana"], seed=5)
    assert [a.id for a in setup.agents] == ["cal", "ana"]
    assert setup.relationship.agents == ("cal", "ana")
    assert setup.relationship.id == "r_ana_cal"
    assert setup.relationship.background == "They met at culinary school."
    assert setup.seed == 5 and setup.pairing_id is None


def test_setup_picks_the_record_of_the_scenario_type(library: ScenarioLibrary) -> None:
    assert library.setup("reunion", ["eli", "dee"]).relationship.id == "r_dee_eli"
    assert library.setup("bus_stop", ["eli", "dee"]).relationship.id == "r_dee_eli_2"


def test_setup_synthesises_stranger_relationship(library: ScenarioLibrary) -> None:
    relationship = library.setup("bus_stop", ["ana", "dee"]).relationship
    assert relationship.type is RelationshipType.stranger
    assert relationship.id is None and relationship.background == ""
    assert relationship.agents == ("ana", "dee")


def test_setup_rejects_casts_that_do_not_fit(library: ScenarioLibrary) -> None:
    with pytest.raises(LibraryError, match="needs a 'friend' relationship but 'ana' and 'dee' have: none recorded"):
        library.setup("split_bill", ["ana", "dee"])
    with pytest.raises(LibraryError, match="may not play role 0 of scenario 'kitchen': occupation chef"):
        library.setup("kitchen", ["ana", "cal"])
    with pytest.raises(LibraryError, match="2 roles but 3 characters"):
        library.setup("split_bill", ["ana", "cal", "dee"])
    with pytest.raises(LibraryError, match="unknown character 'zed'"):
        library.setup("split_bill", ["ana", "zed"])
    with pytest.raises(LibraryError, match="unknown scenario 'split'"):
        library.setup("split", ["ana", "cal"])


def test_fixed_pairing_is_used_and_recorded(library: ScenarioLibrary) -> None:
    setups = sample_setups(library, "reunion", n=3, seed=1)
    assert [s.pairing_id for s in setups] == ["fixed_1"] * 3
    assert all([a.id for a in s.agents] == ["eli", "dee"] for s in setups)


def test_sampler_is_seeded_and_reproducible(library: ScenarioLibrary) -> None:
    ids = ["split_bill", "bus_stop"]
    first = sample_setups(library, ids, n=3, seed=7)
    again = sample_setups(library, ids, n=3, seed=7)
    assert [s.model_dump() for s in first] == [s.model_dump() for s in again]
    draws = {tuple(s.id for s in sample_setups(library, ids, n=3, seed=seed)) for seed in range(8)}
    assert len(draws) > 1
    # a scenario's draw does not depend on which other scenarios were asked for
    alone = sample_setups(library, "bus_stop", n=3, seed=7)
    assert [s.id for s in alone] == [s.id for s in first[3:]]


def test_sampler_draws_without_replacement_first(library: ScenarioLibrary) -> None:
    setups = sample_setups(library, "split_bill", n=4, seed=3)
    assert sorted(s.id for s in setups) == sorted(f"split_bill|{a}+{b}" for a, b in eligible_casts(library, "split_bill"))


def test_sampler_respects_constraints(library: ScenarioLibrary) -> None:
    for setup in sample_setups(library, ["kitchen", "bus_stop", "split_bill"], n=10, seed=0):
        for role, agent in enumerate(setup.agents):
            assert setup.scenario.admits(role, agent)
        assert setup.relationship.type is setup.scenario.relationship


def test_every_cast_once_and_tag_filter(library: ScenarioLibrary) -> None:
    setups = sample_setups(library, ["split_bill", "kitchen"])
    assert [s.id for s in setups] == [
        "split_bill|ana+cal", "split_bill|cal+ana", "split_bill|cal+dee", "split_bill|dee+cal", "kitchen|cal+dee",
    ]
    hard = sample_setups(library, ["split_bill", "bus_stop"], n=2, tag="hard")
    assert {s.scenario.id for s in hard} == {"bus_stop"}


def test_no_eligible_cast_is_a_clear_error(library: ScenarioLibrary) -> None:
    assert eligible_casts(library, "romance") == []
    with pytest.raises(LibraryError, match="scenario 'romance' has no eligible cast: no 2 characters with a 'romantic'"):
        sample_setups(library, "romance", n=1)
    with pytest.raises(ValueError, match="n must be at least 1"):
        sample_setups(library, "split_bill", n=0)


def test_summary_counts_setups(library: ScenarioLibrary) -> None:
    # split_bill 4 + kitchen 1 + bus_stop (eligible) + reunion 1 fixed + romance 0
    bus = len(eligible_casts(library, "bus_stop"))
    assert library.count_setups() == 4 + 1 + bus + 1
    assert library.summary() == f"5 scenarios, 5 characters, 5 relationships, {6 + bus} pairings, 1 hard"
