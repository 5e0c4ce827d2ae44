"""Hostile and broken files: every file loader answers with exit 2 (CLI) or a ValueError naming the file.

Covered loaders: ``python -m scenarios validate`` (YAML/JSON scenario files, SOTOPIA dumps), the
benchmark loaders behind ``python -m eval.mcq --benchmark NAME --data PATH`` and the training config
reader. Cases: YAML alias bombs, 100,000 levels of nesting (JSON, YAML flow and block), files over the
size limit, fields over the text limits, UTF-16/UTF-32/Latin-1 text, binary data, broken JSONL lines,
numbers too long to convert. The CLIs run in-process through their ``main(argv)``; a last property
test generates malformed files of every kind and checks exit 2, the file named, no traceback.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eval import mcq
from eval.benchmarks import BenchmarkError, load_benchmark
from scenarios import ScenarioFileError, load_path
from scenarios.__main__ import main as scenarios_main
from scenarios.datafiles import MAX_DEPTH, MAX_SCENARIO_FILE_BYTES, MiB
from scenarios.schema import MAX_LABEL_CHARS, MAX_TEXT_CHARS
from training.config import read_yaml

DEEP = 100_000
SCENARIO = {"id": "dinner_bill", "setting": "Two friends finish dinner.", "goals": ["Be covered.", "Be paid back."],
            "relationship": "friend"}
SCENARIO_YAML = (
    "scenarios:\n"
    "  - id: dinner_bill\n"
    "    setting: Two friends finish dinner; the bill arrives.\n"
    "    relationship: friend\n"
    "    goals: [You want to be covered., You want to be paid back.]\n"
)


def alias_bomb(key: str = "tags", width: int = 9, levels: int = 9) -> str:
    """The classic 'billion laughs': each level is a list of ``width`` aliases of the level below."""
    lines = [f'{key}: &l0 [{", ".join(["lol"] * width)}]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def short_id(value: object) -> str:
    """A parameter as a test id: short file names and benchmark names; contents are left out."""
    return value if isinstance(value, str) and len(value) < 20 and value.replace("-", "").replace(".", "").replace(
        "_", "").isalnum() else ""


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``python -m scenarios validate PATH`` in-process: (exit code, stderr)."""
    code = scenarios_main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.err


def run_mcq(bench: str, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``python -m eval.mcq`` in-process; the data fails to load before any model is asked."""
    code = mcq.main(["--model", "openai/never-called", "--api-base", "http://127.0.0.1:9", "--retries", "1",
                     "--benchmark", bench, "--data", str(path)])
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, path: Path, *fragments: str) -> None:
    assert code == 2, err
    assert path.name in err, err
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (the loaders must refuse it before reading)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


# --------------------------------------------------------------------------------- scenario files


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bomb.yaml", SCENARIO_YAML + alias_bomb(), "expand to more than 100,000 nodes (an alias bomb?)"),
        ("bomb_in_field.yaml", alias_bomb("defs") + SCENARIO_YAML.replace("    relationship: friend\n",
                                                                          "    relationship: friend\n    tags: *l8\n"),
         "alias bomb"),
        ("deep.json", "[" * DEEP + "]" * DEEP, f"nested more than {MAX_DEPTH} levels deep"),
        ("deep_object.json", '{"a": ' * DEEP + "1" + "}" * DEEP, "nested more than 64 levels deep"),
        ("deep_flow.yaml", "[" * DEEP + "]" * DEEP, "line 1: nested more than 64 levels deep"),
        ("deep_block.yaml", "- " * DEEP + "x\n", "line 1: nested more than 64 levels deep"),
        ("deep_map.yaml", "{a: " * DEEP + "1" + "}" * DEEP, "nested more than 64 levels deep"),
        ("long_setting.yaml", SCENARIO_YAML.replace("Two friends finish dinner; the bill arrives.", "x" * 50_000),
         "scenarios[0] (id 'dinner_bill'): setting -> text of 50,000 characters is over the 10,000-character limit"),
        ("long_goal.json", json.dumps({**SCENARIO, "goals": ["ok", "y" * (MAX_TEXT_CHARS + 1)]}),
         "scenario (id 'dinner_bill'): goals[1].text -> text of 10,001 characters is over the 10,000-character"),
        ("long_tag.json", json.dumps({**SCENARIO, "tags": ["t" * (MAX_LABEL_CHARS + 1)]}),
         "tags[0] -> text of 201 characters is over the 200-character limit"),
        ("many_roles.json", json.dumps({**SCENARIO, "goals": ["g"] * 11}), "goals -> 11 entries, over the limit of 10"),
        ("big_number.yaml", SCENARIO_YAML + "    max_turns: " + "9" * 5000 + "\n",
         "invalid YAML: a number with more than 4,300 digits"),
        ("big_number.json", json.dumps(SCENARIO)[:-1] + ', "max_turns": ' + "9" * 5000 + "}",
         "invalid JSON: a number with more than 4,300 digits"),
        ("utf16.yaml", SCENARIO_YAML.encode("utf-16"), "is UTF-16 text (it starts with a UTF-16 byte-order mark)"),
        ("utf16_no_bom.yaml", SCENARIO_YAML.encode("utf-16-le"), "looks like UTF-16 text without a byte-order mark"),
        ("utf32.json", json.dumps(SCENARIO).encode("utf-32"), "is UTF-32 text"),
        ("latin1.yaml", SCENARIO_YAML.replace("dinner;", "dîner;").encode("latin-1"),
         "line 3, column 34: not UTF-8 text: byte 0xee cannot be decoded (the file may be Latin-1"),
        ("garbage.json", random.Random(0).randbytes(4096), "binary data"),
        ("nul.yaml", SCENARIO_YAML.encode() + b"\x00\x01\x02", "binary data (byte 0x00"),
        ("gzip.yaml", b"\x1f\x8b\x08\x00" + random.Random(1).randbytes(500), "an archive to unpack first?"),
        ("broken.json", json.dumps(SCENARIO)[:40], "line 1, column 34: invalid JSON: Unterminated string"),
        ("broken.yaml", "scenarios:\n  - id: [unclosed\n", "invalid YAML"),
        ("scalar.yaml", "just a sentence\n", "expected a mapping with any of the keys"),
    ],
    ids=short_id,
)
def test_hostile_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                               content: str | bytes, expected: str) -> None:
    path = write(tmp_path / name, content)
    code, err = validate(path, capsys)
    assert_refused(code, err, path, expected)
    assert err.count("\n") <= 3  # one message, not a dump of the input


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = sparse(tmp_path / "huge.yaml", MAX_SCENARIO_FILE_BYTES + 1)
    code, err = validate(path, capsys)
    assert_refused(code, err, path, "the file is 16.0 MiB, over the 16 MiB limit for scenario files")
    big = sparse(tmp_path / "fifty.json", 50 * MiB)
    assert_refused(*validate(big, capsys), big, "the file is 50 MiB, over the 16 MiB limit")


def test_folder_reports_every_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "lib" / "a_bomb.yaml", alias_bomb())
    write(tmp_path / "lib" / "b_deep.json", "[" * DEEP + "]" * DEEP)
    write(tmp_path / "lib" / "c_utf16.yaml", SCENARIO_YAML.encode("utf-16"))
    write(tmp_path / "lib" / "d_fine.yaml", SCENARIO_YAML)
    code, err = validate(tmp_path / "lib", capsys)
    assert code == 2 and "Traceback" not in err
    assert all(name in err for name in ("a_bomb.yaml", "b_deep.json", "c_utf16.yaml"))
    assert "d_fine.yaml" not in err


def test_legitimate_anchors_bom_and_crlf_still_load(tmp_path: Path) -> None:
    anchored = (
        "scenarios:\n"
        "  - &base\n    id: one\n    setting: A dinner.\n    relationship: friend\n    goals: [a, b]\n"
        "  - <<: *base\n    id: two\n"
    )
    path = write(tmp_path / "anchors.yaml", "\ufeff" + anchored.replace("\n", "\r\n"))
    library = load_path(path)
    assert list(library.scenarios) == ["one", "two"] and library.scenarios["two"].setting == "A dinner."
    json_path = write(tmp_path / "crlf.json", b"\xef\xbb\xbf" + json.dumps(SCENARIO, indent=2).replace("\n", "\r\n")
                      .encode())
    assert list(load_path(json_path).scenarios) == ["dinner_bill"]
    nested = write(tmp_path / "nested.yaml", "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    with pytest.raises(ScenarioFileError, match="expected a mapping with fields"):  # deep but allowed: a shape error
        load_path(nested)


def test_sotopia_dump_hostile_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"env_id": "E1", "scenario": "Two friends swap books.", "agent_goals": ["Get it", "Keep it"],
           "relationship": "3"}
    lines = [json.dumps(env), '{"env_id": "E2", "scenario": ', "[" * DEEP + "]" * DEEP,
             json.dumps({**env, "env_id": "E4", "scenario": "s" * (MAX_TEXT_CHARS + 1)}), json.dumps([1, 2])]
    dump = tmp_path / "dump"
    write(dump / "environment_profiles.jsonl", "\n".join(lines) + "\n")
    write(dump / "agent_profiles.jsonl", random.Random(2).randbytes(3000))
    write(dump / "relationship_profiles.jsonl", '{"relationship_id": "R1"}\n'.encode("utf-16"))
    code, err = validate(dump, capsys)
    assert code == 2 and "Traceback" not in err
    assert "environment_profiles.jsonl: line 2, column 30: invalid JSON" in err
    assert "environment_profiles.jsonl: line 3: nested more than 64 levels deep" in err
    assert "environment_profiles.jsonl: line 5: expected one JSON object per line, got list" in err
    assert "agent_profiles.jsonl: binary data" in err
    assert "relationship_profiles.jsonl: the file is UTF-16 text" in err
    write(dump / "environment_profiles.jsonl", "\n".join([lines[0], lines[3]]) + "\n")
    (dump / "agent_profiles.jsonl").unlink()
    (dump / "relationship_profiles.jsonl").unlink()
    code, err = validate(dump, capsys)
    assert "line 2 (id 'E4'): scenario -> text of 10,001 characters is over the 10,000-character limit" in err
    sparse(dump / "environment_profiles.jsonl", MAX_SCENARIO_FILE_BYTES + 1)
    code, err = validate(dump / "environment_profiles.jsonl", capsys)
    assert_refused(code, err, dump / "environment_profiles.jsonl", "over the 16 MiB limit for SOTOPIA dump files")


# --------------------------------------------------------------------------------- benchmark files


@pytest.mark.parametrize(
    ("bench", "name", "content", "expected"),
    [
        ("jsonl", "deep.jsonl", "[" * DEEP + "]" * DEEP, "line 1: nested more than 64 levels deep"),
        ("jsonl", "deep_field.jsonl", '{"question": ' + "[" * 70 + "]" * 70 + ', "answer": "a"}',
         "line 1: nested more than 64 levels deep"),
        ("hi-tom", "deep.json", '{"data": ' + "[" * DEEP + "]" * DEEP + "}", "nested more than 64 levels deep"),
        ("jsonl", "broken.jsonl", '{"question": "q", "answer": "a"}\n{"question": "q", "answer\n',
         "line 2: invalid JSON"),
        ("jsonl", "long.jsonl", json.dumps({"question": "q" * 100_001, "answer": "a"}),
         "line 1: field 'question': text of 100,001 characters is over the 100,000-character limit"),
        ("jsonl", "long_option.jsonl", json.dumps({"question": "q", "options": ["a", "b" * 100_001], "answer": 0}),
         "field 'options': entry 1: text of 100,001 characters"),
        ("jsonl", "big_number.jsonl", '{"question": "q", "answer": ' + "1" * 5000 + "}",
         "line 1: invalid JSON: a number with more than 4,300 digits"),
        ("jsonl", "utf16.jsonl", '{"question": "q", "answer": "a"}\n'.encode("utf-16"), "is UTF-16 text"),
        ("jsonl", "utf16_no_bom.jsonl", '{"question": "q", "answer": "a"}\n'.encode("utf-16-be"),
         "looks like UTF-16 text without a byte-order mark"),
        ("tombench-hard", "latin1.csv", "story,question,option_a,option_b,option_c,option_d,answer,ability\n"
         "Caf\xe9,q,a,b,,,A,Belief: x\n".encode("latin-1"), "line 2, column 4: not UTF-8 text: byte 0xe9"),
        ("tombench-hard", "huge_field.csv", "story,question,option_a,option_b,option_c,option_d,answer,ability\n"
         + "s" * 200_000 + ",q,a,b,,,A,Belief: x\n", "invalid CSV: field larger than field limit"),
        ("emobench-ea", "EA.jsonl", random.Random(3).randbytes(2048), "binary data"),
        ("tom-rl", "test.jsonl", b'{"story": "s", "question": "q", "answer": "a"}\n\x00\x00garbage', "binary data"),
    ],
    ids=short_id,
)
def test_hostile_benchmark_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], bench: str, name: str,
                                content: str | bytes, expected: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(bench, path)
    assert str(path) in str(info.value) and expected in str(info.value)
    assert_refused(*run_mcq(bench, path, capsys), path, expected)


def test_benchmark_file_over_the_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sparse(tmp_path / "huge.jsonl", 64 * MiB + 1)
    assert_refused(*run_mcq("jsonl", path, capsys), path, "the file is 64.0 MiB, over the 64 MiB limit for benchmark")
    path = sparse(tmp_path / "huge.json", 100 * MiB)
    with pytest.raises(BenchmarkError, match="the file is 100 MiB, over the 64 MiB limit"):
        load_benchmark("hi-tom", path)


# --------------------------------------------------------------------------------- training configs


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (alias_bomb("mcq"), "alias bomb"),
        ("model: " + "[" * DEEP + "]" * DEEP, "nested more than 64 levels deep"),
        ("model: local\n".encode("utf-16"), "is UTF-16 text"),
        ("model: caf\xe9\n".encode("latin-1"), "line 1, column 11: not UTF-8 text"),
        (random.Random(4).randbytes(1000), "binary data"),
        ("seed: " + "7" * 5000, "a number with more than 4,300 digits"),
        ("model: [unclosed\n", "invalid YAML"),
    ],
    ids=["alias_bomb", "deep", "utf16", "latin1", "binary", "big_number", "broken"],
)
def test_hostile_config_file(tmp_path: Path, content: str | bytes, expected: str) -> None:
    path = write(tmp_path / "train.yaml", content)
    with pytest.raises(ValueError) as info:
        read_yaml(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_config_over_the_size_limit(tmp_path: Path) -> None:
    path = sparse(tmp_path / "train.yaml", 2 * MiB)
    with pytest.raises(ValueError, match="over the 1 MiB limit for config files"):
        read_yaml(path)


def test_config_with_bom_crlf_and_merge_keys_loads(tmp_path: Path) -> None:
    text = "base: &base\r\n  seed: 3\r\nsettings:\r\n  <<: *base\r\n  model: local\r\n"
    path = write(tmp_path / "train.yaml", b"\xef\xbb\xbf" + text.encode())
    assert read_yaml(path)["settings"] == {"seed": 3, "model": "local"}


# --------------------------------------------------------------------------------- generated malformed files

BREAKERS = ("truncated", "binary", "wide", "latin1", "deep", "alias_bomb", "long_text", "big_number", "wrong_type")
"""Each one always breaks the file it is applied to (a YAML prefix, for example, may still be valid: not used)."""

texts = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")),
                min_size=1, max_size=12).map(lambda s: "t" + s.strip())


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(target, file name, bytes): a scenario YAML/JSON file, a SOTOPIA dump file or a benchmark JSONL file."""
    target = draw(st.sampled_from(("scenario.yaml", "scenario.json", "sotopia", "benchmark")))
    breaker = draw(st.sampled_from(BREAKERS if target == "scenario.yaml" or target == "scenario.json"
                                   else [b for b in BREAKERS if b != "alias_bomb"]))
    if target == "scenario.yaml" and breaker == "truncated":
        breaker = "wrong_type"
    if target.startswith("scenario"):
        record = {"id": "s1", "setting": draw(texts), "goals": [draw(texts), draw(texts)], "relationship": "friend"}
        text_key, number_key = "setting", "max_turns"
    elif target == "sotopia":
        record = {"env_id": "E1", "scenario": draw(texts), "agent_goals": [draw(texts), draw(texts)],
                  "relationship": "3", "extra": draw(texts)}
        text_key, number_key = "scenario", "relationship"
    else:
        record = {"question": draw(texts), "answer": draw(texts)}
        text_key, number_key = "question", "answer"
    if breaker == "long_text":
        limit = 100_000 if target == "benchmark" else MAX_TEXT_CHARS
        record[text_key] = "x" * draw(st.integers(limit + 1, limit + 50))
    elif breaker == "deep":
        record[text_key] = "DEEP"
    elif breaker == "big_number":
        record[number_key] = "BIGNUMBER"
    elif breaker == "wrong_type":
        record[draw(st.sampled_from(sorted(record)))] = draw(st.sampled_from([None, 7, [], {"x": 1}]))
        if target == "sotopia" and "extra" in record and not isinstance(record["extra"], str):
            record["scenario"] = None  # extra keys are allowed in SOTOPIA's records: break a real one
        if target == "benchmark":
            record["unknown_field"] = 1
    if target == "scenario.yaml":
        import yaml

        text = yaml.safe_dump(record, allow_unicode=True)
        if breaker == "alias_bomb":
            text += alias_bomb("x", draw(st.integers(5, 9)), draw(st.integers(8, 9)))
    else:
        lines = [json.dumps(record, ensure_ascii=False)]
        if target != "scenario.json":
            others = [json.dumps({**record, "env_id": f"E{i + 2}"} if target == "sotopia" else record)
                      for i in range(draw(st.integers(0, 3)))]
            others = [line for line in others if breaker in ("binary", "wide", "latin1")]  # broken: keep it alone
            position = draw(st.integers(0, len(others)))
            lines = others[:position] + lines + others[position:]
        text = "\n".join(lines) + "\n"
    depth = draw(st.integers(MAX_DEPTH + 1, 3000))
    text = text.replace('"DEEP"', "[" * depth + "]" * depth).replace("DEEP", "[" * depth + "]" * depth)
    text = text.replace('"BIGNUMBER"', "9" * draw(st.integers(4301, 5000))).replace(
        "BIGNUMBER", "9" * 4400)
    if breaker == "alias_bomb" and target == "scenario.json":  # JSON has no aliases: a bomb-sized document instead
        text = "[" * depth + "]" * depth
    data = text.encode()
    if breaker == "truncated":
        line = text.rstrip("\n").split("\n")
        cut = draw(st.integers(1, len(line[-1]) - 1))
        data = ("\n".join([*line[:-1], line[-1][:cut]]) + "\n").encode()
    elif breaker == "binary":
        position = draw(st.integers(0, len(data)))
        data = data[:position] + b"\x00" + draw(st.binary(max_size=40)) + data[position:]
    elif breaker == "wide":
        data = text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])))
    elif breaker == "latin1":
        position = draw(st.integers(0, len(text)))
        data = text[:position].encode() + b"\xe9x" + text[position:].encode()
    name = {"scenario.yaml": "case.yaml", "scenario.json": "case.json", "sotopia": "environment_profiles.jsonl",
            "benchmark": "items.jsonl"}[target]
    return target, name, data


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=malformed())
def test_generated_malformed_files_exit_2_naming_the_file(case: tuple[str, str, bytes],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    target, name, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "in" / name, data)
        capsys.readouterr()
        if target == "benchmark":
            code, err = run_mcq("jsonl", path, capsys)
        else:
            code, err = validate(path.parent if target == "sotopia" else path, capsys)
        assert_refused(code, err, path)
