"""envs.pacing: the concurrency tuner's search, the runner honouring a limit that changes, and
``--concurrency auto`` on the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer
from test_interactive import flags, judge_reply

from agents.scripted import ScriptedAgent
from envs.pacing import ConcurrencyTuner, EpisodeGate
from envs.runner import run_episodes
from eval.interactive import SUMMARY_FILE, main, plan_setups, select_scenarios


def settle(tuner: ConcurrencyTuner, turns_per_s: Callable[[int], float]) -> list[int]:
    """Feed the tuner windows whose rate is ``turns_per_s(limit)``; return the limits it tried."""
    tried = [tuner.limit]
    for _ in range(40):
        if tuner.settled:
            break
        turns = tuner.window_per_episode * tuner.limit
        tuner.observe(turns, turns / turns_per_s(tuner.limit))
        tried.append(tuner.limit)
    return tried


def test_doubles_while_the_rate_grows_and_settles_on_the_best_level() -> None:
    # an endpoint that serves 16 episodes' worth of requests at once, no more
    tuner = ConcurrencyTuner(start=4)
    tried = settle(tuner, lambda c: min(c, 16) * 0.5)
    assert tried == [4, 8, 16, 32, 16] and tuner.settled
    assert [limit for limit, _ in tuner.history] == [4, 8, 16, 32]


def test_a_single_slot_server_stays_at_the_start() -> None:
    tuner = ConcurrencyTuner(start=4)
    assert settle(tuner, lambda c: 3.0) == [4, 8, 4] and tuner.limit == 4


def test_a_small_gain_is_kept_but_stops_the_search() -> None:
    tuner = ConcurrencyTuner(start=2, gain=1.2)
    rates = {2: 1.0, 4: 1.1, 8: 5.0}  # 4 is a little faster (kept) but not enough to go on
    assert settle(tuner, rates.__getitem__) == [2, 4, 4] and tuner.settled


def test_the_maximum_is_never_passed() -> None:
    tuner = ConcurrencyTuner(start=3, maximum=10)
    assert settle(tuner, float) == [3, 6, 10, 10] and tuner.settled


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="start"):
        ConcurrencyTuner(start=0)
    with pytest.raises(ValueError, match="gain"):
        ConcurrencyTuner(gain=1.0)
    with pytest.raises(ValueError, match="at least 1"):
        EpisodeGate(0)


class StepTuner(ConcurrencyTuner):
    """Raises the limit to ``to`` after ``after`` finished turns, whatever the clock says."""

    def __init__(self, start: int, to: int, after: int) -> None:
        super().__init__(start=start, maximum=to)
        self.to, self.after, self.seen = to, after, 0

    def observe(self, turns: int, seconds: float) -> int:
        self.seen += turns
        if self.seen >= self.after:
            self.limit = self.to
        return self.limit


class Yielding(ScriptedAgent):
    """A scripted agent that lets other episodes run while it "thinks" (as a network call would)."""

    async def act(self, observation):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        return await super().act(observation)


async def test_the_runner_admits_more_episodes_when_the_limit_grows() -> None:
    library, ids = select_scenarios("sotopia-hard", 3)
    setups = [setup for setup, _ in plan_setups(library, ids, 4)]
    tuner = StepTuner(start=1, to=6, after=4)
    in_flight = 0
    seen: list[tuple[int, int]] = []  # (episodes in flight, the limit then), as each episode starts

    def agents(setup):  # type: ignore[no-untyped-def]
        nonlocal in_flight
        in_flight += 1
        seen.append((in_flight, tuner.limit))
        return [Yielding(["Hi."] * 3), Yielding(["Hello."] * 3)]

    def ended(episode) -> None:  # type: ignore[no-untyped-def]
        nonlocal in_flight
        in_flight -= 1

    episodes = await run_episodes(
        setups, agents, concurrency=tuner, env_kwargs={"max_turns": 4}, progress=ended
    )
    assert len(episodes) == len(setups) == 12
    assert all(episode.status.value == "finished" for episode in episodes)
    assert seen[0] == (1, 1) and all(count <= limit for count, limit in seen)
    assert max(count for count, _ in seen) == 6  # the grown limit was used, never passed


def test_auto_concurrency_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeLLMServer(default=judge_reply(7, 3)) as judge:
        assert main(flags(out, judge.api_base, "--max-turns", "6", "--concurrency", "auto")) == 0
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["config"]["concurrency"] == "auto"
    assert summary["pairs"][0]["finished"] == 4
    assert summary["concurrency_trace"] and summary["concurrency_trace"][0][0] == 4


def test_a_bad_concurrency_flag_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(flags(tmp_path / "run", "http://127.0.0.1:9/v1", "--concurrency", "fast")) == 2
    assert "give a number of episodes or auto" in capsys.readouterr().err


async def test_the_gate_times_turns_from_the_first_one() -> None:
    """The wait before the first turn (a server starting) is not part of the measured rate."""
    times = iter([100.0, 100.5, 101.0, 101.5, 102.0])  # the first turn ends 100 s after the start
    tuner = ConcurrencyTuner(start=2)
    gate = EpisodeGate(tuner, clock=lambda: next(times))
    for _ in range(5):
        gate.turn_finished()
    await asyncio.sleep(0)  # let the gate admit waiting episodes under the new limit
    assert tuner.history == [(2, 2.0)]  # 4 turns in 2 s after the first; 100 s of start-up ignored
    assert gate.limit == tuner.limit == 4
