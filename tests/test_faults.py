"""bench/faults.py: the fault server fails what it says, and evaluation under faults fakes and loses nothing."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from bench_scripts import load_bench_script

from envs.types import EpisodeStatus
from eval.store import EpisodeStore


def _load_bench() -> Any:
    return load_bench_script("faults")


faults = _load_bench()
MESSAGES = [{"role": "user", "content": "Hi"}]


def _post(api_base: str, messages: list[dict[str, str]] = MESSAGES, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{api_base}/chat/completions",
        data=json.dumps({"model": "fake", "messages": messages}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_each_fault_kind_fails_as_described() -> None:
    client_timeout = 0.3
    for kind in faults.FAULTS:
        with faults.FaultServer(1.0, kinds=(kind,), client_timeout_s=client_timeout) as server:
            if kind == "timeout":
                with pytest.raises((TimeoutError, urllib.error.URLError)):
                    _post(server.api_base, timeout=client_timeout)
            elif kind == "drop":
                with pytest.raises((OSError, http.client.HTTPException)):  # IncompleteRead, reset
                    _post(server.api_base)
            else:
                status, body = _post(server.api_base)
                expected = {"429": 429, "500": 500}.get(kind, 200)
                assert status == expected, kind
                if kind == "garbage":
                    assert body.startswith(b"<html>")
                elif kind == "truncated":
                    with pytest.raises(json.JSONDecodeError):
                        json.loads(body)
                elif kind == "slow":
                    content = json.loads(body)["choices"][0]["message"]["content"]
                    assert faults.TOKEN_RE.search(content)
            assert server.stats.faults == {kind: 1}
            # only replies the client could read carry a token it may use
            assert bool(server.stats.act_tokens) == (kind == "slow")


def test_good_replies_carry_unique_tokens_and_judge_replies_are_valid() -> None:
    from eval.judge import SOTOPIA_DIMENSIONS, judge_messages, parse_judgement
    from scenarios import load_library

    library = load_library()
    scenario_id = sorted(library.scenarios)[0]
    from eval.interactive import plan_setups

    setup, _ = plan_setups(library, [scenario_id], 1)[0]
    from envs.types import Episode

    episode = Episode(id="x", setup=setup)
    with faults.FaultServer(0.0) as server:
        _, first = _post(server.api_base)
        _, again = _post(server.api_base)  # the same call asked twice: a retry, with its own token
        _, judged = _post(server.api_base, judge_messages(episode, SOTOPIA_DIMENSIONS))
    texts = [json.loads(body)["choices"][0]["message"]["content"] for body in (first, again, judged)]
    tokens = [faults.TOKEN_RE.search(text).group(0) for text in texts]
    assert len(set(tokens)) == 3
    assert server.stats.act_tokens == set(tokens[:2]) and server.stats.judge_tokens == {tokens[2]}
    assert server.stats.requests == 3 and server.stats.retries == 1
    scores = parse_judgement(texts[2], setup.agent_names, SOTOPIA_DIMENSIONS)
    assert set(scores) == set(setup.agent_names)


def test_faults_are_seeded_by_call_not_by_arrival_order() -> None:
    calls = [[{"role": "user", "content": f"call {i}"}] for i in range(60)]

    def fates(seed: int, order: list[int]) -> dict[int, list[str | None]]:
        server = faults.FaultServer(0.5, seed=seed)  # decide() needs no socket
        seen: dict[int, list[str | None]] = {}
        for i in order:
            for _ in range(3):
                seen.setdefault(i, []).append(server.decide(calls[i])[0])
        return seen

    forward = fates(0, list(range(60)))
    assert forward == fates(0, list(reversed(range(60))))
    assert forward != fates(1, list(range(60)))
    failed = sum(kind not in (None,) for kinds in forward.values() for kind in kinds)
    assert 0.3 < failed / 180 < 0.7


def test_the_server_stops_by_itself() -> None:
    server = faults.FaultServer(0.0, lifetime_s=0.2).start()
    api_base = server.api_base
    time.sleep(0.6)
    with pytest.raises(urllib.error.URLError):
        _post(api_base, timeout=2)
    capped = faults.FaultServer(0.0, max_requests=2).start()
    api_base = capped.api_base
    _post(api_base)
    _post(api_base)
    time.sleep(0.4)
    with pytest.raises(urllib.error.URLError):
        _post(api_base, timeout=2)
    capped.stop()


def test_interactive_under_faults_fakes_and_loses_nothing(tmp_path: Path) -> None:
    """The real command, 3 episodes, half the calls failing and 2 attempts per call: every episode is
    stored finished or failed with a reason, every stored act came from a model reply."""
    result = faults.run_share(0.5, episodes=3, max_turns=2, attempts=2, timeout_s=1.0, seed=0, out_dir=tmp_path)
    table = faults.render([result])
    assert result.problems == [], table
    assert result.planned == 3 and result.finished + result.failed == 3, table
    assert result.fake_acts == 0 and result.fake_judgements == 0 and result.lost == 0, table
    assert sum(result.faults.values()) > 0 and result.retries > 0, table

    # The audit is not blind: an invented act and an episode left running are both caught.
    with EpisodeStore(result.out) as store:
        stored = [store.get(episode_id) for episode_id in result.plan]
        with_turns = next(ep for ep in stored if ep is not None and ep.turns)
        turn = with_turns.turns[0]
        with_turns.turns[0] = turn.model_copy(
            update={"action": turn.action.model_copy(update={"argument": "I made this up."})}
        )
        store.put(with_turns)
        other = next(ep for ep in stored if ep is not None and ep.id != with_turns.id)
        other.status, other.error = EpisodeStatus.running, None
        store.put(other)
    again = faults.audit(faults.ShareResult(share=0.5), result.out, result.plan, result.stats)
    assert again.fake_acts >= 1 and again.lost == 1


def test_grpo_rollout_under_faults_fakes_and_loses_nothing() -> None:
    """TrajectoryRollout, 3 tasks x a group of 2, half the partner and judge calls failing and 2
    attempts per call: every row comes back scorable or with a reason, no partner act or goal score
    was invented, and the audit catches each of those when they are planted."""
    import copy

    from eval.judge import resolve_dimensions

    result = faults.run_rollout_share(0.5, scenarios=3, group=2, max_turns=2, timeout_s=1.0, attempts=2, seed=0)
    table = faults.render_rollout([result])
    assert result.problems == [], table
    assert result.planned == result.rows == 6 and result.keys == [k for k in result.keys[::2] for _ in range(2)]
    assert result.fake_acts == 0 and result.fake_scores == 0 and result.lost == 0, table
    assert sum(result.faults.values()) > 0 and result.retries > 0, table
    assert result.scorable + result.unscorable + result.judge_failed == result.rows, table
    assert result.scorable < result.rows, table  # the faults made some rows unscorable
    fields = result.fields
    for i in range(result.rows):
        if fields["scorable"][i]:
            assert fields["goal_score"][i] is not None, (i, table)
        elif fields["rollout_error"][i] or fields["episode_status"][i] == "failed":
            assert fields["rollout_error"][i].strip(), (i, table)  # a failed row says why
        else:  # finished but unjudged: the reason is on the stored episode of that task
            assert any(
                ep.metadata.task == result.keys[i] and not ep.evaluation.ok and ep.evaluation.error
                for ep in result.episodes
            ), (i, table)

    # The audit is not blind: an invented partner act, an invented goal score and a row that lost its
    # reason are each caught.
    dimensions = resolve_dimensions("goal")
    planted = copy.deepcopy(fields)
    episodes = [ep.model_copy(deep=True) for ep in result.episodes]
    episode = next(ep for ep in episodes if any(t.agent != ep.metadata.policy and not t.error for t in ep.turns))
    index = next(i for i, t in enumerate(episode.turns) if t.agent != episode.metadata.policy and not t.error)
    turn = episode.turns[index]
    episode.turns[index] = turn.model_copy(
        update={"action": turn.action.model_copy(update={"argument": "I made this up."})}
    )
    scored = next(i for i in range(result.rows) if planted["goal_score"][i] is not None)
    planted["goal_score"][scored] = 11.0
    failed = next(i for i in range(result.rows) if planted["rollout_error"][i])
    planted["rollout_error"][failed], planted["episode_status"][failed] = "", "finished"
    again = faults.audit_rollout(
        faults.RolloutResult(share=0.5, keys=result.keys, fields=planted, episodes=episodes, stats=result.stats),
        dimensions,
    )
    assert again.fake_acts == 1 and again.fake_scores == 1 and again.lost == 1, faults.render_rollout([again])
    short = {name: list(values)[:-1] for name, values in fields.items()}
    dropped = faults.audit_rollout(
        faults.RolloutResult(share=0.5, keys=result.keys, fields=short, episodes=result.episodes, stats=result.stats),
        dimensions,
    )
    assert dropped.lost == 1 and dropped.problems, faults.render_rollout([dropped])
