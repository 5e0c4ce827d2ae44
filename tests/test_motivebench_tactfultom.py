"""MotiveBench and TactfulToM: loaders on our own fixtures in the published formats, and their protocols."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer, Reply

from eval.benchmarks import BenchmarkError, BenchmarkFormatError, get_benchmark, load_benchmark
from eval.benchmarks.protocol import option_order
from eval.benchmarks.scoring import score_predictions
from eval.mcq import main

FIXTURES = Path(__file__).parent / "fixtures"
MOTIVE = FIXTURES / "motivebench"
TACTFUL = FIXTURES / "tactfultom"


# -- MotiveBench ------------------------------------------------------------------------------------


def test_motivebench_repository_layout_loads_every_source() -> None:
    items = load_benchmark("motivebench", MOTIVE)
    assert len(items) == 9  # 3 records x 3 questions
    assert Counter(it.tags["dataset"] for it in items) == {"Persona": 6, "Blog": 3}
    assert Counter(it.tags["question_type"] for it in items) == {
        "motivation": 3,
        "behavior": 3,
        "motivation_behavior": 3,
    }
    first = next(it for it in items if it.id == "motivebench/Persona/0/motivation")
    assert len(first.options) == 6 and first.options[1].startswith("She cares about people")
    assert first.answer == 1 and first.context == "" and first.question.startswith("Ines runs a small bakery")
    assert next(it for it in items if it.id == "motivebench/Persona/1/behavior").answer == 2


def test_motivebench_single_file_and_dataset_filter() -> None:
    assert len(load_benchmark("motivebench", MOTIVE / "Blog" / "Blog_questions.json")) == 3
    assert {it.tags["dataset"] for it in load_benchmark("motivebench", MOTIVE, dataset="Persona")} == {
        "Persona"
    }
    with pytest.raises(BenchmarkError, match="no MotiveBench dataset 'Yelp'"):
        load_benchmark("motivebench", MOTIVE, dataset="Yelp")


def _motive_record(**changes: object) -> dict:
    record = json.loads((MOTIVE / "Blog" / "Blog_questions.json").read_text())[0]
    record.update(changes)
    return record


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"Options 2": ["A. one", "B. two"]}, "Options 2", "expected 6 options"),
        (
            {"Options 1": ["B. x", "A. y", "C. z", "D. w", "E. v", "F. u"]},
            "Options 1",
            "should start with 'A'",
        ),
        ({"Correct Answer 3": "G"}, "Correct Answer 3", "names no option"),
        ({"Behavior Reasoning Question": ""}, "Behavior Reasoning Question", "empty"),
    ],
)
def test_motivebench_bad_records_name_file_record_and_field(
    tmp_path: Path, changes: dict, field: str, message: str
) -> None:
    path = tmp_path / "Mine_questions.json"
    path.write_text(json.dumps([_motive_record(), _motive_record(**changes)]), encoding="utf-8")
    with pytest.raises(BenchmarkFormatError) as info:
        load_benchmark("motivebench", path)
    assert info.value.where == "record 2" and info.value.field == field and message in str(info.value)
    assert str(path) in str(info.value)


def test_motivebench_folder_without_question_files_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"Persona/Persona_questions\.json"):
        load_benchmark("motivebench", tmp_path)


def test_motivebench_protocol_is_six_fixed_orders_averaged() -> None:
    bench = get_benchmark("motivebench")
    assert bench.runs == 6 and bench.aggregate == "mean" and len(bench.orders) == 6
    items = load_benchmark("motivebench", MOTIVE)
    for item in items:
        orders = [option_order(item, r, shuffle=True, seed=3, orders=bench.orders) for r in range(6)]
        assert all(sorted(o) == list(range(6)) for o in orders)
        # every option is shown first exactly once, so "always A" is right once in six orders
        assert sorted(o[0] for o in orders) == list(range(6))
    always_a = {
        it.id: [option_order(it, r, shuffle=False, seed=0, orders=bench.orders)[0] for r in range(6)]
        for it in items
    }
    summary, _ = score_predictions(items, always_a, aggregate="mean")
    assert summary.accuracy == pytest.approx(1 / 6) and summary.correct == 0
    assert summary.groups["question_type"]["behavior"] == pytest.approx(1 / 6)
    knowing = {it.id: [it.answer] * 6 for it in items}
    assert score_predictions(items, knowing, aggregate="mean")[0].accuracy == 1.0
    # half the runs right: the mean says 0.5 where a vote would say right or wrong
    half = {it.id: [it.answer, (it.answer + 1) % 6] * 3 for it in items}
    assert score_predictions(items, half, aggregate="mean")[0].accuracy == pytest.approx(0.5)


def test_motivebench_cli_asks_each_order_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeLLMServer(default=Reply.text("A")) as server:
        code = main(
            [
                "--model",
                "openai/fake",
                "--api-base",
                server.api_base,
                "--benchmark",
                "motivebench",
                "--data",
                str(MOTIVE / "Persona"),
                "--limit",
                "2",
                "--out",
                str(out),
            ]
        )
        assert server.count == 12
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["orders"] == [list(o) for o in get_benchmark("motivebench").orders]
    assert summary["aggregate"] == "mean" and summary["accuracy"] == pytest.approx(1 / 6)
    record = json.loads((out / "items.jsonl").read_text().splitlines()[0])
    assert [a["order"] for a in record["attempts"]] == [list(o) for o in get_benchmark("motivebench").orders]
    assert sum(record["run_correct"]) == 1


# -- TactfulToM -------------------------------------------------------------------------------------


def test_tactfultom_loads_choice_and_yes_no_questions() -> None:
    items = load_benchmark("tactfultom", TACTFUL)
    kinds = Counter(it.tags["kind"] for it in items)
    assert kinds == {"mcq": 4, "binary": 5}  # list questions and justificationQA are not loaded
    assert not any(
        it.tags["category"].endswith("_list") or it.tags["category"] == "justificationQA" for it in items
    )
    belief = next(it for it in items if it.id == "tactfultom/9-0-0-0-belief-0")
    assert belief.answer == 0 and len(belief.options) == 4 and belief.tags["tom_order"] == "first-order"
    assert belief.context.startswith("**Kemal**: Has anyone picked up")  # the full conversation, as published
    comprehension = next(it for it in items if it.tags["category"] == "comprehensionQA")
    assert comprehension.options == ["Yes", "No"] and comprehension.answer_text == "No"
    info = next(it for it in items if it.id == "tactfultom/9-0-0-0-info_access_binary-1")
    assert info.question.startswith("Information: Rosa finds the scarf itchy") and info.answer_text == "Yes"
    target = next(it for it in items if it.id == "tactfultom/9-0-0-0-answerability_binary-0")
    assert target.question.startswith("Target question: Who discussed")


def test_tactfultom_options_kinds_and_context() -> None:
    assert {it.tags["kind"] for it in load_benchmark("tactfultom", TACTFUL, kinds="binary")} == {"binary"}
    short = load_benchmark("tactfultom", TACTFUL, kinds="mcq", context="short")
    assert short[0].context.startswith("**Rosa**: Yuki, between us")
    with pytest.raises(BenchmarkError, match="kinds must be"):
        load_benchmark("tactfultom", TACTFUL, kinds="list")
    with pytest.raises(BenchmarkError, match="context must be"):
        load_benchmark("tactfultom", TACTFUL, context="medium")
    assert get_benchmark("tactfultom").shuffle and get_benchmark("tactfultom").runs == 1


def test_tactfultom_repository_root_reads_final_set_only(tmp_path: Path) -> None:
    final = tmp_path / "dataset" / "final_set"
    final.mkdir(parents=True)
    shutil.copy(TACTFUL / "Tactful_conv_set_0.json", final / "Tactful_conv_set_0.json")
    shutil.copy(TACTFUL / "Tactful_conv_set_0.json", final / "Tactful_conv_set_0 copy.json")  # as published
    shutil.copy(
        TACTFUL / "Tactful_conv_set_0.json", tmp_path / "dataset" / "Tactful_conv_set_0.json"
    )  # older draft
    assert len(load_benchmark("tactfultom", tmp_path)) == 9  # duplicates would be an id clash
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkError, match="dataset/final_set"):
        load_benchmark("tactfultom", tmp_path / "empty")


def _tactful_set() -> dict:
    return json.loads((TACTFUL / "Tactful_conv_set_0.json").read_text())[0]


@pytest.mark.parametrize(
    ("category", "changes", "field", "message"),
    [
        ("comprehensionQA", {"correct_answer": "maybe"}, "correct_answer", "expected yes or no"),
        ("beliefQAs", {"wrong_answer": []}, "wrong_answer", "one or more wrong answers"),
        ("fact_reasonQA", {"question": 7.5}, None, None),
        ("lieabilityQAs", {"question": ["not", "text"]}, "question", "expected text"),
    ],
)
def test_tactfultom_bad_questions_name_the_category_and_field(
    tmp_path: Path, category: str, changes: dict, field: str | None, message: str | None
) -> None:
    record = _tactful_set()
    record[category][0].update(changes)
    path = tmp_path / "Tactful_conv_set_1.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    if field is None:  # a number where text is expected is read as text, as in every loader
        assert load_benchmark("tactfultom", path)
        return
    with pytest.raises(BenchmarkFormatError) as info:
        load_benchmark("tactfultom", path)
    assert info.value.field == field and message in str(info.value)
    assert f"record 1, {category}[0]" in str(info.value) and str(path) in str(info.value)


def test_tactfultom_missing_conversation_is_a_format_error(tmp_path: Path) -> None:
    record = _tactful_set()
    del record["full_context"]
    path = tmp_path / "set.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    with pytest.raises(BenchmarkFormatError, match="'full_context': missing"):
        load_benchmark("tactfultom", path)


@pytest.mark.parametrize(
    ("bench", "name", "content", "expected"),
    [
        ("motivebench", "Mine_questions.json", b"\x00\x01\x02binary" * 50, "binary data"),
        ("motivebench", "Mine_questions.json", '[{"idx": 0}]'.encode("utf-16"), "is UTF-16 text"),
        ("tactfultom", "Tactful_conv_set_7.json", "[" * 100 + "]" * 100, "nested more than 64 levels deep"),
        ("tactfultom", "Tactful_conv_set_7.json", '{"sets": []}', "expected a JSON list of records"),
    ],
)
def test_hostile_files_are_refused_naming_the_file(
    tmp_path: Path, bench: str, name: str, content: str | bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(bench, path)
    assert str(path) in str(info.value) and expected in str(info.value)
