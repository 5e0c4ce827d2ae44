"""FanToM: the published format (our own fixture conversations), its scoring rules against hand-computed
values, the free-response judges and the command (resumable) against a fake server."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fake_llm_server import FakeLLMServer, Reply

from eval.benchmarks import BenchmarkError, BenchmarkFormatError
from eval.fantom.data import FantomQuestion, flatten, load_fantom
from eval.fantom.judges import (
    PUBLISHED_EMBEDDER,
    BeliefCase,
    EmbeddingJudge,
    LLMJudge,
    Unavailable,
    build_judge,
)
from eval.fantom.metrics import (
    PUBLISHED,
    choice_right,
    list_right,
    read_binary,
    token_f1,
    weighted_f1,
)
from eval.fantom.run import FantomSettings, main, run_fantom

DATA = Path(__file__).parent / "fixtures" / "fantom"


class BagOfWords:
    """A transparent embedder for tests: word counts over the words of the texts encoded together."""

    def encode(self, texts: list[str]) -> np.ndarray:
        docs = [re.findall(r"[a-z']+", t.lower()) for t in texts]
        vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
        out = np.zeros((len(texts), len(vocab)))
        for row, doc in enumerate(docs):
            for word in doc:
                out[row, vocab[word]] += 1
        return out


def run(coro):
    return asyncio.run(coro)


# -- data ------------------------------------------------------------------------------------------


def test_sets_flatten_into_fantoms_questions() -> None:
    sets = load_fantom(DATA)
    assert [s.set_id for s in sets] == ["0-0-0", "0-0-1", "1-0-0"]
    short = flatten(sets)
    assert Counter(q.kind for q in short) == {
        "fact": 3, "belief_dist": 4, "belief_choice": 4, "answerability_list": 3, "answerability_binary": 6,
        "info_list": 3, "info_binary": 6,
    }  # fmt: skip
    # no:long is dropped with the short input and kept with the full one
    assert not any(q.correct == "no:long" for q in short)
    full = flatten(sets, context="full")
    assert sum(q.correct == "no:long" for q in full) == 1 and len(full) == len(short) + 1
    fact = short[0]
    assert fact.prompt.endswith("\n\nQuestion: Where did Ana learn to surf?\nAnswer:")
    assert fact.prompt.startswith("Mia: Actually, I need to grab a coffee")  # the short context
    binary = next(q for q in short if q.id == "0-0-0/answerability/binary/2")
    assert (
        "\n\nTarget: Where did Ana learn to surf?\nQuestion: Does Mia know the precise correct answer"
        in binary.prompt
    )
    assert binary.prompt.endswith("Answer yes or no.\nAnswer:")
    info = next(q for q in short if q.id == "0-0-0/info/list")
    assert "Information: Where did Ana learn to surf? Ana learned to surf in Lisbon" in info.prompt


def test_choice_form_is_seeded_per_question_and_names_the_gold() -> None:
    sets = load_fantom(DATA)
    choices = [q for q in flatten(sets, seed=99) if q.kind == "belief_choice"]
    assert choices == [q for q in flatten(sets, seed=99) if q.kind == "belief_choice"]
    for q in choices:
        belief = next(b for s in sets for b in s.beliefQAs if b.question == q.question)
        gold = "ab".index(str(q.correct))
        assert q.choices[gold] == belief.correct_answer and q.choices[1 - gold] == belief.wrong_answer
        assert f"\n(a) {q.choices[0]}\n(b) {q.choices[1]}\n\nChoose an answer from above:" in q.prompt
    others = [q.correct for q in flatten(sets, seed=1) if q.kind == "belief_choice"]
    draws = {tuple(q.correct for q in flatten(sets, seed=s) if q.kind == "belief_choice") for s in range(8)}
    assert len(draws) > 1 and isinstance(others[0], str)


def test_full_input_derives_accessibility_as_published() -> None:
    full = {q.id: q for q in flatten(load_fantom(DATA), context="full")}
    assert full["0-0-1/answerability/list"].scenario == "accessible"  # nobody left out
    assert full["0-0-1/info/binary/0"].scenario == "accessible"
    assert full["0-0-0/info/list"].scenario == "inaccessible"
    assert full["1-0-0/answerability/binary/0"].scenario == "inaccessible"  # Sam knows, but Zoe does not


def _write(tmp_path: Path, sets: list[dict]) -> Path:
    path = tmp_path / "fantom_v1.json"
    path.write_text(json.dumps(sets), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda s: s.pop("factQA"), "factQA", "Field required"),
        (lambda s: s["answerabilityQAs_binary"][1].update(correct_answer="maybe"),
         "answerabilityQAs_binary.1.correct_answer", "'yes', 'no' or 'no:long'"),
        (lambda s: s["beliefQAs"][0].update(missed_info_accessibility="hidden"),
         "beliefQAs.0.missed_info_accessibility", "'inaccessible' or 'accessible'"),
        (lambda s: s.update(set_id="seven"), "set_id", "should match pattern"),
    ],
)  # fmt: skip
def test_bad_sets_name_file_record_and_field(tmp_path: Path, change, field: str, message: str) -> None:
    sets = json.loads((DATA / "fantom_v1.json").read_text())
    change(sets[2])
    path = _write(tmp_path, sets)
    with pytest.raises(BenchmarkFormatError) as info:
        load_fantom(path)
    assert info.value.where == "record 3" and info.value.field == field and message in str(info.value)


def test_duplicate_sets_and_missing_files(tmp_path: Path) -> None:
    sets = json.loads((DATA / "fantom_v1.json").read_text())
    with pytest.raises(BenchmarkFormatError, match="occurs twice"):
        load_fantom(_write(tmp_path, [sets[0], sets[0]]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkError, match=r"fantom/fantom_v1\.json"):
        load_fantom(tmp_path / "empty")


# -- scoring rules -----------------------------------------------------------------------------------


def test_token_f1_hand_computed() -> None:
    assert token_f1("Ana learned to surf in Lisbon", "She learned to surf in Lisbon") == pytest.approx(5 / 6)
    assert token_f1("a a b", "a b b") == pytest.approx(2 / 3)  # multiset overlap: one a, one b
    assert token_f1("Lisbon", "lisbon") == 0.0  # case as given (fact questions lower-case both first)
    assert token_f1("x", "") == 0.0


def test_binary_choice_and_list_readings() -> None:
    assert [read_binary(r) for r in ("Yes, she does.", "no", "I think yes.", "He doesn't know about it", "Maybe")] == [
        1, 0, 1, 0, -1,
    ]  # fmt: skip
    assert read_binary("Mia knows about it") == 1  # FanToM's reading: " knows " is a yes
    assert choice_right("(b) Ben believes ...", "b") and choice_right("b", "b") and choice_right("B", "b")
    assert choice_right("The answer is (b).", "b") and not choice_right("a. Mia believes ...", "b")
    assert list_right("Ana, Ben", ["Ana", "Ben"], ["Mia"]) == (True, False, False)
    assert list_right("Ana, Ben and Mia", ["Ana", "Ben"], ["Mia"]) == (False, False, True)
    assert list_right("ana only", ["Ana", "Ben"], ["Mia"]) == (False, True, False)


def test_weighted_f1_hand_computed() -> None:
    # yes: P=1, R=1/2, F1=2/3; no: P=1/2, R=1/2, F1=1/2; weights 2 and 2 -> 7/12
    assert weighted_f1([1, 1, 0, 0], [1, 0, 0, -1]) == pytest.approx(7 / 12)
    assert weighted_f1([1], [-1]) == 0.0 and weighted_f1([], []) is None
    assert weighted_f1([0, 0, 0, 1], [0, 0, 0, 1]) == 1.0


# -- aggregate scores --------------------------------------------------------------------------------

REPLIES = {
    "0-0-0/fact": "Ana learned to surf in Lisbon.",  # lower-cased F1 vs the answer: 5/8
    "0-0-0/belief/0": "Mia does not know where Ana learned to surf.",  # right; 8 of 9 and 20 tokens: F1 16/29
    "0-0-0/belief/1": "Ben believes that Mia does not know where Ana learned to surf, since Mia was away when Ana "
    "mentioned it.",  # the correct belief word for word: F1 1
    "0-0-0/answerability/list": "Ana, Ben",
    "0-0-0/answerability/binary/0": "Yes.",
    "0-0-0/answerability/binary/1": "yes",
    "0-0-0/answerability/binary/2": "No, she was away.",
    "0-0-0/info/list": "Ana and Ben",
    "0-0-0/info/binary/0": "yes",
    "0-0-0/info/binary/1": "yes",
    "0-0-0/info/binary/2": "no",
    "0-0-1/fact": "Ben is painting his kitchen pale green this weekend.",  # F1 1
    "0-0-1/belief/0": "Mia believes that Ben is painting his kitchen pale green this weekend.",
    "0-0-1/answerability/list": "Ana, Ben, Mia",
    "0-0-1/answerability/binary/0": "yes",
    "0-0-1/info/list": "Ana, Ben and Mia",
    "0-0-1/info/binary/0": "I am not sure.",  # neither: wrong
    "1-0-0/fact": "Pepper.",  # F1 2/7
    "1-0-0/belief/0": "Zoe believes that Leo's new cat is named Pepper.",  # the wrong belief; F1 vs correct 3/14
    "1-0-0/answerability/list": "Leo, Sam",
    "1-0-0/answerability/binary/0": "yes",
    "1-0-0/answerability/binary/1": "no",
    "1-0-0/info/list": "Leo and Sam",
    "1-0-0/info/binary/0": "Yes",
    "1-0-0/info/binary/1": "No",
}


def scripted(questions: list[FantomQuestion]):
    by_prompt = {}
    for q in questions:
        by_prompt[q.prompt] = f"({q.correct}) that one" if q.kind == "belief_choice" else REPLIES[q.id]

    async def answer(messages: list[dict[str, str]]) -> str:
        return by_prompt[messages[-1]["content"]]

    return answer


def test_scores_hand_computed_with_the_embedding_rule() -> None:
    questions = flatten(load_fantom(DATA))
    judge = EmbeddingJudge(BagOfWords(), PUBLISHED_EMBEDDER)
    summary, records = run(run_fantom(questions, scripted(questions), FantomSettings(model="m"), judge))
    scores = summary["scores"]
    fantom, control = scores["fantom"]["metrics"], scores["control"]["metrics"]
    value = lambda m: m["value"]  # noqa: E731
    # false-belief task: sets 0-0-0 (all right) and 1-0-0 (free-response belief wrong, the rest right)
    assert value(fantom["all_star"]) == 0.5 and fantom["all_star"]["n"] == 2
    assert value(fantom["all"]) == 1.0
    assert value(fantom["belief_choice"]) == 1.0 and value(fantom["belief_dist"]) == pytest.approx(2 / 3)
    assert value(fantom["belief_token_f1"]) == pytest.approx((16 / 29 + 1) / 2)  # replies judged right only
    assert value(fantom["belief_token_f1_all"]) == pytest.approx((16 / 29 + 1 + 3 / 14) / 3)
    assert value(fantom["answerability_all"]) == 1.0 and value(fantom["info_binary_f1"]) == 1.0
    # control task: one set whose info binary reply says neither
    assert value(control["all"]) == 0.0 and value(control["all_star"]) == 0.0
    assert value(control["belief_dist"]) == 1.0 and value(control["answerability_all"]) == 1.0
    assert value(control["info_all"]) == 0.0 and value(control["info_list"]) == 1.0
    assert value(control["info_binary_f1"]) == 0.0 and value(control["info_binary_accuracy"]) == 0.0
    assert scores["fact_token_f1"]["value"] == pytest.approx((5 / 8 + 1 + 2 / 7) / 3)
    # every number names its protocol; the published embedder makes the belief scores comparable
    assert (
        fantom["all_star"]["protocol"] == f"fantom (embedding {PUBLISHED_EMBEDDER})"
        and fantom["all_star"]["comparable"]
    )
    assert fantom["all"]["protocol"] == PUBLISHED and not fantom["belief_token_f1_all"]["comparable"]
    assert fantom["belief_choice"]["ci"]["method"] == "wilson"
    assert scores["errors"] == 0 and summary["sets"] == 3
    wrong = next(r for r in records if r["id"] == "1-0-0/belief/0")
    assert (
        wrong["right"] is False
        and wrong["word_overlap"] == 1.0
        and wrong["judge"]["cos_wrong"] == pytest.approx(1.0)
    )


def test_without_a_judge_the_free_response_scores_are_unavailable_not_guessed() -> None:
    questions = flatten(load_fantom(DATA))
    judge = Unavailable("sentence-transformers is not installed")
    summary, records = run(run_fantom(questions, scripted(questions), FantomSettings(model="m"), judge))
    fantom = summary["scores"]["fantom"]["metrics"]
    for name in ("all_star", "belief_dist", "belief_token_f1"):
        assert fantom[name]["value"] is None and not fantom[name]["comparable"]
        assert "unavailable (sentence-transformers is not installed)" in fantom[name]["protocol"]
    assert fantom["all"]["value"] == 1.0 and fantom["belief_token_f1_all"]["value"] == pytest.approx(
        (16 / 29 + 1 + 3 / 14) / 3
    )
    assert summary["scores"]["fantom"]["by_tom_type"]["first-order"]["note"] == "belief choice accuracy"
    dist = next(r for r in records if r["kind"] == "belief_dist")
    assert dist["right"] is None and "unavailable" in dist["error"]


def test_failed_calls_are_errors_and_their_sets_leave_the_all_scores() -> None:
    from agents.client import LLMCallError

    questions = flatten(load_fantom(DATA))
    answer = scripted(questions)
    failing = next(q.prompt for q in questions if q.id == "1-0-0/info/list")

    async def flaky(messages: list[dict[str, str]]) -> str:
        if messages[-1]["content"] == failing:
            raise LLMCallError("boom")
        return await answer(messages)

    judge = EmbeddingJudge(BagOfWords(), "my-embedder")
    summary, records = run(run_fantom(questions, flaky, FantomSettings(model="m"), judge))
    scores = summary["scores"]
    assert scores["errors"] == 1 and summary["timings"]["failed_calls"] == 1
    all_score = scores["fantom"]["metrics"]["all"]
    assert all_score["n"] == 1 and "1 set(s) without a verdict" in all_score["note"]
    assert scores["fantom"]["metrics"]["info_list"]["n"] == 1  # the failed one is not a wrong answer
    assert (
        scores["fantom"]["metrics"]["all_star"]["protocol"] == "embedding my-embedder (not the paper's model)"
    )
    assert next(r for r in records if r["id"] == "1-0-0/info/list")["failed"]


# -- judges ------------------------------------------------------------------------------------------


def test_missing_sentence_transformers_makes_the_judge_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    judge = build_judge(PUBLISHED_EMBEDDER)
    assert isinstance(judge, Unavailable) and not judge.available
    assert "sentence-transformers is not installed" in judge.protocol
    assert isinstance(build_judge("none"), Unavailable)


def test_llm_judge_maps_its_letter_back_through_the_shown_order() -> None:
    cases = [
        BeliefCase(id=f"c{i}", question="What does Mia believe?", reply="She has no idea.",
                   correct=f"Mia does not know ({i}).", wrong=f"Mia believes it is Lisbon ({i}).")
        for i in range(8)
    ]  # fmt: skip
    with FakeLLMServer(default=Reply.text("A")) as server:
        judge = LLMJudge("openai/fake", api_base=server.api_base, seed=3)
        verdicts = run(judge.judge(cases))
        shown_first = [
            re.search(r"Statement A: (.*)\n", r["messages"][1]["content"]).group(1) for r in server.requests
        ]
    assert not judge.comparable and judge.protocol == "llm-judge openai/fake (not the paper's metric)"
    by_case = {c.correct: c for c in cases} | {c.wrong: c for c in cases}
    expected = {by_case[text].id: text == by_case[text].correct for text in shown_first}
    assert [v.right for v in verdicts] == [expected[c.id] for c in cases]
    assert {v.right for v in verdicts} == {True, False}  # both orders occur with 8 cases
    with FakeLLMServer(default=Reply.text("I cannot tell")) as server:
        unreadable = run(LLMJudge("openai/fake", api_base=server.api_base).judge(cases[:1]))
        assert server.count == 2  # asked again once
    assert unreadable[0].right is None and "unreadable judge reply" in unreadable[0].error


# -- the command -------------------------------------------------------------------------------------


def test_command_writes_scores_and_resumes_without_asking_again(tmp_path: Path) -> None:
    out = tmp_path / "fantom"
    argv = ["--model", "openai/fake", "--data", str(DATA), "--out", str(out), "--embedder", "none",
            "--concurrency", "4"]  # fmt: skip
    with FakeLLMServer(default=Reply.text("(a) yes, Ana and Ben")) as server:
        assert main([*argv, "--api-base", server.api_base]) == 0
        asked = server.count
        first = json.loads((out / "summary.json").read_text())
        assert main([*argv, "--api-base", server.api_base]) == 0
        assert server.count == asked  # every reply came from the replies cache
    again = json.loads((out / "summary.json").read_text())
    assert (
        asked == 29
        and first["timings"]["asked"] == 29
        and again["timings"] == again["timings"] | {"reused": 29}
    )
    assert again["scores"] == first["scores"]
    assert first["settings"]["judge"] == "unavailable (no free-response judge chosen)"
    assert first["scores"]["fantom"]["metrics"]["answerability_list"]["value"] == pytest.approx(1 / 2)
    records = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(records) == 29 and records[0]["prompt"] == [
        {"role": "user", "content": records[0]["prompt"][0]["content"]}
    ]


def test_command_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--model", "openai/fake", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    )
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["--model", "sip:", "--data", str(DATA), "--out", str(tmp_path / "o")]) == 2
    assert main(["--model", "x", "--data", str(DATA), "--out", str(tmp_path / "o"), "--limit", "0"]) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\xffnot json at all" * 20, "binary data"),
        ("[" * 100 + "]" * 100, "nested more than 64 levels deep"),
        ('[{"set_id": "0-0-0", "short_context": "' + "x" * 100_001 + '"}]', "at most 100000 characters"),
    ],
)
def test_hostile_fantom_files_are_refused_naming_the_file(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    path = tmp_path / "fantom_v1.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BenchmarkError) as info:
        load_fantom(path)
    assert str(path) in str(info.value) and expected in str(info.value)
