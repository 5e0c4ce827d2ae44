"""``python -m eval.interactive`` on group scenarios (3-4 roles) with scripted agents and a fake judge."""

from __future__ import annotations

import json
from pathlib import Path

from fake_llm_server import FakeLLMServer, Reply

from envs.types import EpisodeStatus
from eval.interactive import SUMMARY_FILE, episode_id, main
from eval.report import episode_view, write_report
from eval.store import EpisodeStore

MODEL = "scripted:TEST-MODEL-LINE"
PARTNER = "scripted:PARTNER-LINE"


def group_judgement() -> Reply:
    """A goal-only judgement for up to four agents: agent_k gets goal 2k (extra keys are ignored)."""
    blocks = {f"agent_{k}": {"goal": {"reasoning": "ok", "score": 2 * k}} for k in range(1, 5)}
    return Reply.text(json.dumps(blocks))


def test_turn_mode_changes_the_id_but_round_robin_keeps_old_ids() -> None:
    base = ("local", "local", "first", "s|a+b", 0, None, "")
    assert episode_id(*base, "round-robin") == episode_id(*base) == "ia-b1454e99914101d43e15e6d8"
    assert episode_id(*base, "random") != episode_id(*base)


def test_group_run_judges_every_agent_and_reports_them(tmp_path: Path) -> None:
    out = tmp_path / "g"
    argv = [
        "--model", MODEL, "--partner", PARTNER, "--judge", "openai/fake", "--judge-dimensions", "goal",
        "--scenarios", "sotopia-group", "--limit", "2", "--max-turns", "6", "--turn-mode", "random",
        "--test-side", "second", "--out", str(out),
    ]  # fmt: skip
    with FakeLLMServer(default=group_judgement()) as judge:
        assert main([*argv, "--judge-api-base", judge.api_base]) == 0
        assert judge.count == 2
        # the two episodes run concurrently: either may be judged first
        prompts = [request["messages"][1]["content"] for request in judge.requests]
    with EpisodeStore(out, create=False) as store:
        episodes = sorted(store.episodes(), key=lambda e: e.setup.scenario.id)
    assert [e.setup.scenario.id for e in episodes] == ["sg_group_block_party", "sg_group_dying_tree"]
    for episode in episodes:
        names = episode.setup.agent_names
        # one line each, then the scripts leave: the episode ends when fewer than two are left
        assert episode.status is EpisodeStatus.finished and 3 <= len(episode.turns) <= 6
        assert episode.metadata.env.turn_mode == "random"
        test_agent = episode.metadata.interactive.test_agent
        assert test_agent == names[1]
        assert episode.agent_models == {n: MODEL if n == test_agent else PARTNER for n in names}
        assert {n: s["goal"] for n, s in episode.scores.items()} == {
            n: 2.0 * (i + 1) for i, n in enumerate(names)
        }
        view = episode_view("g", episode, ["goal"])
        assert [a["name"] for a in view["agents"]] == names
        assert f"{names[0]} & {names[1]}:" in view["relationship"]
    assert any("Relationship between" in prompt and "agent_4" in prompt for prompt in prompts)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    (pair,) = summary["pairs"]
    # the test model sits in seat 2 (agent_2: goal 4) in both episodes
    assert pair["finished"] == 2 and pair["dimensions"]["goal"]["mean"] == 4.0
    html = write_report([out], tmp_path / "report.html").read_text()
    assert all(name in html for name in episodes[0].setup.agent_names)
