"""MCQ scoring (votes, shuffles, groups, errors) without a model, and the CLI against a fake server."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.client import LLMCallError
from eval.benchmarks.protocol import option_order, present, read_reply
from eval.benchmarks.scoring import majority_vote, score_predictions
from eval.items import MCQItem
from eval.mcq import ask_items, evaluate, main, select_units

SIP_REPLY = (
    "<think>\n1. Cue Encoding: the ball was moved.\n2. Cue Interpretation: Sally did not see it.\n"
    "3. Goal Clarification: where Sally looks.\n4. Response Generation: option B fits.\n</think>\n"
    "<Answer>B</Answer>"
)


def item(i: int, answer: int = 1, *, group: str | None = None, tags: dict | None = None) -> MCQItem:
    return MCQItem(
        id=f"q{i}",
        benchmark="t",
        context=f"story {i}",
        question="Where?",
        options=["basket", "box", "bag", "drawer"],
        answer=answer,
        group=group,
        tags=tags or {},
    )


def run(coro):
    return asyncio.run(coro)


# --------------------------------------------------------------------------------------------------
# Pure scoring


def test_majority_vote_counts_unreadable_and_breaks_ties_by_first() -> None:
    assert majority_vote([2, 1, 2, None, 1]) == 2
    assert majority_vote([1, 2, 2, 1]) == 1
    assert majority_vote([None, None, 3, None, 3]) is None
    assert majority_vote([]) is None


def test_score_predictions_vote_groups_errors() -> None:
    items = [
        item(1, tags={"order": "1"}),
        item(2, tags={"order": "1"}),
        item(3, tags={"order": "2"}),
        item(4, group="g", tags={"part": "emotion", "order": "2"}),
        item(5, answer=0, group="g", tags={"part": "cause", "order": "2"}),
        item(6),
        item(7),
    ]
    predictions = {
        "q1": [1, 1, 0, 2, 1],  # majority right
        "q2": [0, 0, 1, None, None],  # majority wrong (tie with None, 0 first)
        "q3": [None, None, 1],  # unreadable majority
        "q4": [1],
        "q5": [3],  # group: emotion right, cause wrong -> wrong
        "q6": [1],
    }
    summary, scores = score_predictions(
        items, predictions, errors={"q7": 1}, format_ok=[True, False, True, True]
    )
    assert summary.n == 6 and summary.items == 7
    assert (summary.scored, summary.correct, summary.errors, summary.unparseable) == (5, 2, 1, 1)
    assert summary.accuracy == pytest.approx(2 / 5)
    assert summary.item_accuracy == pytest.approx(3 / 6)
    assert summary.format_ok_rate == pytest.approx(0.75)
    assert summary.groups["order"] == {"1": 0.5, "2": 0.0}
    assert summary.group_counts["order"] == {"1": 2, "2": 2}
    assert "part" not in summary.groups  # differs inside the group
    assert [s.correct for s in scores] == [True, False, False, True, False, True, False]
    assert scores[6].error and scores[2].unparseable


def test_group_right_only_when_both_parts_right() -> None:
    items = [item(1, group="g"), item(2, answer=0, group="g")]
    assert score_predictions(items, {"q1": [1], "q2": [0]})[0].accuracy == 1.0
    assert score_predictions(items, {"q1": [1], "q2": [2]})[0].accuracy == 0.0
    errored, _ = score_predictions(items, {"q1": [1], "q2": [0]}, errors={"q2": 1})
    assert (errored.errors, errored.scored, errored.accuracy) == (1, 0, None)


def test_shuffle_is_seeded_and_maps_back() -> None:
    it = item(1, answer=2)
    orders = [option_order(it, r, shuffle=True, seed=7) for r in range(5)]
    assert orders == [option_order(it, r, shuffle=True, seed=7) for r in range(5)]
    assert len({tuple(o) for o in orders}) > 1
    assert option_order(it, 0, shuffle=False, seed=7) == [0, 1, 2, 3]
    for order in orders:
        shown = present(it, order)
        assert shown.options[shown.answer] == "bag"
        gold_position = "ABCD"[shown.answer]
        reading = read_reply(it, order, f"<Answer>{gold_position}</Answer>", sip=False)
        assert reading.prediction == 2 and reading.shown == shown.answer
        reading = read_reply(it, order, "A", sip=False)
        assert reading.prediction == order[0]


# --------------------------------------------------------------------------------------------------
# Asking with an injected answerer


def _options_in(messages: list[dict[str, str]]) -> dict[str, str]:
    return dict(re.findall(r"^([A-D])\. (.+)$", messages[-1]["content"], re.MULTILINE))


def test_shuffled_runs_with_a_knowing_answerer_are_all_right() -> None:
    items = [item(i, answer=i % 4) for i in range(6)]
    gold = {f"story {i}": items[i].answer_text for i in range(6)}

    async def knows(messages: list[dict[str, str]]) -> str:
        story = re.search(r"story \d+", messages[-1]["content"]).group(0)
        letter = next(k for k, v in _options_in(messages).items() if v == gold[story])
        return (
            f"<think>1. Cue Encoding: x\n2. Cue Interpretation: x\n3. Goal Clarification: x\n"
            f"4. Response Generation: x\n</think>\n<Answer>{letter}</Answer>"
        )

    attempts = run(ask_items(items, knows, sip=True, runs=5, shuffle=True, seed=1, concurrency=3))
    summary, records = evaluate(items, attempts)
    assert summary.accuracy == 1.0 and summary.format_ok_rate == 1.0
    assert len({tuple(a.order) for tries in attempts for a in tries}) > 1  # options really moved
    assert records[0]["parsed"] == [0] * 5 and records[0]["vote_letter"] == "A"


def test_always_b_is_scored_through_the_mapping() -> None:
    items = [item(i, answer=0) for i in range(40)]

    async def always_b(messages: list[dict[str, str]]) -> str:
        return "B"

    attempts = run(ask_items(items, always_b, sip=False, runs=5, shuffle=True, seed=0))
    for tries in attempts:
        assert [a.prediction for a in tries] == [a.order[1] for a in tries]
    summary, _ = evaluate(items, attempts)
    # without shuffling "always B" would score 0 here; shuffled it wins some votes, never all
    assert 0 < summary.accuracy < 1
    unshuffled, _ = evaluate(items, run(ask_items(items, always_b, sip=False, runs=1)))
    assert unshuffled.accuracy == 0.0 and unshuffled.format_ok_rate == 1.0


def test_failed_calls_are_errors_and_gibberish_is_unparseable() -> None:
    items = [item(1), item(2), item(3)]

    async def flaky(messages: list[dict[str, str]]) -> str:
        content = messages[-1]["content"]
        if "story 1" in content:
            raise LLMCallError("boom", attempts=4)
        return "I am not sure." if "story 2" in content else "B"

    summary, records = evaluate(items, run(ask_items(items, flaky, sip=False)))
    assert (summary.errors, summary.unparseable, summary.correct, summary.scored) == (1, 1, 1, 2)
    assert records[0]["error"] and records[0]["attempts"][0]["error"] == "boom"
    assert records[0]["outputs"] == [None] and not records[0]["correct"]
    assert summary.format_ok_rate == 0.5


def test_select_units_keeps_groups_whole() -> None:
    items = [item(1, group="a"), item(2, group="a"), item(3), item(4, group="b"), item(5, group="b")]
    assert [it.id for it in select_units(items, 2)] == ["q1", "q2", "q3"]
    sampled = select_units(items, 2, sample=True, seed=3)
    assert sampled == select_units(items, 2, sample=True, seed=3)
    assert len({it.group or it.id for it in sampled}) == 2
    assert select_units(items, None) == items


# --------------------------------------------------------------------------------------------------
# CLI against a fake OpenAI-compatible server


class FakeServer:
    """A loopback chat-completions server answering every request with ``reply`` (or ``status``)."""

    def __init__(self, reply: str, status: int = 200) -> None:
        self.reply, self.status, self.requests = reply, status, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append(body)
                if outer.status != 200:
                    payload = {"error": {"message": "fake failure", "type": "server_error"}}
                else:
                    payload = {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": outer.reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                data = json.dumps(payload).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sip_server() -> Iterator[FakeServer]:
    with FakeServer(SIP_REPLY) as server:
        yield server


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_end_to_end(tmp_path: Path, sip_server: FakeServer) -> None:
    data = _jsonl(
        tmp_path / "mine.jsonl",
        [
            {"id": "a", "question": "q1", "options": ["x", "y", "z"], "answer": "B", "tags": {"kind": "k1"}},
            {"id": "b", "question": "q2", "options": ["x", "y"], "answer": 1, "tags": {"kind": "k2"}},
            {"id": "c", "question": "q3", "options": ["x", "y"], "answer": 0, "tags": {"kind": "k2"}},
        ],
    )
    out = tmp_path / "out"
    code = main(
        [
            "--model",
            "sip:openai/fake",
            "--api-base",
            sip_server.api_base,
            "--benchmark",
            "jsonl",
            "--data",
            str(data),
            "--out",
            str(out),
            "--concurrency",
            "2",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy"] == pytest.approx(2 / 3) and summary["n"] == 3
    assert summary["format_ok_rate"] == 1.0 and summary["unparseable"] == 0 and summary["errors"] == 0
    assert summary["groups"]["kind"] == {"k1": 1.0, "k2": 0.5}
    assert summary["model"] == "sip:openai/fake" and summary["benchmark"] == "jsonl"
    assert summary["timings"]["calls"] == 3 and summary["settings"]["max_tokens"] == 256
    records = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c"]
    # the SIP reasoning survives litellm (which moves a leading <think> block to reasoning_content)
    assert records[0]["outputs"] == [SIP_REPLY] and records[0]["parsed"] == [1] and records[0]["correct"]
    assert "<think>" in records[0]["prompt"][0]["content"]
    assert all(r["max_tokens"] == 256 and r["temperature"] == 0.0 for r in sip_server.requests)


def test_cli_tombench_shuffles_five_runs(tmp_path: Path, shared_data: Path, sip_server: FakeServer) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "--model",
            "openai/fake",
            "--api-base",
            sip_server.api_base,
            "--benchmark",
            "tombench",
            "--data",
            str(shared_data / "tombench"),
            "--limit",
            "4",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 4 and summary["timings"]["calls"] == 20 and summary["settings"]["shuffle"]
    assert summary["settings"]["max_tokens"] == 16
    # a plain model answering with SIP text still has a readable answer
    assert summary["format_ok_rate"] == 1.0
    for record in (json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()):
        orders = [a["order"] for a in record["attempts"]]
        assert len(orders) == 5 and record["parsed"] == [o[1] for o in orders]
        # the server always answers the second option shown; the record says so in prompt letters
        assert [a["answered_letter_shown"] for a in record["attempts"]] == ["B"] * 5
        golds = [o.index(record["gold"]) for o in orders]
        assert [a["gold_letter_shown"] for a in record["attempts"]] == ["ABCD"[g] for g in golds]
        assert record["correct"] == (record["vote"] == record["gold"])


def test_cli_counts_failed_calls_as_errors(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"question": "q", "options": ["x", "y"], "answer": 0}])
    with FakeServer("", status=500) as server:
        code = main(
            [
                "--model",
                "openai/fake",
                "--api-base",
                server.api_base,
                "--benchmark",
                "jsonl",
                "--data",
                str(data),
                "--out",
                str(tmp_path / "o"),
                "--retries",
                "2",
            ]
        )
        assert len(server.requests) == 2
    assert code == 1
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert (summary["errors"], summary["scored"], summary["accuracy"]) == (1, 0, None)


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _jsonl(tmp_path / "bad.jsonl", [{"question": "q", "options": ["x", "y"], "answer": "z"}])
    assert main(["--model", "openai/fake", "--benchmark", "jsonl", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 1" in err and "'answer'" in err and "Traceback" not in err
    assert main(["--model", "openai/fake", "--benchmark", "nope", "--data", str(bad)]) == 2
    assert main(["--model", "sip:", "--benchmark", "jsonl", "--data", str(bad)]) == 2
    assert main(["--model", "x", "--benchmark", "hi-tom", "--n", "3"]) == 2
    assert "only for --benchmark generated" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_local_model_on_generated_items(tmp_path: Path) -> None:
    out = tmp_path / "local"
    assert main(["--model", "local", "--benchmark", "generated", "--n", "3", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 3 and summary["errors"] == 0
    assert 0.0 <= summary["accuracy"] <= 1.0
    records = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert all(isinstance(r["outputs"][0], str) for r in records)
