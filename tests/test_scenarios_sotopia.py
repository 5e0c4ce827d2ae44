"""The SOTOPIA importer, on the shared published dump and on small broken dumps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scenarios import (
    RelationshipType,
    ScenarioFileError,
    ScenarioLibrary,
    TraitLevel,
    load_path,
    load_sotopia,
    sample_setups,
)
from scenarios.sotopia import parse_age_constraint, parse_big_five, parse_occupation_constraint, split_goal

TAG = re.compile(r"</?(extra_info|strategy_hint|clarification_hint)>")


@pytest.fixture(scope="module")
def dump(shared_data: Path) -> Path:
    return shared_data / "sotopia"


@pytest.fixture(scope="module")
def library(dump: Path) -> ScenarioLibrary:
    return load_sotopia(dump)


def _jsonl(path: Path, key: str) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_counts(library: ScenarioLibrary) -> None:
    assert len(library.scenarios) == 90
    assert len(library.characters) == 40
    assert len(library.relationships) == 120
    assert len(library.pairings) == 450
    assert len(library.hard()) == 14
    assert library.summary() == "90 scenarios, 40 characters, 120 relationships, 450 pairings, 14 hard"


def test_ids_are_kept(library: ScenarioLibrary, dump: Path) -> None:
    envs = _jsonl(dump / "environment_profiles.jsonl", "env_id")
    assert list(library.scenarios) == [e["env_id"] for e in envs]
    assert set(library.characters) == {a["agent_id"] for a in _jsonl(dump / "agent_profiles.jsonl", "agent_id")}
    assert [r.id for r in library.relationships] == [
        r["relationship_id"] for r in _jsonl(dump / "relationship_profiles.jsonl", "relationship_id")
    ]
    combos = _jsonl(dump / "env_agent_combo_storages.jsonl", "combo_id")
    assert [(p.id, p.scenario, p.agents) for p in library.pairings] == [
        (c["combo_id"], c["env_id"], c["agent_ids"]) for c in combos
    ]


def test_hard_ids_and_tags(library: ScenarioLibrary, dump: Path) -> None:
    text = (dump / "env_ids.txt").read_text(encoding="utf-8")
    hard_line = text.split("SOTOPIA-HARD:")[1].split("SOTOPIA-ALL:")[0]
    assert set(library.hard()) == set(re.findall(r'"(\w+)"', hard_line))
    for scenario in library.scenarios.values():
        assert scenario.tags[0] == "sotopia"
        assert scenario.source.startswith("sotopia:")
        assert scenario.tags[1] == scenario.source.removeprefix("sotopia:")
    assert len(library.by_tag("craigslist_bargains")) == 10


def test_every_goal_is_clean(library: ScenarioLibrary, dump: Path) -> None:
    raw = {e["env_id"]: e["agent_goals"] for e in _jsonl(dump / "environment_profiles.jsonl", "env_id")}
    counts = {"extra_info": 0, "strategy_hint": 0, "clarification_hint": 0}
    for scenario in library.scenarios.values():
        for goal, original in zip(scenario.goals, raw[scenario.id], strict=True):
            for value in (goal.text, goal.extra_info, goal.strategy_hint, goal.clarification_hint):
                assert not TAG.search(value)
            assert goal.text and "()" not in goal.text
            assert not goal.extra_info.lower().startswith("extra information")
            assert not goal.strategy_hint.lower().startswith("hint")
            assert not goal.clarification_hint.lower().startswith("hint")
            for field in counts:
                if f"<{field}>" in original:
                    counts[field] += 1
                    assert getattr(goal, field), (scenario.id, field)
    assert counts == {"extra_info": 154, "strategy_hint": 25, "clarification_hint": 2}


def test_goal_examples(library: ScenarioLibrary) -> None:
    divide = library.scenarios["01H7VFHP3DPGRXH1Y500VQKFZA"]
    assert divide.codename == "divide_things"
    assert divide.goals[0].text == "Maximize the points you have while dividing things fairly"
    assert divide.goals[0].extra_info.startswith("Books give you 5 points each")
    movie = library.scenarios["01H7VFHN56ZT2Z4C0EFX79Q31F"]
    assert movie.goals[0].text == "To watch a comedy film with your friend"
    assert movie.goals[0].strategy_hint.startswith("provide financial/material-wise benefits")
    assert movie.goals[0].extra_info == ""


def test_split_goal_nested_and_clarification() -> None:
    goal = split_goal(
        "Share the only blanket available (<extra_info>Extra information: you are cold "
        "<strategy_hint>Hint: stress the benefit of sharing.</strategy_hint></extra_info>)"
    )
    assert goal.text == "Share the only blanket available"
    assert goal.extra_info == "you are cold"
    assert goal.strategy_hint == "stress the benefit of sharing."
    goal = split_goal("Ask quietly (<clarification_hint>Hint: do not reveal the gift</clarification_hint>)")
    assert (goal.text, goal.clarification_hint) == ("Ask quietly", "do not reveal the gift")
    listing = split_goal("Find a friend.\n<extra_info> You know: \n Ann: School: X \n Bo: School: Y \n</extra_info>")
    assert listing.extra_info == "You know:\nAnn: School: X\nBo: School: Y"
    with pytest.raises(ValueError, match="unbalanced tag"):
        split_goal("Win (<extra_info>Extra information: half open)")


def test_constraints_mapped(library: ScenarioLibrary) -> None:
    drink_less = library.scenarios["01H7VFHP29TCH457PBDVF7WFDS"]
    assert drink_less.role_constraints is not None
    assert [(c.age.min, c.age.max) for c in drink_less.role_constraints if c.age] == [(21, 70), (21, 70)]
    assert all(c.occupations is None for c in drink_less.role_constraints)
    movie_scene = library.scenarios["01H7VFHP0AW0C23DV6ZG0B4HCE"]
    assert [c.occupations for c in movie_scene.role_constraints or []] == [["actor"], ["actor"]]
    assert parse_age_constraint("nan", 2) == [None, None]
    assert parse_occupation_constraint("nan", 2) == [None, None]
    with pytest.raises(ValueError, match="one per role"):
        parse_age_constraint("[(18, 70)]", 2)


def test_relationship_levels_match_dump(library: ScenarioLibrary, dump: Path) -> None:
    raw = {e["env_id"]: e["relationship"] for e in _jsonl(dump / "environment_profiles.jsonl", "env_id")}
    for scenario_id, level in raw.items():
        assert library.scenarios[scenario_id].relationship is RelationshipType.from_level(level)
    assert {r.type for r in library.relationships} == set(RelationshipType)


def test_characters_mapped(library: ScenarioLibrary) -> None:
    amara = library.characters["01H5TNE5PRCAF1CK5ERS5MVZ22"]
    assert (amara.name, amara.age, amara.pronouns) == ("Amara Hartley", 29, "she/her")
    big_five = amara.personality.big_five
    assert (big_five.openness, big_five.extraversion, big_five.neuroticism) == (
        TraitLevel.high,
        TraitLevel.low,
        TraitLevel.low,
    )
    assert amara.personality.moral_values == ["Care", "Fairness"]
    assert amara.personality.values == ["Universalism", "Benevolence", "Self-Direction"]
    assert amara.personality.mbti == "INFJ"
    assert amara.secret == "Secretly involved in animal-rights extremism"
    with pytest.raises(ValueError, match="Trait - High"):
        parse_big_five("Openness - Huge")


def test_every_pairing_sets_up_with_the_scenario_relationship(library: ScenarioLibrary) -> None:
    setups = sample_setups(library)
    assert len(setups) == 450
    assert {s.pairing_id for s in setups} == {p.id for p in library.pairings}
    for setup in setups:
        assert setup.relationship.type is setup.scenario.relationship
        assert setup.relationship.id is not None  # a real record, not a synthesised one
        assert setup.relationship.agents == (setup.agents[0].id, setup.agents[1].id)
    assert any("0 without a relationship record" in note for note in library.notes)


def test_folder_dispatch_is_the_importer(dump: Path) -> None:
    assert load_path(dump).summary() == "90 scenarios, 40 characters, 120 relationships, 450 pairings, 14 hard"


# --------------------------------------------------------------------------------- small dumps

ENV = {
    "env_id": "E1",
    "codename": "swap_books",
    "source": "hand-craft",
    "scenario": "Two friends swap books.",
    "agent_goals": ["Get the novel (<extra_info>Extra information: you love it</extra_info>)", "Keep the novel"],
    "relationship": "3",
    "age_constraint": "[(18, 70), (18, 70)]",
    "occupation_constraint": "nan",
    "agent_constraint": "none",
}
AGENT = {
    "agent_id": "A1",
    "first_name": "Ann",
    "last_name": "Lee",
    "age": 30,
    "occupation": "Baker",
    "gender": "Woman",
    "gender_pronoun": "She/her",
    "public_info": "",
    "big_five": "Openness to Experience - High; Neuroticism - Low",
    "moral_values": [],
    "schwartz_personal_values": [],
    "personality_and_values": "",
    "decision_making_style": "",
    "secret": "",
    "mbti": "INTJ",
}


def _dump(folder: Path, env_lines: list[str], with_combo: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "environment_profiles.jsonl").write_text("\n".join(env_lines) + "\n", encoding="utf-8")
    agents = [AGENT, {**AGENT, "agent_id": "A2", "first_name": "Bo"}]
    (folder / "agent_profiles.jsonl").write_text("\n".join(json.dumps(a) for a in agents), encoding="utf-8")
    if with_combo:
        combo = {"combo_id": "C1", "env_id": "E1", "agent_ids": ["A2", "A1"]}
        (folder / "env_agent_combo_storages.jsonl").write_text(json.dumps(combo), encoding="utf-8")
    return folder


def test_small_dump_without_relationship_records(tmp_path: Path) -> None:
    library = load_sotopia(_dump(tmp_path / "d", [json.dumps(ENV)]))
    assert "1 without a relationship record" in library.notes[0]
    setup = library.setup("E1", ["A2", "A1"])
    assert setup.pairing_id == "C1"
    assert (setup.relationship.type, setup.relationship.background) == (RelationshipType.friend, "")
    assert setup.relationship.id is None


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "d", [json.dumps(ENV), '{"env_id": "E2", broken'])
    with pytest.raises(ScenarioFileError) as info:
        load_sotopia(folder)
    assert "environment_profiles.jsonl: line 2, column" in str(info.value)
    assert "invalid JSON" in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"relationship": "9"}, "line 1 (id 'E1'): relationship -> unknown relationship level '9'"),
        ({"age_constraint": "[(18, 70)]"}, "line 1 (id 'E1'): age_constraint -> expected 2 '(min, max)' age ranges"),
        ({"agent_goals": ["Win (<extra_info>oops", "x"]}, "line 1 (id 'E1'): agent_goals[0] -> unbalanced tag"),
        ({"agent_goals": ["(<extra_info>x</extra_info>)", "y"]}, "line 1 (id 'E1'): agent_goals[0] -> the goal has no text outside its tags"),
        ({"age_constraint": "[(70, 18), (18, 70)]"}, "line 1 (id 'E1'): age_constraint -> age range min (70) is greater than max (18)"),
        ({"scenario": None}, "line 1 (id 'E1'): scenario -> input should be a valid string"),
        ({"agent_constraint": "[[A1], [A2]]"}, "line 1 (id 'E1'): agent_constraint -> '[[A1], [A2]]' is not supported"),
    ],
)
def test_bad_record_names_file_line_and_field(tmp_path: Path, change: dict, expected: str) -> None:
    folder = _dump(tmp_path / "d", [json.dumps({**ENV, **change})], with_combo=False)
    with pytest.raises(ScenarioFileError) as info:
        load_sotopia(folder)
    assert "environment_profiles.jsonl: " + expected in str(info.value)


def test_missing_required_key(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "agent_goals"}
    folder = _dump(tmp_path / "d", [json.dumps(env)], with_combo=False)
    with pytest.raises(ScenarioFileError, match=r"line 1 \(id 'E1'\): agent_goals -> field required"):
        load_sotopia(folder)


def test_unknown_hard_id_is_reported(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "d", [json.dumps(ENV)])
    (folder / "env_ids.txt").write_text('SOTOPIA-HARD:\n"E1", "E9"\n\nSOTOPIA-ALL:\n"E1"\n', encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"env_ids.txt: SOTOPIA-HARD -> unknown env ids \['E9'\]"):
        load_sotopia(folder)
    (folder / "env_ids.txt").write_text('SOTOPIA-HARD:\n"E1"\n', encoding="utf-8")
    assert load_sotopia(folder).hard() == ["E1"]


# --------------------------------------------------------------------------------- messy but valid dumps

REL = {"relationship_id": "R1", "agent1_id": "A1", "agent2_id": "A2", "relationship": "3",
       "background_story": "Ann and Bo met at a book club."}


def _with_relationships(folder: Path, records: list[dict]) -> Path:
    (folder / "relationship_profiles.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n",
                                                        encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("second", "how"),
    [
        ({**REL, "relationship_id": "R2"}, "the same pair ('A1', 'A2')"),
        ({**REL, "relationship_id": "R2", "agent1_id": "A2", "agent2_id": "A1"}, "the same pair mirrored ('A2', 'A1')"),
        (REL, "exactly"),  # the very same record twice (a dump concatenated twice)
    ],
)
def test_relationship_listed_twice_imports_with_a_note(tmp_path: Path, second: dict, how: str) -> None:
    folder = _with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]), [REL, second])
    library = load_sotopia(folder)
    assert [r.id for r in library.relationships] == ["R1"]  # the first record is kept
    note = next(n for n in library.notes if "duplicate" in n)
    assert "relationship_profiles.jsonl: skipped 1 duplicate record(s)" in note
    assert "line 2" in note and "repeats line 1 (id 'R1')" in note and how in note
    setup = library.setup("E1", ["A2", "A1"])
    assert setup.relationship.id == "R1" and setup.relationship.background == REL["background_story"]


def test_mirrored_relationship_with_another_background_is_named(tmp_path: Path) -> None:
    mirrored = {**REL, "relationship_id": "R2", "agent1_id": "A2", "agent2_id": "A1", "background_story": "Other."}
    library = load_sotopia(_with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]), [REL, mirrored]))
    assert any("line 2 (id 'R2') repeats line 1 (id 'R1')" in n and "another background" in n for n in library.notes)


def test_same_pair_of_two_types_is_two_relationships(tmp_path: Path) -> None:
    family = {**REL, "relationship_id": "R2", "relationship": "5"}
    library = load_sotopia(_with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]), [REL, family]))
    assert [r.id for r in library.relationships] == ["R1", "R2"]
    assert not any("duplicate" in n for n in library.notes)


def test_same_id_with_other_content_is_still_an_error(tmp_path: Path) -> None:
    other = {**REL, "agent1_id": "A2", "agent2_id": "A1", "relationship": "5"}
    folder = _with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]), [REL, other])
    with pytest.raises(ScenarioFileError, match=r"line 2 \(id 'R1'\): id -> duplicate id 'R1'"):
        load_sotopia(folder)


def test_many_duplicates_are_counted_not_all_listed(tmp_path: Path) -> None:
    copies = [{**REL, "relationship_id": f"R{i}"} for i in range(1, 10)]
    library = load_sotopia(_with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]), copies))
    note = next(n for n in library.notes if "duplicate" in n)
    assert "skipped 8 duplicate record(s)" in note and "; and 3 more" in note


def test_bom_crlf_and_extra_keys_import(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "d", [json.dumps({**ENV, "pk": "E1", "tag": "v2", "new_field": {"x": [1, 2]}})])
    env_text = (folder / "environment_profiles.jsonl").read_text(encoding="utf-8")
    (folder / "environment_profiles.jsonl").write_bytes(b"\xef\xbb\xbf" + env_text.replace("\n", "\r\n").encode())
    rel_line = json.dumps({**REL, "model_id": "", "extra": None})
    (folder / "relationship_profiles.jsonl").write_bytes(b"\xef\xbb\xbf" + (rel_line + "\r\n").encode() * 1)
    (folder / "env_ids.txt").write_bytes(b'\xef\xbb\xbfSOTOPIA-HARD:\r\n"E1"\r\n\r\nSOTOPIA-ALL:\r\n"E1"\r\n')
    library = load_sotopia(folder)
    assert library.summary() == "1 scenarios, 2 characters, 1 relationships, 1 pairings, 1 hard"
    assert library.scenarios["E1"].setting == ENV["scenario"]


def test_line_separator_inside_a_json_string_is_not_a_line_break(tmp_path: Path) -> None:
    env = {**ENV, "scenario": "Two friends\u2028swap books.\u0085"}
    folder = _dump(tmp_path / "d", [json.dumps(env, ensure_ascii=False)])
    assert load_sotopia(folder).scenarios["E1"].setting.startswith("Two friends\u2028swap")


def test_sotopia_text_limits_name_sotopia_fields(tmp_path: Path) -> None:
    folder = _with_relationships(_dump(tmp_path / "d", [json.dumps(ENV)]),
                                 [{**REL, "background_story": "x" * 10_001}])
    with pytest.raises(ScenarioFileError) as info:
        load_sotopia(folder)
    assert ("relationship_profiles.jsonl: line 1 (id 'R1'): background_story -> text of 10,001 characters is over "
            "the 10,000-character limit") in str(info.value)


def test_published_dump_fits_the_text_limits_comfortably(dump: Path) -> None:
    from scenarios.schema import MAX_LABEL_CHARS, MAX_TEXT_CHARS

    longest = 0
    for name in ("environment_profiles.jsonl", "agent_profiles.jsonl", "relationship_profiles.jsonl"):
        for record in _jsonl(dump / name, ""):
            for value in record.values():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        longest = max(longest, len(text))
    assert longest * 5 < MAX_TEXT_CHARS  # 1,672 characters (a goal with its notes)
    library = load_sotopia(dump)
    labels = [c.occupation for c in library.characters.values()] + [c.first_name for c in library.characters.values()]
    assert max(map(len, labels)) * 5 < MAX_LABEL_CHARS
