"""eval.suite: one command over the MCQ benchmarks, FanToM and SOTOPIA, its table, its resume, and the
report's suite section; against fake model and judge servers, on our own fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer, Reply
from test_interactive import PARTNER, judge_reply

from eval.report import main as report_main
from eval.suite import ModelResult, columns, main, slug

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for name in ("motivebench", "tactfultom", "fantom"):
        shutil.copytree(FIXTURES / name, root / name)
    return root


def argv(root: Path, out: Path, model: FakeLLMServer, judge: FakeLLMServer, *extra: str) -> list[str]:
    return [
        "--model", "openai/fake", "--api-base", model.api_base, "--data-root", str(root), "--out", str(out),
        "--n", "2", "--partner", PARTNER, "--judge", "openai/fake", "--judge-api-base", judge.api_base,
        "--sotopia-limit", "1", "--max-turns", "2", "--fantom-embedder", "none", "--concurrency", "4", *extra,
    ]  # fmt: skip


def load(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_suite_table_no_data_protocols_and_resume(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    with FakeLLMServer(default=Reply.text("A")) as model, FakeLLMServer(default=judge_reply(6, 4)) as judge:
        # a first, partial run: only MotiveBench and FanToM
        assert main(argv(data_root, out, model, judge, "--only", "motivebench,fantom")) == 0
        partial = load(out)["models"][0]["benchmarks"]
        assert partial["tactfultom"]["status"] == "skipped" and partial["motivebench"]["asked"] == 12
        first_calls = model.count
        # the full run asks only for what is missing
        assert main(argv(data_root, out, model, judge)) == 0
        full = load(out)
        result = full["models"][0]["benchmarks"]
        assert result["motivebench"]["asked"] == 0 and result["motivebench"]["reused"] == 12
        assert result["fantom"]["asked"] == 0 and result["tactfultom"]["asked"] == 2
        assert result["sotopia"]["asked"] == 1 and judge.count >= 1
        calls, judged = model.count, judge.count
        assert calls > first_calls
        # a third run asks nothing at all and reports the same numbers
        assert main(argv(data_root, out, model, judge)) == 0
        assert (model.count, judge.count) == (calls, judged)
    again = load(out)
    assert [m["benchmarks"]["motivebench"]["cells"] for m in again["models"]] == [
        m["benchmarks"]["motivebench"]["cells"] for m in full["models"]
    ]
    assert again["models"][0]["benchmarks"]["sotopia"]["reused"] == 1
    model_result = ModelResult.model_validate(again["models"][0])
    b = model_result.benchmarks
    # benchmarks without files say where to put them
    assert b["tombench"].status == "no data" and str(data_root / "tombench") in (b["tombench"].message or "")
    assert "github.com/zhchen18/ToMBench" in (b["tombench"].message or "")
    assert b["hi-tom"].message and str(data_root / "hi-tom" / "Hi-ToM_data.json") in b["hi-tom"].message
    # numbers: "always A" on MotiveBench's six fixed orders is right once in six
    assert b["motivebench"].cells["accuracy"].value == pytest.approx(1 / 6)
    assert b["motivebench"].protocol["aggregate"] == "mean" and b["motivebench"].protocol["seed"] == 0
    assert (
        b["fantom"].cells["all_star"].value is None
        and "unavailable" in b["fantom"].cells["all_star"].protocol
    )
    assert b["fantom"].cells["belief_choice"].comparable and b["fantom"].protocol["choice_order_seed"] == 0
    # SOTOPIA: the judge gives the test side 6 on the three 0..10 dimensions and 0 elsewhere
    assert b["sotopia"].cells["goal"].value == 6.0 and b["sotopia"].cells["overall"].value == pytest.approx(
        18 / 7
    )
    assert model_result.mcq_average_of == ["MotiveBench", "TactfulToM"]
    assert model_result.mcq_average.value == pytest.approx(
        (1 / 6 + b["tactfultom"].cells["accuracy"].value) / 2  # type: ignore[operator]
    )
    # the printed table: one row per model, every column, the no-data lines
    printed = capsys.readouterr().out
    assert "openai/fake" in printed and "MCQ avg" in printed and "SOTOPIA overall" in printed
    assert (
        f"no data  ToMBench: put github.com/zhchen18/ToMBench data/*.jsonl at {data_root / 'tombench'}"
        in printed
    )
    assert [key for key, _ in again["columns"]] == [key for key, _ in columns()]


def test_report_gets_a_suite_section(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "suite"
    with (
        FakeLLMServer(default=Reply.text("<b>A</b>")) as model,
        FakeLLMServer(default=judge_reply()) as judge,
    ):
        assert main(argv(data_root, out, model, judge, "--skip", "fantom")) == 0
    html_file = tmp_path / "suite.html"
    assert report_main([str(out), "-o", str(html_file)]) == 0
    html = html_file.read_text()
    assert 'id="suite0"' in html and "MotiveBench</b> — by group" in html and "by question_type" in html
    assert "SOTOPIA</b> — seven dimensions" in html and "episodes.sqlite" not in html.split('id="suite0"')[0]
    assert "no data" in html and "<b>A</b>" not in html  # model text is escaped
    assert 'id="transcripts"' in html  # the SOTOPIA episodes feed the usual sections


def test_usage_errors_exit_2(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--model", "openai/fake", "--data-root", str(data_root), "--out", str(tmp_path / "o")]
    assert main([*base, "--only", "tombench,nope"]) == 2
    assert "--only: unknown benchmark(s) ['nope']" in capsys.readouterr().err
    assert main(["--model", "x", "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main([*base, "--model", "openai/fake"]) == 2
    assert main([*base, "--n", "0"]) == 2
    assert main(["--model", "sip:", "--data-root", str(data_root), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_model_folders_are_distinct_names() -> None:
    assert slug("sip:local") == "sip_local" and slug("openai/gpt-4o") == "openai_gpt-4o"
    assert slug("sip:runs/grpo/checkpoint-600") == "sip_runs_grpo_checkpoint-600"
