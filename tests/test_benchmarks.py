"""Benchmark loaders: the real shared files, files of the same format written here, and bad files."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import require_module

from eval.benchmarks import BENCHMARKS, BenchmarkError, BenchmarkFormatError, load_benchmark
from eval.benchmarks.hitom import split_choices
from eval.benchmarks.tomrl import split_inline_options


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def format_error(name: str, path: Path, **options) -> BenchmarkFormatError:
    with pytest.raises(BenchmarkFormatError) as info:
        load_benchmark(name, path, **options)
    return info.value


# --------------------------------------------------------------------------------------------------
# Real shared files


def test_tombench_shared(shared_data: Path) -> None:
    items = load_benchmark("tombench", shared_data / "tombench")
    assert len(items) == 2860
    categories = Counter(it.tags["category"] for it in items)
    assert categories == {
        "Belief": 882, "Non-Literal Communication": 748, "Emotion": 420,
        "Intention": 340, "Knowledge": 290, "Desire": 180,
    }
    assert Counter(it.answer_letter for it in items) == {"B": 967, "A": 768, "C": 619, "D": 506}
    assert len(Counter(it.tags["task"] for it in items)) == 20
    first = items[0]
    assert first.tags["task"] == "Ambiguous Story Task"
    assert first.context and first.question and len(first.options) == 4
    assert first.tags["ability"].startswith(first.tags["category"].split()[0])


def test_tombench_single_file_and_chinese(shared_data: Path) -> None:
    path = shared_data / "tombench" / "False Belief Task.jsonl"
    en = load_benchmark("tombench", path)
    zh = load_benchmark("tombench", path, language="zh")
    assert len(en) == len(zh) == 600
    assert en[0].options == ["Backpack", "Handbag", "Tote bag", "Briefcase"]
    assert zh[0].options[0] == "背包" and zh[0].answer == en[0].answer == 0


def test_hitom_shared(shared_data: Path) -> None:
    path = shared_data / "hi-tom" / "Hi-ToM_data.json"
    items = load_benchmark("hi-tom", path)
    assert len(items) == 600
    assert Counter(it.tags["order"] for it in items) == {str(k): 120 for k in range(5)}
    assert all(len(it.options) == 15 for it in items)
    assert items[0].answer_text == "green_drawer" and items[0].options[items[0].answer] == "green_drawer"
    assert {it.tags["deception"] for it in items} == {"true", "false"}
    vp = load_benchmark("hi-tom", path, prompting_type="VP")
    assert len(vp) == 600
    assert not vp[0].context.startswith("Read the following story")
    assert len(load_benchmark("hi-tom", path, prompting_type=None)) == 1200


def test_emobench_shared(shared_data: Path) -> None:
    ea = load_benchmark("emobench-ea", shared_data / "emobench" / "EA.jsonl")
    assert len(ea) == 200 and all(it.tags["language"] == "en" for it in ea)
    assert ea[0].question == "In this scenario, what is the most effective action for Sarah?"
    assert ea[0].answer_text == "Suggest her brother to talk to a teacher or a school counselor"
    assert len(load_benchmark("emobench-ea", shared_data / "emobench" / "EA.jsonl", language="all")) == 400
    eu = load_benchmark("emobench-eu", shared_data / "emobench" / "EU.jsonl")
    assert len(eu) == 400
    groups = Counter(it.group for it in eu)
    assert len(groups) == 200 and set(groups.values()) == {2}
    assert {it.tags["part"] for it in eu} == {"emotion", "cause"}
    assert len(eu[0].options) == 6 and eu[0].answer_text == "Delight"


def test_tomrl_shared(shared_data: Path) -> None:
    train = load_benchmark("tom-rl", shared_data / "tom-rl" / "train.jsonl")
    assert len(train) == 3200
    assert Counter(it.tags["data_source"] for it in train) == {"hi_tom": 2000, "explore_tom": 1200}
    assert all(not it.options and it.answer_text for it in train)
    test = load_benchmark("tom-rl", shared_data / "tom-rl")  # a folder: the test split
    assert len(test) == 8060
    assert test[0].tags["question_type"] == "second_order_false_belief"
    # "(and only this action)" is not an option list
    assert not any(it.options for it in test)
    cleaned = load_benchmark("tom-rl", shared_data / "tom-rl" / "Hi_ToM_cleaned.csv")
    assert len(cleaned) == 600 and all(len(it.options) == 15 for it in cleaned)
    assert cleaned[0].question == "Where is the lettuce really?"
    assert cleaned[0].options[cleaned[0].answer] == "green_drawer"
    assert cleaned[0].tags["order"] == "0" and cleaned[0].tags["deception"] == "false"


def test_default_paths_point_at_the_shared_data(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALGYM_SHARED_DATA", str(shared_data))
    assert len(load_benchmark("emobench-ea")) == 200
    with pytest.raises(BenchmarkError, match="--data"):
        load_benchmark("socialiqa")


# --------------------------------------------------------------------------------------------------
# Formats with no shared copy


def test_tombench_hard_csv(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "hard.csv",
        ["Story", "Question", "Option A", "OPTION-B", "option_c", "option d", "Answer", "Ability"],
        [
            ["Ann hides a ball.", "Where will Bob look?", "box", "bag", "basket", "", "C",
             "Belief: Second-order beliefs"],
            ["Tom smiles.", "Is Tom happy?", "yes", "no", "", "", "a", "emotion: Typical emotional reactions"],
        ],
    )
    items = load_benchmark("tombench-hard", path)
    assert [it.options for it in items] == [["box", "bag", "basket"], ["yes", "no"]]
    assert [it.answer for it in items] == [2, 0]
    assert items[1].tags["category"] == "Emotion"
    assert BENCHMARKS["tombench-hard"].runs == 5 and BENCHMARKS["tombench-hard"].shuffle


def test_tombench_hard_bad_header_and_letter(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", ["story", "question", "option_a", "option_b", "answer"],
                     [["s", "q", "a", "b", "A"]])
    error = format_error("tombench-hard", path)
    assert "h.csv" in str(error) and "line 1" in str(error) and "ability" in str(error)
    path = write_csv(tmp_path / "h2.csv", ["story", "question", "option_a", "option_b", "option_c", "option_d",
                                           "answer", "ability"],
                     [["s", "q", "a", "b", "c", "d", "A", "Belief: x"], ["s", "q", "a", "b", "", "", "D", "Belief: x"]])
    error = format_error("tombench-hard", path)
    assert (error.where, error.field) == ("line 3", "answer")
    assert "names no option" in str(error)


def test_socialiqa_published_layout(tmp_path: Path) -> None:
    rows = [
        {"context": "Tracy gave Jordan a gift.", "question": "How would Jordan feel?",
         "answerA": "grateful", "answerB": "angry", "answerC": "bored"},
        {"context": "Kai lost the race.", "question": "What will Kai want to do?",
         "answerA": "celebrate", "answerB": "train more", "answerC": "sleep", "promptDim": "wants"},
    ]
    write_jsonl(tmp_path / "dev.jsonl", rows)
    (tmp_path / "dev-labels.lst").write_text("1\n2\n", encoding="utf-8")
    items = load_benchmark("socialiqa", tmp_path)  # folder: finds dev.jsonl and its labels
    assert [it.answer for it in items] == [0, 1]
    assert items[1].tags == {"dimension": "wants"}
    (tmp_path / "dev-labels.lst").write_text("1\n", encoding="utf-8")
    with pytest.raises(BenchmarkFormatError, match="has 1 labels but"):
        load_benchmark("socialiqa", tmp_path / "dev.jsonl")
    (tmp_path / "dev-labels.lst").write_text("1\n4\n", encoding="utf-8")
    error = format_error("socialiqa", tmp_path / "dev.jsonl")
    assert error.path.endswith("dev-labels.lst") and error.where == "line 2"


def test_socialiqa_hf_layout(tmp_path: Path) -> None:
    rows = [{"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "3"}]
    path = tmp_path / "validation.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert load_benchmark("socialiqa", path)[0].answer == 2
    write_jsonl(tmp_path / "x.jsonl", [{**rows[0], "label": "3"}, {k: v for k, v in rows[0].items() if k != "answerB"}])
    error = format_error("socialiqa", tmp_path / "x.jsonl")
    assert (error.where, error.field) == ("line 2", "answerB")


def test_socialiqa_parquet(tmp_path: Path) -> None:
    pa = require_module("pyarrow")
    pq = require_module("pyarrow.parquet")
    table = pa.table({"context": ["c1"], "question": ["q1"], "answerA": ["x"], "answerB": ["y"],
                      "answerC": ["z"], "label": ["2"]})
    pq.write_table(table, tmp_path / "validation-00000-of-00001.parquet")
    items = load_benchmark("socialiqa", tmp_path, split="dev")
    assert items[0].options == ["x", "y", "z"] and items[0].answer == 1


def test_simpletom_hf_layout(tmp_path: Path) -> None:
    sub = tmp_path / "mental-state-qa"
    sub.mkdir()
    rows = [
        {"id": "s1", "story": "The milk in the fridge is spoiled. Mary takes it.", "question": "Is Mary aware?",
         "scenario_name": "food", "choices": {"text": ["Yes", "No"], "label": ["A", "B"]}, "answerKey": "B"},
    ]
    write_jsonl(sub / "test.jsonl", rows)
    items = load_benchmark("simpletom", tmp_path)
    assert items[0].id == "simpletom/mental-state-qa/test/s1"
    assert items[0].answer == 1 and items[0].tags == {"subset": "mental-state-qa", "scenario": "food"}
    write_jsonl(sub / "test.jsonl", [{**rows[0], "answerKey": "C"}])
    error = format_error("simpletom", tmp_path)
    assert (error.where, error.field) == ("line 1", "answerKey")


def test_generic_jsonl(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mine.jsonl", [
        {"id": "a", "context": "ctx", "question": "q?", "options": ["x", "y", "z"], "answer": 2, "tags": {"k": 1}},
        {"question": "q2?", "options": ["x", "y"], "answer": "B"},
        {"question": "q3?", "options": ["A", "y"], "answer": "A"},
        {"question": "q4?", "options": ["red", "blue"], "answer": "blue", "group": "g"},
        {"question": "free?", "answer": "the garden"},
    ])
    items = load_benchmark("jsonl", path)
    assert [it.answer for it in items[:4]] == [2, 1, 0, 1]
    assert items[0].tags == {"k": "1"} and items[1].id == "mine/2" and items[3].group == "g"
    assert not items[4].options and items[4].answer_text == "the garden"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"options": ["x", "y"], "answer": 0}, "question", "missing"),
        ({"question": "q", "options": ["x", "y"], "answer": "z"}, "answer", "neither"),
        ({"question": "q", "options": ["x", "y"], "answer": 5}, "answer", "out of range"),
        ({"question": "q", "options": "x, y", "answer": 0}, "options", "list"),
        ({"question": "q", "options": ["x"], "answer": 0, "tag": {}}, "tag", "unknown"),
    ],
)
def test_generic_jsonl_bad_rows(tmp_path: Path, row: dict, field: str, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "ok", "options": ["a", "b"], "answer": 0}, row])
    error = format_error("jsonl", path)
    assert (error.where, error.field) == ("line 2", field)
    assert message in error.message and str(path) in str(error)


def test_tomrl_inline_options(tmp_path: Path) -> None:
    assert split_inline_options("Where is it? (red box / blue_bag)") == ("Where is it?", ["red box", "blue_bag"])
    assert split_inline_options("Before X (and only this action)?") == ("Before X (and only this action)?", [])
    path = write_jsonl(tmp_path / "test.jsonl", [
        {"data_source": "mine", "story": "s", "question": "Where? (a / b)", "answer": "b",
         "extra_info": {"question_order": 2, "params": {"x": 1}, "nth_order": None}},
        {"story": "s", "question": "Where?", "answer": "kitchen"},
    ])
    items = load_benchmark("tom-rl", path)
    assert items[0].options == ["a", "b"] and items[0].answer == 1
    assert items[0].tags == {"data_source": "mine", "order": "2"}
    assert not items[1].options and items[1].answer_text == "kitchen"
    write_jsonl(tmp_path / "test.jsonl", [{"story": "s", "question": "Where? (a / b)", "answer": "c"}])
    error = format_error("tom-rl", tmp_path / "test.jsonl")
    assert (error.where, error.field) == ("line 1", "answer") and "not one of the options" in error.message


def test_generated_items() -> None:
    items = load_benchmark("generated", n=5, seed=3)
    assert len(items) == 5 and items == load_benchmark("generated", n=5, seed=3)
    with pytest.raises(BenchmarkError, match="takes no data path"):
        load_benchmark("generated", "x.jsonl")


# --------------------------------------------------------------------------------------------------
# Bad files of the shared formats


def test_tombench_bad_files(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "tombench" / "Moral Emotions.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    bad = tmp_path / "Moral Emotions.jsonl"
    bad.write_text("\n".join([lines[0], "{not json", lines[2]]) + "\n", encoding="utf-8")
    error = format_error("tombench", bad)
    assert error.where == "line 2" and "invalid JSON" in error.message and "Moral Emotions.jsonl" in str(error)
    row = json.loads(lines[0])
    del row["STORY"]
    write_jsonl(bad, [json.loads(lines[1]), row])
    error = format_error("tombench", tmp_path)
    assert (error.where, error.field) == ("line 2", "STORY")
    row = json.loads(lines[0])
    row["答案\nANSWER"] = "E"
    write_jsonl(bad, [row])
    error = format_error("tombench", bad)
    assert error.field == "答案\nANSWER" and "names no option" in error.message
    row["答案\nANSWER"] = "A. "  # the stray upstream spelling is accepted
    write_jsonl(bad, [row])
    assert load_benchmark("tombench", bad)[0].answer == 0


def test_hitom_bad_files(tmp_path: Path) -> None:
    record = {"prompting_type": "CoTP", "deception": False, "story_length": 1, "question_order": 0,
              "sample_id": 0, "story": "1 A is here.", "question": "Where?", "choices": "A. box, B. bag",
              "answer": "bag"}
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"data": [record, {**record, "sample_id": 1, "answer": "tin"}]}), encoding="utf-8")
    error = format_error("hi-tom", path)
    assert (error.where, error.field) == ("record 2", "answer") and "not one of the options" in error.message
    path.write_text(json.dumps({"data": [{**record, "choices": "box, bag"}]}), encoding="utf-8")
    assert format_error("hi-tom", path).field == "choices"
    path.write_text('{"data": [\n{"x": 1},,\n]}', encoding="utf-8")
    error = format_error("hi-tom", path)
    assert error.where == "line 2" and "invalid JSON" in error.message
    assert split_choices("A. x, B. y, C. z") == ["x", "y", "z"]
    assert split_choices("B. x, C. y") is None


def test_emobench_bad_files(tmp_path: Path) -> None:
    record = {"qid": "1", "language": "en", "coarse_category": "c", "finegrained_category": "f", "scenario": "s",
              "subject": "Dora", "emotion_choices": ["Joy", "Anger"], "emotion_label": "Joy",
              "cause_choices": ["x", "y"], "cause_label": "z"}
    path = write_jsonl(tmp_path / "EU.jsonl", [record])
    error = format_error("emobench-eu", path)
    assert (error.where, error.field) == ("line 1", "cause_label")
    ea = {"qid": "1", "language": "en", "category": "c", "question type": "Action", "scenario": "s",
          "subject": "S", "label": "a"}
    path = write_jsonl(tmp_path / "EA.jsonl", [ea])
    assert format_error("emobench-ea", path).field == "choices"
    with pytest.raises(BenchmarkError, match="language"):
        load_benchmark("emobench-ea", path, language="fr")


def test_registry_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="unknown benchmark"):
        load_benchmark("nope", tmp_path)
    with pytest.raises(BenchmarkError, match="unknown option"):
        load_benchmark("hi-tom", tmp_path, language="en")
    with pytest.raises(BenchmarkError, match="no such file"):
        load_benchmark("tombench", tmp_path / "missing")
    path = write_jsonl(tmp_path / "dup.jsonl", [{"id": "x", "question": "q", "answer": "a"}] * 2)
    with pytest.raises(BenchmarkError, match="twice"):
        load_benchmark("jsonl", path)
    (tmp_path / "latin.jsonl").write_bytes(b'{"question": "q", "answer": "a"}\n{"question": "caf\xe9"}\n')
    error = format_error("jsonl", tmp_path / "latin.jsonl")
    assert error.where == "line 2, column 18" and "UTF-8" in error.message


# --------------------------------------------------------------------------------------------------
# Folders as published: each loader picks its own file


EA_ROW = {"qid": "1", "language": "en", "category": "Personal-Others", "question type": "Action",
          "scenario": "Sam's friend forgot their birthday.", "subject": "Sam",
          "choices": ["Say nothing", "Tell the friend kindly", "Leave", "Shout"], "label": "Tell the friend kindly"}
EU_ROW = {"qid": "1", "language": "en", "coarse_category": "complex", "finegrained_category": "transition",
          "scenario": "Dora's plan fell through, then a better one came up.", "subject": "Dora",
          "emotion_choices": ["Joy", "Anger"], "emotion_label": "Joy",
          "cause_choices": ["The new plan", "The rain"], "cause_label": "The new plan"}


def emobench_repo(root: Path) -> Path:
    """EmoBench as published: data/EA.jsonl, data/EU.jsonl and result CSVs in data/EA/Results/."""
    data = root / "data"
    (data / "EA" / "Results" / "m").mkdir(parents=True)
    write_csv(data / "EA" / "Results" / "m" / "m-en.csv", ["qid", "answer"], [["1", "x"]])
    write_jsonl(data / "EA.jsonl", [EA_ROW, {**EA_ROW, "qid": "2", "language": "zh"}])
    write_jsonl(data / "EU.jsonl", [EU_ROW])
    (root / "README.md").write_text("EmoBench\n", encoding="utf-8")
    return root


def test_emobench_folder_as_published_picks_each_part(tmp_path: Path) -> None:
    root = emobench_repo(tmp_path / "EmoBench")
    for folder in (root / "data", root):  # the data folder, or the repository root above it
        ea = load_benchmark("emobench-ea", folder)
        assert [it.id for it in ea] == ["emobench-ea/en/1"] and ea[0].answer_text == "Tell the friend kindly"
        assert len(load_benchmark("emobench-ea", folder, language="all")) == 2
        eu = load_benchmark("emobench-eu", folder)
        assert [it.id for it in eu] == ["emobench-eu/en/1/emotion", "emobench-eu/en/1/cause"]


def test_emobench_shared_folder(shared_data: Path) -> None:
    assert len(load_benchmark("emobench-ea", shared_data / "emobench")) == 200
    assert len(load_benchmark("emobench-eu", shared_data / "emobench")) == 400


def test_emobench_other_part_says_which_benchmark_reads_it(tmp_path: Path) -> None:
    root = emobench_repo(tmp_path / "EmoBench")
    error = format_error("emobench-ea", root / "data" / "EU.jsonl")
    assert error.where == "line 1" and "EU record" in error.message and "--benchmark emobench-eu" in error.message
    assert "--benchmark emobench-ea" in format_error("emobench-eu", root / "data" / "EA.jsonl").message
    (root / "data" / "EA.jsonl").unlink()
    with pytest.raises(BenchmarkError, match=r"no EA.jsonl in this folder \(found EU.jsonl\)"):
        load_benchmark("emobench-ea", root / "data")


def test_emobench_folder_of_own_files_is_read_whole(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "part1.jsonl", [EA_ROW])
    write_jsonl(tmp_path / "part2.jsonl", [{**EA_ROW, "qid": "2"}])
    assert len(load_benchmark("emobench-ea", tmp_path)) == 2


def test_tomrl_published_layout_resolves_the_split(tmp_path: Path) -> None:
    """ToM-RL publishes data/cleaned_tom/ToM_{train,test}_*.parquet and raw/*.csv (here as JSONL, same names)."""
    folder = tmp_path / "cleaned_tom"
    (folder / "raw").mkdir(parents=True)
    row = {"story": "Ann puts the ball in the box.", "question": "Where is the ball?", "answer": "box",
           "data_source": "hi_tom"}
    write_jsonl(folder / "ToM_test_HiExTi_hint.jsonl", [row] * 3)
    write_jsonl(folder / "ToM_train_HiEx_hint.jsonl", [row] * 2)
    write_csv(folder / "raw" / "Hi_ToM_cleaned.csv", ["story", "question", "answer"], [["s", "q", "a"]])
    assert len(load_benchmark("tom-rl", folder)) == 3
    assert len(load_benchmark("tom-rl", folder, split="train")) == 2
    with pytest.raises(BenchmarkError, match="no data file for split 'dev'"):
        load_benchmark("tom-rl", folder, split="dev")


def test_tombench_repository_root_reads_its_data_folder(tmp_path: Path) -> None:
    row = {"STORY": "Ann hides the key.", "QUESTION": "Where does Bo look?", "OPTION-A": "drawer", "OPTION-B": "box",
           "OPTION-C": None, "OPTION-D": None, "答案\nANSWER": "A", "能力\nABILITY": "Belief: false belief"}
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "False Belief Task.jsonl", [row])
    (tmp_path / "README.md").write_text("ToMBench\n", encoding="utf-8")
    items = load_benchmark("tombench", tmp_path)
    assert [it.tags["task"] for it in items] == ["False Belief Task"] and items[0].options == ["drawer", "box"]


def test_bom_and_crlf_files_load(tmp_path: Path) -> None:
    line = json.dumps({"question": "Where is the ball?", "options": ["box", "bag"], "answer": "box"})
    (tmp_path / "q.jsonl").write_bytes(b"\xef\xbb\xbf" + f"{line}\r\n{line.replace('ball', 'cup')}\r\n".encode())
    assert [it.question for it in load_benchmark("jsonl", tmp_path / "q.jsonl")] == ["Where is the ball?",
                                                                                       "Where is the cup?"]
    header = "story,question,option_a,option_b,option_c,option_d,answer,ability"
    csv_text = f"\ufeff{header}\r\n\"Ann\r\nhides it.\",Where?,box,bag,,,A,Belief: first order\r\n"
    (tmp_path / "hard.csv").write_bytes(csv_text.encode("utf-8"))
    items = load_benchmark("tombench-hard", tmp_path / "hard.csv")
    assert items[0].context == "Ann\nhides it." and items[0].options == ["box", "bag"]
