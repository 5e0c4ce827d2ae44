"""``python -m scenarios`` run as a subprocess: list, show, validate and their error handling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import builtin_library_path, eligible_casts, load_library

REPO_ROOT = Path(__file__).resolve().parents[1]
DIVIDE_THINGS = "01H7VFHP3DPGRXH1Y500VQKFZA"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenarios", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_builtin() -> None:
    library = load_library()
    result = run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(library.scenarios)
    first = library.scenarios[lines[0].split()[0]]
    assert lines[0].split()[1] == first.relationship.value


def test_list_and_show_group_scenarios() -> None:
    result = run("list", "--tag", "group")
    assert result.returncode == 0, result.stderr
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert ids == load_library().by_tag("group") and len(ids) >= 8
    card = run("show", "sg_group_sibling_mediation")
    assert card.returncode == 0, card.stderr
    assert "roles 1 and 2: family" in card.stdout and "Role 3 goal" in card.stdout


def test_list_sotopia_hard(shared_data: Path) -> None:
    result = run("list", shared_data / "sotopia", "--tag", "hard")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 14
    assert all(",hard" in line and line.startswith("01H7VFH") for line in lines)


def test_show_sotopia_card(shared_data: Path) -> None:
    result = run("show", DIVIDE_THINGS, "--path", shared_data / "sotopia")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "divide_things" in out
    assert "Maximize the points you have while dividing things fairly" in out
    assert "Books give you 5 points each" in out
    assert "Fixed pairings: 5" in out
    assert "friend" in out


def test_show_builtin_card() -> None:
    library = load_library()
    scenario_id = library.hard()[0]
    result = run("show", scenario_id)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "Eligible casts:" in out
    assert " ".join(library.scenarios[scenario_id].goals[0].text.split())[:30] in out


def test_show_unknown_id() -> None:
    result = run("show", "no_such_scenario_id")
    assert result.returncode == 2
    assert "unknown scenario 'no_such_scenario_id'" in result.stderr


def test_validate_sotopia(shared_data: Path) -> None:
    result = run("validate", shared_data / "sotopia")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "90 scenarios, 40 characters, 120 relationships, 450 pairings, 14 hard"


def test_validate_builtin_folder() -> None:
    result = run("validate", builtin_library_path())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == load_library().summary()


def test_validate_file_using_builtin_characters(tmp_path: Path) -> None:
    library = load_library()
    ids = list(library.characters)
    a, b = next((x, y) for x in ids for y in ids if x != y and not library.relationships_between(x, y))
    path = tmp_path / "custom.yaml"
    path.write_text(
        f"relationships:\n  - {{agents: [{a}, {b}], type: know_by_name}}\n"
        "scenarios:\n  - {id: zz_cli, setting: A lift., goals: [x, y], relationship: know_by_name}\n",
        encoding="utf-8",
    )
    result = run("validate", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 scenarios, 0 characters, 1 relationships, ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scenarios:\n  - {id: x, setting: s, relationship: friend}\n", "scenarios[0] (id 'x'): goals -> field required"),
        ("scenarios:\n  - id: x\n    setting: [oops\n", "line 4, column 1: invalid YAML"),
        ("relationships:\n  - {agents: [nobody_a, nobody_b], type: friend}\n", "relationships[0]: agents[0] -> unknown character"),
    ],
)
def test_validate_broken_file_exits_2(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("validate", path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_counts_casts_with_builtin_characters_and_rejects_uncastable(tmp_path: Path) -> None:
    playable = tmp_path / "playable.yaml"
    playable.write_text("{id: zz_friends, setting: A walk., goals: [x, y], relationship: friend}\n", encoding="utf-8")
    result = run("validate", playable)
    assert result.returncode == 0, result.stderr
    casts = eligible_casts(load_library([playable]), "zz_friends")
    assert casts and result.stdout.startswith(f"1 scenarios, 0 characters, 0 relationships, {len(casts)} pairings")

    nobody = tmp_path / "nobody.yaml"
    nobody.write_text(
        "{id: zz_nobody, setting: s, goals: [x, y], relationship: romantic,\n"
        " role_constraints: [{age: {min: 120}}, {}]}\n",
        encoding="utf-8",
    )
    result = run("validate", nobody)
    assert result.returncode == 2
    assert f"{nobody}: scenario (id 'zz_nobody')" in result.stderr
    assert "no eligible cast" in result.stderr and "relax the constraints" in result.stderr


def test_validate_rejects_an_id_the_builtin_library_already_uses(tmp_path: Path) -> None:
    taken = next(iter(load_library().characters))
    path = tmp_path / "clash.yaml"
    path.write_text(
        f"characters:\n  - {{id: {taken}, first_name: Al, age: 40, occupation: Cook, gender: Man, pronouns: he/him}}\n",
        encoding="utf-8",
    )
    result = run("validate", path)
    assert result.returncode == 2
    assert taken in result.stderr and "clash.yaml" in result.stderr
