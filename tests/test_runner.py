"""The async runner: concurrency, failure isolation, turn records, sinks and replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_envs_support import LEAVE, ScriptAgent, make_setup, speak

from envs.evaluator import TranscriptStatsEvaluator
from envs.runner import ReplayMismatch, replay, run_episode, run_episodes
from envs.sinks import EpisodeSink, JSONLSink, read_episodes
from envs.types import Episode, EpisodeStatus, Turn

A, B = "Alice Tester", "Bruno Tester"
LINES = ["one", "two", "three"]


class ListSink:
    """Collects episodes in order of arrival."""

    def __init__(self) -> None:
        self.episodes: list[Episode] = []

    async def write(self, episode: Episode) -> None:
        self.episodes.append(episode)


async def test_run_episode_records_details_and_order() -> None:
    seen: list[tuple[int, str]] = []
    episode = await run_episode(
        make_setup(max_turns=10),
        [ScriptAgent(["hi", "how are you?"]), ScriptAgent(["hello", LEAVE])],
        on_turn=lambda ep, turn: seen.append((turn.index, turn.agent)),
    )
    assert episode.status is EpisodeStatus.finished and episode.termination_reason == "leave"
    assert seen == [(0, A), (1, B), (2, A), (3, B)]
    assert episode.agent_models == {A: "test-script", B: "test-script"}
    first = episode.turns[0]
    assert (first.raw_text, first.prompt_tokens, first.completion_tokens) == ("RAW<hi>", 10, 3)
    assert first.latency_s is not None and first.latency_s >= 0
    assert episode.turns[3].raw_text == "RAW<>"


async def test_agents_by_name_and_bad_cast() -> None:
    setup = make_setup()
    episode = await run_episode(setup, {B: ScriptAgent([LEAVE]), A: ScriptAgent(["hi"])})
    assert [t.agent for t in episode.turns] == [A, B]
    bad = await run_episode(setup, [ScriptAgent(["hi"])])
    assert bad.status is EpisodeStatus.failed and "1 agents given for a cast of 2" in bad.error


async def test_failing_agent_fails_only_its_episode() -> None:
    setups = [make_setup(max_turns=6, seed=i) for i in range(5)]
    sink = ListSink()

    def factory(setup):
        failing = setup.seed == 2
        return [ScriptAgent(LINES, fail_on_call=1 if failing else None), ScriptAgent(LINES)]

    episodes = await run_episodes(setups, factory, concurrency=3, sink=sink)
    statuses = [e.status for e in episodes]
    assert statuses == [EpisodeStatus.finished] * 2 + [EpisodeStatus.failed] + [EpisodeStatus.finished] * 2
    failed = episodes[2]
    assert "Alice Tester failed on turn 2" in failed.error and "scripted failure" in failed.error
    assert len(failed.turns) == 2, "turns played before the failure are kept"
    assert failed.metadata.failed_agent == A and failed.metadata.failed_turn == 2
    assert failed.metadata.failed_turn_record.raw_text == "UNPARSABLE"
    assert failed.finished_at is not None
    assert sorted(e.metadata.batch_index for e in sink.episodes) == [0, 1, 2, 3, 4]
    assert all(e.turns for e in episodes)


async def test_factory_error_is_an_episode_failure() -> None:
    def factory(setup):
        if setup.seed == 1:
            raise ValueError("no such model")
        return [ScriptAgent(["hi"]), ScriptAgent([LEAVE])]

    episodes = await run_episodes([make_setup(seed=0), make_setup(seed=1)], factory)
    assert episodes[0].status is EpisodeStatus.finished
    assert (
        episodes[1].status is EpisodeStatus.failed
        and "agent factory: ValueError: no such model" in episodes[1].error
    )


GUARD_S = 30.0
"""Only stops a hang when an overlap a test waits for never happens; a correct run never waits on it."""


class Overlap:
    """Counts things in flight (episodes, acts) and lets each pass only once ``need`` are in flight together.

    Concurrency is checked by structure, not by the clock: code that never overlaps ``need`` of
    them fails the wait (an AssertionError naming the peak), code that overlaps more than allowed
    shows a ``peak`` above the limit.
    """

    def __init__(self, need: int) -> None:
        self.need = need
        self.now = 0
        self.peak = 0
        self.reached = asyncio.Event()

    async def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        if self.now >= self.need:
            self.reached.set()
        try:
            await asyncio.wait_for(self.reached.wait(), GUARD_S)
        except TimeoutError:
            raise AssertionError(f"never {self.need} in flight at once (at most {self.peak})") from None

    def exit(self) -> None:
        self.now -= 1


@pytest.mark.parametrize("concurrency", [6, 2, 1])
async def test_episodes_run_concurrently_up_to_the_limit(concurrency: int) -> None:
    # an episode is live from Alice's first act to her leaving; the first `concurrency` episodes
    # must all be live together before any of them goes on, and no more than that may ever be
    live = Overlap(need=concurrency)

    class Counting(ScriptAgent):
        async def act(self, observation):
            if observation.turn == 0 and self.name == A:
                await live.enter()
            action = await super().act(observation)
            if action.action_type.value == "leave":
                live.exit()
            return action

    def factory(setup):
        return [Counting(["a"]), Counting(["b"])]  # 3 acts: a, b, Alice leaves

    episodes = await run_episodes([make_setup(seed=i) for i in range(6)], factory, concurrency=concurrency)
    assert all(e.status is EpisodeStatus.finished for e in episodes), [e.error for e in episodes]
    assert live.peak == concurrency
    assert live.now == 0


@pytest.mark.parametrize(("turn_mode", "overlap"), [("simultaneous", 2), ("round-robin", 1)])
async def test_acts_overlap_within_a_step_only_when_simultaneous(turn_mode: str, overlap: int) -> None:
    # per turn index: in simultaneous mode both acts of a step must be in flight together (a
    # runner that awaited them one by one fails the wait); in round-robin mode acts never overlap
    steps: dict[int, Overlap] = {}

    class Counting(ScriptAgent):
        async def act(self, observation):
            step = steps.setdefault(observation.turn, Overlap(need=overlap))
            await step.enter()
            try:
                await asyncio.sleep(0)  # give the other act a chance to start, if it can
                return await super().act(observation)
            finally:
                step.exit()

    episode = await run_episode(
        make_setup(max_turns=2),
        [Counting(["a", "b"]), Counting(["c", "d"])],
        {"turn_mode": turn_mode},
    )
    assert episode.status is EpisodeStatus.finished, episode.error
    assert steps
    assert {turn: step.peak for turn, step in steps.items()} == {t: overlap for t in steps}
    if turn_mode == "simultaneous":
        assert [(t.index, t.agent) for t in episode.turns] == [(0, A), (0, B), (1, A), (1, B)]
        assert sorted(steps) == [0, 1]


async def test_simultaneous_failure_cancels_the_step_and_fails_the_episode() -> None:
    episode = await run_episode(
        make_setup(max_turns=4),
        [ScriptAgent(["a"], fail_on_call=0), ScriptAgent(["c"], delay_s=5)],
        {"turn_mode": "simultaneous"},
    )
    assert episode.status is EpisodeStatus.failed and "Alice Tester failed on turn 0" in episode.error


async def test_act_timeout_fails_the_episode() -> None:
    episode = await run_episode(
        make_setup(), [ScriptAgent(["hi"], delay_s=5), ScriptAgent([LEAVE])], act_timeout_s=0.05
    )
    assert episode.status is EpisodeStatus.failed and "TimeoutError" in episode.error


async def test_bad_env_settings_fail_the_episode() -> None:
    episode = await run_episode(make_setup(), [ScriptAgent([]), ScriptAgent([])], {"turn_mode": "sideways"})
    assert episode.status is EpisodeStatus.failed and "cannot start the env" in episode.error


async def test_evaluator_scores_the_episode() -> None:
    episode = await run_episode(
        make_setup(),
        [ScriptAgent(["a b c"]), ScriptAgent([LEAVE])],
        {"reward_dimension": "words"},
        evaluator=TranscriptStatsEvaluator(),
    )
    assert episode.rewards == {A: 3.0, B: 0.0}
    assert episode.scores[B]["left"] == 1.0


async def test_jsonl_sink_round_trip_and_replay(tmp_path: Path) -> None:
    sink = JSONLSink(tmp_path / "run")
    assert isinstance(sink, EpisodeSink)

    def factory(setup):
        fail = setup.seed == 1
        return [
            ScriptAgent(["hi", "[x]", speak("so?")], fail_on_call=2 if fail else None),
            ScriptAgent(["hello", "well"]),
        ]

    episodes = await run_episodes(
        [make_setup(seed=i, max_turns=5) for i in range(3)],
        factory,
        sink=sink,
        env_kwargs={"turn_mode": "round-robin"},
    )
    assert sink.count == 3
    lines = sink.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    back = {e.id: e for e in read_episodes(tmp_path / "run")}
    assert {e.id: e.model_dump() for e in episodes} == {i: e.model_dump() for i, e in back.items()}
    for original in episodes:
        again = replay(back[original.id])
        assert again.transcript() == original.transcript()
        assert again.status == original.status
        assert [t.raw_text for t in again.turns] == [t.raw_text for t in original.turns]


async def test_replay_detects_a_tampered_transcript() -> None:
    episode = await run_episode(make_setup(max_turns=6), [ScriptAgent(["a", "b"]), ScriptAgent(["c", "d"])])
    assert episode.termination_reason == "leave"
    swapped = episode.model_copy(deep=True)
    swapped.turns[0], swapped.turns[1] = (
        swapped.turns[1].model_copy(update={"index": 0}),
        swapped.turns[0].model_copy(update={"index": 1}),
    )
    with pytest.raises(ReplayMismatch, match="rejected"):
        replay(swapped)
    cut = episode.model_copy(deep=True)
    cut.turns = cut.turns[:-1]
    with pytest.raises(ReplayMismatch, match="recorded finished"):
        replay(cut)
    longer = episode.model_copy(deep=True)
    longer.turns.append(Turn(index=len(episode.turns), agent=A, action=speak("after the end")))
    with pytest.raises(ReplayMismatch, match="ended"):
        replay(longer)


def test_read_episodes_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"episodes.jsonl:1: not a valid episode"):
        read_episodes(path)


async def test_sink_failure_stops_the_run() -> None:
    class Full:
        async def write(self, episode: Episode) -> None:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await run_episodes(
            [make_setup(seed=i) for i in range(3)],
            lambda s: [ScriptAgent(["hi"]), ScriptAgent([LEAVE])],
            sink=Full(),
        )


def test_a_truncated_last_line_of_an_episode_sink_is_dropped_with_a_warning(tmp_path: Path) -> None:
    import warnings

    from envs.sinks import read_episodes

    episodes = _sink_episodes(tmp_path)
    path = tmp_path / "episodes.jsonl"
    text = "".join(e.model_dump_json() + "\n" for e in episodes)
    path.write_text(text + episodes[0].model_dump_json()[:50])  # a crash mid-write
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [e.id for e in read_episodes(path)] == [e.id for e in episodes]
    assert any("cut short" in str(w.message) for w in caught)
    path.write_text(episodes[0].model_dump_json()[:50] + "\n" + text)  # damage elsewhere stays an error
    with pytest.raises(ValueError, match=":1: not a valid episode"):
        read_episodes(path)


def _sink_episodes(tmp_path: Path) -> list:
    from envs.types import Episode
    from scenarios import load_library
    from scenarios.graph import sample_setups

    library = load_library()
    setups = sample_setups(library, scenario_id=sorted(library.scenarios)[:2], n=1, seed=0)
    return [Episode(id=f"ep-{i}", setup=setup) for i, setup in enumerate(setups)]
