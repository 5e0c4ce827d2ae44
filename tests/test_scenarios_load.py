"""Loading files and folders, and the error messages for broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios import ScenarioFileError, builtin_library_path, load_library, load_path

CHARACTERS = """
characters:
  - id: ana
    first_name: Ana
    last_name: Ruiz
    age: 34
    occupation: Nurse
    gender: Woman
    pronouns: she/her
  - id: ben
    first_name: Ben
    age: 16
    occupation: Student
    gender: Man
    pronouns: he/him
relationships:
  - id: ana_ben
    agents: [ana, ben]
    type: family
    background: Ana is Ben's aunt.
"""

SCENARIO = """
id: curfew
setting: An aunt and her nephew argue about curfew.
goals:
  - Get him home by ten
  - text: Stay out until midnight
    strategy_hint: Offer to text every hour.
relationship: family
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ScenarioFileError) as info:
        load_path(path).check_references()
    return str(info.value)


def test_mapping_file_and_single_scenario_file(tmp_path: Path) -> None:
    people = load_path(_write(tmp_path, "people.yaml", CHARACTERS))
    assert set(people.characters) == {"ana", "ben"}
    assert people.relationships[0].background == "Ana is Ben's aunt."
    assert "people.yaml: characters[0] (id 'ana')" in str(people.sources["ana"])
    single = load_path(_write(tmp_path, "curfew.yaml", SCENARIO))
    assert list(single.scenarios) == ["curfew"]
    assert single.scenarios["curfew"].goals[1].strategy_hint == "Offer to text every hour."


def test_list_of_scenarios_and_json(tmp_path: Path) -> None:
    scenario = {"id": "a1", "setting": "s", "goals": ["x", "y"], "relationship": "stranger"}
    listed = load_path(_write(tmp_path, "list.json", json.dumps([scenario, {**scenario, "id": "a2"}])))
    assert list(listed.scenarios) == ["a1", "a2"]


def test_folder_is_recursive_sorted_and_checks_references(tmp_path: Path) -> None:
    _write(tmp_path, "b/people.yml", CHARACTERS)
    _write(tmp_path, "a/curfew.yaml", SCENARIO)
    _write(tmp_path, "notes.txt", "ignored")
    library = load_path(tmp_path)
    library.check_references()
    assert library.summary() == "1 scenarios, 2 characters, 1 relationships, 2 pairings, 0 hard"
    assert str(library.sources["curfew"]).endswith("curfew.yaml: scenario (id 'curfew')")


def test_folder_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    _write(tmp_path, "a/bad_type.yaml", SCENARIO.replace("relationship: family", "relationship: enemies"))
    _write(tmp_path, "b/bad_yaml.yaml", "scenarios: [\n")
    _write(tmp_path, "c/good.yaml", SCENARIO.replace("id: curfew", "id: curfew2"))
    _write(tmp_path, "d/dup.yaml", SCENARIO.replace("id: curfew", "id: curfew2"))
    with pytest.raises(ScenarioFileError) as info:
        load_path(tmp_path)
    problems = info.value.problems
    assert any("bad_type.yaml" in p and "'enemies'" in p for p in problems)
    assert any("bad_yaml.yaml" in p and "invalid YAML" in p for p in problems)
    assert any("'curfew2'" in p and "good.yaml" in p and "dup.yaml" in p for p in problems)


def test_missing_field_names_file_entry_field_and_expectation(tmp_path: Path) -> None:
    path = _write(tmp_path, "my.yaml", "scenarios:\n  - {id: ok, setting: s, goals: [a, b], relationship: friend}\n"
                  "  - {id: x, setting: s, relationship: friend}\n")
    message = _error(path)
    assert "my.yaml: scenarios[1] (id 'x'): goals -> field required: One private goal per role" in message


def test_wrong_type_names_field_and_value(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "people.yaml", CHARACTERS.replace("age: 34", "age: thirty")))
    assert "people.yaml: characters[0] (id 'ana'): age -> " in message
    assert "integer" in message and "'thirty'" in message


def test_unknown_relationship_lists_the_six(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "s.yaml", SCENARIO.replace("relationship: family", "relationship: enemies")))
    assert "s.yaml: scenario (id 'curfew'): relationship -> unknown relationship type 'enemies'" in message
    assert "stranger, know_by_name, acquaintance, friend, romantic, family" in message


def test_unknown_field_lists_allowed_fields(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "s.yaml", SCENARIO + "difficulty: hard\n"))
    assert "s.yaml: scenario (id 'curfew'): difficulty -> unknown field; expected one of: id," in message


def test_nested_field_path(tmp_path: Path) -> None:
    text = SCENARIO + "role_constraints:\n  - {age: {min: 30, max: 20}}\n  - {}\n"
    message = _error(_write(tmp_path, "s.yaml", text))
    assert "s.yaml: scenario (id 'curfew'): role_constraints[0].age -> age range min (30) is greater than max (20)" in message


def test_every_bad_entry_is_reported(tmp_path: Path) -> None:
    text = "scenarios:\n  - {id: a, setting: s, goals: [x], relationship: friend}\n  - just text\n"
    message = _error(_write(tmp_path, "s.yaml", text))
    assert "scenarios[0] (id 'a'): goals -> list should have at least 2 items" in message
    assert "scenarios[1]: expected a mapping with fields (id, codename, setting" in message


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    _write(tmp_path, "one.yaml", SCENARIO)
    _write(tmp_path, "two.yaml", SCENARIO)
    message = _error(tmp_path)
    assert "two.yaml: scenario (id 'curfew'): id -> duplicate id 'curfew', already defined at" in message
    assert "one.yaml: scenario (id 'curfew')" in message


def test_duplicate_id_across_kinds_in_one_file(tmp_path: Path) -> None:
    text = CHARACTERS + "scenarios:\n  - {id: ana, setting: s, goals: [x, y], relationship: friend}\n"
    message = _error(_write(tmp_path, "p.yaml", text))
    assert "p.yaml: scenarios[0] (id 'ana'): id -> duplicate id 'ana', already defined at" in message
    assert "p.yaml: characters[0] (id 'ana')" in message


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "broken.yaml", "scenarios:\n  - id: a\n    setting: [open\n    goals: x\n"))
    assert message.startswith(str(tmp_path / "broken.yaml") + ": line ")
    assert "column" in message and "invalid YAML" in message


def test_yaml_duplicate_key_is_an_error(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "dup.yaml", SCENARIO + "setting: again\n"))
    assert "dup.yaml: line 9, column 1: invalid YAML: key 'setting' appears twice" in message


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad.json", '{\n  "scenarios": [,]\n}'))
    assert "bad.json: line 2, column 17: invalid JSON" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42\n", "expected a mapping with any of the keys characters, relationships, scenarios, pairings"),
        ("", "the file is empty"),
        ("scenario:\n  - {}\n", "unknown top-level key 'scenario'"),
        ("scenarios:\n  id: a\n", "scenarios -> expected a list of scenarios, got a mapping"),
    ],
)
def test_wrong_top_level_shape(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(_write(tmp_path, "top.yaml", text))


def test_dangling_references(tmp_path: Path) -> None:
    text = CHARACTERS + (
        "  - agents: [ana, bob]\n    type: friend\n"
        "pairings:\n  - {scenario: curfw, agents: [ana, ben]}\n"
    )
    _write(tmp_path, "people.yaml", text)
    _write(tmp_path, "curfew.yaml", SCENARIO)
    message = _error(tmp_path)
    assert "people.yaml: relationships[1]: agents[1] -> unknown character 'bob'" in message
    assert "people.yaml: pairings[0]: scenario -> unknown scenario 'curfw'" in message
    assert "did you mean 'curfew'?" in message


def test_missing_unsupported_and_empty(tmp_path: Path) -> None:
    assert "no such file or folder" in _error(tmp_path / "nope.yaml")
    assert "unsupported file type '.txt'" in _error(_write(tmp_path, "x.txt", "hi"))
    (tmp_path / "empty").mkdir()
    assert "no scenario files found" in _error(tmp_path / "empty")


def test_error_is_a_value_error() -> None:
    assert issubclass(ScenarioFileError, ValueError)


def test_custom_file_may_use_builtin_characters(tmp_path: Path) -> None:
    builtin = load_library()
    ids = list(builtin.characters)
    a, b = next((x, y) for x in ids for y in ids if x != y and not builtin.relationships_between(x, y))
    text = (
        f"relationships:\n  - {{agents: [{a}, {b}], type: know_by_name, background: Met once.}}\n"
        "scenarios:\n  - {id: zz_custom_test, setting: A hallway., goals: [x, y], relationship: know_by_name}\n"
    )
    path = _write(tmp_path, "custom.yaml", text)
    with pytest.raises(ScenarioFileError, match="unknown character"):
        load_library([path], include_builtin=False)
    merged = load_library([path])
    assert "zz_custom_test" in merged.scenarios
    assert len(merged.scenarios) == len(builtin.scenarios) + 1
    assert merged.setup("zz_custom_test", [a, b]).relationship.background == "Met once."


def test_builtin_folder_is_not_loaded_twice() -> None:
    assert load_library([builtin_library_path()]).summary() == load_library().summary()
