"""``python -m eval.interactive``: planning, flags, summary arithmetic, resume after kill/interrupt,
retry of failed episodes, and one slow end-to-end run with the embedded model."""

from __future__ import annotations

import asyncio
import io
import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_llm_server import FakeLLMServer, Reply
from rich.console import Console

from envs.types import Episode, EpisodeEvaluation, EpisodeStatus
from eval.interactive import (
    SUMMARY_FILE,
    InteractiveConfig,
    Interrupted,
    PlannedEpisode,
    episode_id,
    evaluate,
    main,
    plan_episodes,
    plan_setups,
    select_scenarios,
    summarize,
)
from eval.judge import SOTOPIA_DIMENSIONS
from eval.stats import t_quantile
from eval.store import EpisodeStore
from scenarios.load import load_library

REPO = Path(__file__).resolve().parents[1]
MODEL = "scripted:Hello there.|Could you help me with this?|Thanks a lot."
PARTNER = "scripted:Hi.|Maybe, tell me more.|You're welcome."
DIMS = [d.name for d in SOTOPIA_DIMENSIONS]


def judge_reply(first: int = 6, second: int = 4, delay_s: float = 0.0) -> Reply:
    """A valid all-dimension judgement: goal-like dimensions get ``first``/``second``, the rest 0."""

    def block(goal: int) -> dict[str, Any]:
        return {
            d.name: {
                "reasoning": "ok",
                "score": goal if d.low == 0 and d.high == 10 else max(d.low, min(d.high, 0)),
            }
            for d in SOTOPIA_DIMENSIONS
        }

    return Reply.text(json.dumps({"agent_1": block(first), "agent_2": block(second)}), delay_s=delay_s)


def flags(out: Path, judge_base: str, *extra: str) -> list[str]:
    return [
        "--model", MODEL, "--partner", PARTNER, "--judge", "openai/fake", "--judge-api-base", judge_base,
        "--scenarios", "sotopia-hard", "--limit", "2", "--episodes-per-scenario", "2", "--out", str(out), *extra,
    ]  # fmt: skip


def stored_rows(out: Path) -> list[tuple[str, str, str]]:
    """(episode_id, status, run_id) of every stored episode, read with plain sqlite."""
    db = out / "episodes.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute("SELECT episode_id, status, run_id FROM episodes").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def quiet() -> Console:
    return Console(file=io.StringIO())


# -- planning ----------------------------------------------------------------------------------


def test_episode_ids_are_stable_and_depend_on_every_key() -> None:
    base = ("m", "p", "first", "scen|a+b", 0, 4, "judge")
    assert episode_id(*base) == episode_id(*base)
    assert episode_id(*base).startswith("ia-") and len(episode_id(*base)) == 27
    variants = [
        ("m2", "p", "first", "scen|a+b", 0, 4, "judge"),
        ("m", "p2", "first", "scen|a+b", 0, 4, "judge"),
        ("m", "p", "second", "scen|a+b", 0, 4, "judge"),
        ("m", "p", "first", "scen|b+a", 0, 4, "judge"),
        ("m", "p", "first", "scen|a+b", 1, 4, "judge"),
        ("m", "p", "first", "scen|a+b", 0, None, "judge"),
        ("m", "p", "first", "scen|a+b", 0, 4, "judge2"),
    ]
    ids = {episode_id(*v) for v in variants}
    assert len(ids) == len(variants) and episode_id(*base) not in ids
    # pinned: a changed hash would make every existing run folder replay everything on resume
    assert episode_id("local", "local", "first", "s|a+b", 0, None, "") == "ia-b1454e99914101d43e15e6d8"


def test_limit_takes_first_k_sorted_ids() -> None:
    library = load_library()
    _, ids = select_scenarios("sotopia", 3)
    assert ids == sorted(library.scenarios)[:3]
    _, hard = select_scenarios("sotopia-hard")
    assert hard == sorted(library.hard())
    _, one = select_scenarios(hard[0], 5)
    assert one == [hard[0]]


def test_plan_counts_sides_and_stability() -> None:
    library, ids = select_scenarios("sotopia-hard", 2)
    setups = plan_setups(library, ids, 3, seed=7)
    assert len(setups) == 6
    assert [s.scenario.id for s, _ in setups] == [ids[0]] * 3 + [ids[1]] * 3
    plan = plan_episodes(setups, ["m1", "m2", "m1"], ["p"], "both", max_turns=4, judge="j")
    assert len(plan) == 2 * 1 * 2 * 6  # duplicate model ignored
    assert len({p.episode_id for p in plan}) == len(plan)
    for item in plan:
        specs = item.specs()
        assert specs[item.test_role] == item.model
        assert specs[1 - item.test_role] == "p"
        assert item.test_agent == item.setup.agent_names[item.test_role]
    assert {p.side for p in plan} == {"first", "second"}
    first_only = plan_episodes(setups, ["m1"], ["p"], "first", max_turns=4, judge="j")
    second_only = plan_episodes(setups, ["m1"], ["p"], "second", max_turns=4, judge="j")
    assert all(p.specs()[0] == "m1" for p in first_only)
    assert all(p.specs()[:2] == ["p", "m1"] for p in second_only)
    # planning again (same seed) gives the same setups and ids
    again = plan_episodes(plan_setups(library, ids, 3, seed=7), ["m1", "m2"], ["p"], "both", 4, "j")
    assert [p.episode_id for p in again] == [p.episode_id for p in plan]
    assert [p.setup for p in again] == [p.setup for p in plan]


def test_seeded_sampling_changes_with_seed() -> None:
    library, ids = select_scenarios("sotopia-hard", 3)
    draws = {tuple(s.id for s, _ in plan_setups(library, ids, 2, seed=seed)) for seed in range(5)}
    assert len(draws) > 1
    assert plan_setups(library, ids, 2, seed=3) == plan_setups(library, ids, 2, seed=3)


def test_more_episodes_than_casts_get_replica_indices(shared_data: Path) -> None:
    library, ids = select_scenarios(f"sotopia:{shared_data / 'sotopia'}", 1)
    pairings = library.fixed_pairings(ids[0])
    setups = plan_setups(library, ids, len(pairings) + 2, seed=0)
    # a SOTOPIA dump: its fixed pairings in file order, cycling, the repeats with replica 1
    assert [s.agents[0].id for s, _ in setups[: len(pairings)]] == [p.agents[0] for p in pairings]
    assert [[a.id for a in s.agents] for s, _ in setups] == [p.agents for p in pairings + pairings[:2]]
    assert [r for _, r in setups] == [0] * len(pairings) + [1, 1]
    assert all(s.pairing_id is not None for s, _ in setups)
    plan = plan_episodes(setups, ["m"], ["p"])
    assert len({p.episode_id for p in plan}) == len(setups)
    first3 = plan_setups(library, ids, 3, seed=99)
    assert [s.id for s, _ in first3] == [s.id for s, _ in setups[:3]]  # first N, whatever the seed


# -- flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--limit", "0"], "--limit must be at least 1"),
        (["--episodes-per-scenario", "-1"], "--episodes-per-scenario must be at least 1"),
        (["--max-turns", "0"], "--max-turns must be at least 1"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--scenarios", "no_such_scenario"], "--scenarios 'no_such_scenario'"),
        (["--scenarios", "sotopia:/no/such/folder"], "--scenarios 'sotopia:/no/such/folder'"),
        (["--judge-dimensions", "goal,charm"], "--judge-dimensions 'goal,charm'"),
        (["--judge", "human"], "--judge 'human'"),
        (["--model", "human"], "--model human"),
        (["--partner", "sip:"], "--partner 'sip:'"),
        (["--test-side", "middle"], "--test-side"),
        (["--limit", "two"], "--limit"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "run"
    assert main(flags(out, "http://127.0.0.1:9/v1", *extra)) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()  # nothing is created for a bad command


def test_missing_required_flags_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "local", "--partner", "local"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["--help"]) == 0


# -- summary arithmetic ------------------------------------------------------------------------


def finished(item: PlannedEpisode, scores: dict[str, float] | None, error: str | None = None) -> Episode:
    """A stored-like episode for ``item``: judged with ``scores`` for the test agent (partner: 1s)."""
    episode = Episode(id=item.episode_id, setup=item.setup, status=EpisodeStatus.finished)
    if scores is None:
        evaluation = EpisodeEvaluation(ok=False, error=error or "bad judge output")
    else:
        names = item.setup.agent_names
        per_agent = {name: dict.fromkeys(scores, 1.0) for name in names}
        per_agent[item.test_agent] = dict(scores)
        evaluation = EpisodeEvaluation(
            ok=True,
            scores={a: {d: {"score": v} for d, v in dims.items()} for a, dims in per_agent.items()},  # type: ignore[misc]
        )
    episode.evaluation = evaluation.model_dump(mode="json")
    return episode


def test_summary_arithmetic() -> None:
    library, ids = select_scenarios("sotopia-hard", 3)
    setups = plan_setups(library, ids, 2, seed=0)
    plan = plan_episodes(setups, ["A"], ["B", "C"], "both")  # 2 pairs x 2 sides x 6 setups
    pair_b = [p for p in plan if p.partner == "B"]
    pair_c = [p for p in plan if p.partner == "C"]
    stored: dict[str, Episode] = {}
    goals = [4.0, 6.0, 8.0]
    for item, goal in zip(pair_b[:3], goals, strict=True):
        stored[item.episode_id] = finished(item, {"goal": goal, "secret": -goal})
    stored[pair_b[3].episode_id] = finished(pair_b[3], None, "agent_2 missing")  # failed judgement
    failed = Episode(
        id=pair_b[4].episode_id, setup=pair_b[4].setup, status=EpisodeStatus.failed, error="boom"
    )
    stored[failed.id] = failed
    # pair_b[5..] never played (missing); pair C: one judged episode, one unjudged
    stored[pair_c[0].episode_id] = finished(pair_c[0], {"goal": 9.0, "secret": 0.0})
    stored[pair_c[1].episode_id] = Episode(
        id=pair_c[1].episode_id, setup=pair_c[1].setup, status=EpisodeStatus.finished
    )

    summary = summarize(plan, stored, ["goal", "secret", "knowledge"])
    b, c = summary.pairs
    assert (b.model, b.partner, c.partner) == ("A", "B", "C")
    assert (b.planned, b.finished, b.failed, b.missing) == (12, 4, 1, 7)
    assert (b.judged_ok, b.judgement_failed, b.unjudged) == (3, 1, 0)
    goal = b.dimensions["goal"]
    half = t_quantile(0.975, 2) * 2.0 / math.sqrt(3)  # sd of 4, 6, 8 is 2
    assert goal.n == 3 and goal.mean == pytest.approx(6.0)
    assert goal.low == pytest.approx(6.0 - half) and goal.high == pytest.approx(6.0 + half)
    assert half == pytest.approx(4.9683, abs=1e-3)
    assert b.dimensions["secret"].mean == pytest.approx(-6.0)
    assert b.dimensions["knowledge"].n == 0 and b.dimensions["knowledge"].mean is None
    assert (c.finished, c.judged_ok, c.unjudged, c.missing) == (2, 1, 1, 10)
    assert (
        c.dimensions["goal"].n == 1 and c.dimensions["goal"].mean == 9.0 and c.dimensions["goal"].low is None
    )
    kinds = sorted(f.kind for f in summary.failures)
    assert kinds.count("judgement") == 1 and kinds.count("episode") == 1 and kinds.count("missing") == 17
    assert not summary.all_finished
    assert next(f for f in summary.failures if f.kind == "episode").error == "boom"


def test_summary_uses_the_test_side_only() -> None:
    library, ids = select_scenarios("sotopia-hard", 1)
    plan = plan_episodes(plan_setups(library, ids, 1), ["A"], ["A"], "both")
    stored = {
        item.episode_id: finished(item, {"goal": 10.0 if item.side == "first" else 2.0}) for item in plan
    }
    (pair,) = summarize(plan, stored, ["goal"]).pairs
    # partner scores are 1.0 and must not be mixed in, even when model == partner
    assert pair.dimensions["goal"].mean == pytest.approx(6.0) and pair.dimensions["goal"].n == 2


# -- running against a fake judge --------------------------------------------------------------


def test_run_resume_and_summary_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeLLMServer(default=judge_reply(7, 3)) as judge:
        assert main(flags(out, judge.api_base, "--test-side", "both", "--max-turns", "6")) == 0
        assert judge.count == 8
        rows = stored_rows(out)
        assert len(rows) == 8 and {status for _, status, _ in rows} == {"finished"}
        summary = json.loads((out / SUMMARY_FILE).read_text())
        (pair,) = summary["pairs"]
        assert (pair["planned"], pair["finished"], pair["judged_ok"], pair["failed"]) == (8, 8, 8, 0)
        assert pair["dimensions"]["goal"]["mean"] == pytest.approx(5.0)  # sides swap: 7 and 3
        assert list(pair["dimensions"]) == DIMS
        assert summary["ran"] == 8 and summary["skipped"] == 0
        # the same command again: nothing runs twice
        assert main(flags(out, judge.api_base, "--test-side", "both", "--max-turns", "6")) == 0
        assert judge.count == 8
        assert json.loads((out / SUMMARY_FILE).read_text())["skipped"] == 8
        assert len(stored_rows(out)) == 8
        # a different turn limit is a different experiment: new episodes beside the old ones
        assert main(flags(out, judge.api_base, "--max-turns", "2")) == 0
        assert judge.count == 12
    with EpisodeStore(out, create=False) as store:
        episodes = store.episodes()
        runs = store.runs()
        assert len(episodes) == 12 and len(runs) == 3
        assert runs[0].summary is not None and runs[0].summary["pairs"][0]["planned"] == 8
        assert runs[1].summary is not None and runs[1].summary["skipped"] == 8
        assert all(run.finished_at is not None for run in runs)
        one = next(e for e in episodes if e.metadata.interactive.max_turns == 2)
        assert len(one.turns) == 2
        assert one.agent_models[one.metadata.interactive.test_agent] == MODEL


def test_failed_judgements_are_counted_not_zero(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeLLMServer(default=Reply.text('{"agent_1": {}}')) as judge:
        assert main(flags(out, judge.api_base, "--judge-attempts", "2", "--limit", "1")) == 0
        assert judge.count == 4  # 2 episodes x 2 attempts
    (pair,) = json.loads((out / SUMMARY_FILE).read_text())["pairs"]
    assert (pair["finished"], pair["judged_ok"], pair["judgement_failed"]) == (2, 0, 2)
    assert all(stats["n"] == 0 and stats["mean"] is None for stats in pair["dimensions"].values())
    with sqlite3.connect(out / "episodes.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM judgements WHERE ok = 0").fetchone()[0] == 2
    with EpisodeStore(out, create=False) as store:
        played = {e.id: e for e in store.episodes()}
    argv = ["--judge-attempts", "2", "--limit", "1"]
    with FakeLLMServer(default=judge_reply(8, 2)) as judge:
        assert main(flags(out, judge.api_base, *argv)) == 0  # plain resume: judgements are not retried
        assert judge.count == 0
        assert main(flags(out, judge.api_base, *argv, "--rejudge-failed")) == 0
        assert judge.count == 2
        assert main(flags(out, judge.api_base, *argv, "--rejudge-failed")) == 0  # nothing left to judge
        assert judge.count == 2
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["rejudged"] == 0 and summary["ran"] == 0
    (pair,) = summary["pairs"]
    assert (pair["judged_ok"], pair["judgement_failed"]) == (2, 0)
    assert pair["dimensions"]["goal"]["mean"] == 8.0
    with EpisodeStore(out, create=False) as store:
        for episode in store.episodes():
            before = played[episode.id]
            assert episode.turns == before.turns and episode.started_at == before.started_at  # not replayed
            test_agent = episode.metadata.interactive.test_agent
            assert episode.scores[test_agent]["goal"] == 8.0 and episode.rewards[test_agent] == 8.0
        history = store.history()
        assert len(history) == 2 and all(not h.evaluation.ok for h in history)  # failed versions kept


def test_failed_episodes_are_retried_on_rerun(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with (
        FakeLLMServer(default=judge_reply()) as judge,
        FakeLLMServer(default=Reply.error(400, "no model")) as llm,
    ):
        argv = flags(out, judge.api_base, "--max-turns", "3", "--partner-api-base", llm.api_base)
        argv[argv.index(PARTNER)] = "openai/fake"  # the partner: a model that fails at first
        assert main(argv) == 1  # some episodes failed
        (pair,) = json.loads((out / SUMMARY_FILE).read_text())["pairs"]
        assert (pair["planned"], pair["failed"], pair["finished"]) == (4, 4, 0)
        assert judge.count == 0  # failed episodes are not judged
        first_ids = {row[0] for row in stored_rows(out)}
        llm.default = Reply.text('{"action_type": "speak", "argument": "Sure, let us talk."}')
        assert main(argv) == 0
        assert judge.count == 4
    rows = stored_rows(out)
    assert {row[0] for row in rows} == first_ids and len(rows) == 4
    assert {row[1] for row in rows} == {"finished"}
    with EpisodeStore(out, create=False) as store:
        history = store.history()
        assert len(history) == 4 and {e.status for e in history} == {EpisodeStatus.failed}  # nothing lost


# litellm creates its provider coroutine before awaiting it; a cancel in between leaves it unawaited
@pytest.mark.filterwarnings("ignore:coroutine 'OpenAIChatCompletion.acompletion' was never awaited")
async def test_cancel_keeps_in_flight_episodes_and_rerun_completes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # the first judgement returns at once, the second hangs 5 s, the rest take 1 s: when the first
    # episode is stored, at least one other has played its turns and waits for its judgement
    with FakeLLMServer(default=judge_reply(delay_s=1.0)) as judge:
        judge.script(judge_reply(delay_s=0.1), judge_reply(delay_s=5.0))
        config = InteractiveConfig(
            models=[MODEL], partners=[PARTNER], judge="openai/fake", judge_api_base=judge.api_base,
            scenarios="sotopia-hard", limit=3, episodes_per_scenario=2, concurrency=2, out=str(out),
        )  # fmt: skip
        task = asyncio.create_task(evaluate(config, quiet()))
        deadline = time.monotonic() + 60
        while not any(status == "finished" for _, status, _ in stored_rows(out)):
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(Interrupted):
            await task
        rows = stored_rows(out)
        done = [r for r in rows if r[1] == "finished"]
        interrupted = [r for r in rows if r[1] == "failed"]
        assert done and interrupted and len(rows) < 6
        with EpisodeStore(out, create=False) as store:
            kept = store.get(interrupted[0][0])
            assert kept is not None and kept.turns and "interrupted" in (kept.error or "")
        summary = await evaluate(config, quiet())
    assert summary.skipped == len(done) and summary.ran == 6 - len(done)
    rows = stored_rows(out)
    assert len(rows) == 6 and len({r[0] for r in rows}) == 6 and {r[1] for r in rows} == {"finished"}
    with EpisodeStore(out, create=False) as store:
        assert {e.id for e in store.history()} == {r[0] for r in interrupted}  # interrupted turns kept


def test_kill_midway_then_rerun_runs_each_episode_once(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeLLMServer(default=judge_reply(delay_s=0.3)) as judge:
        argv = [*flags(out, judge.api_base, "--concurrency", "1"), "--limit", "3"]
        process = subprocess.Popen(
            [sys.executable, "-m", "eval.interactive", *argv],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while sum(status == "finished" for _, status, _ in stored_rows(out)) < 2:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the run ended or stalled early: {process.stderr.read().decode()[-2000:]}")
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)  # no chance to clean up
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
        before = {episode: run for episode, status, run in stored_rows(out) if status == "finished"}
        assert 2 <= len(before) < 6
        requests_before = judge.count
        assert main(argv) == 0
        assert judge.count - requests_before == 6 - len(before)  # only the missing ones were played
    rows = stored_rows(out)
    assert len(rows) == 6 and len({r[0] for r in rows}) == 6 and {r[1] for r in rows} == {"finished"}
    assert all(dict((r[0], r[2]) for r in rows)[eid] == run for eid, run in before.items())  # untouched


# -- the real embedded model -------------------------------------------------------------------


@pytest.mark.slow
def test_end_to_end_with_the_embedded_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["--model", "local", "--partner", "local", "--judge", "local", "--limit", "1",
            "--episodes-per-scenario", "1", "--max-turns", "2", "--judge-attempts", "1", "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    assert main(argv) == 0
    summary = json.loads((out / SUMMARY_FILE).read_text())
    (pair,) = summary["pairs"]
    assert (pair["planned"], pair["finished"]) == (1, 1)
    assert pair["judged_ok"] + pair["judgement_failed"] == 1
    with EpisodeStore(out, create=False) as store:
        (episode,) = store.episodes()
        assert len(episode.turns) <= 2 and episode.evaluation is not None
    print(f"end-to-end: judged_ok={pair['judged_ok']} in {time.perf_counter() - started:.0f}s")
    assert main(argv) == 0  # resume: nothing left to do
    assert json.loads((out / SUMMARY_FILE).read_text())["skipped"] == 1
