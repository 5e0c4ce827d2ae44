"""bench/eval_throughput.py: our runner plays exactly the baseline's tasks, and the comparison is against
SOTOPIA's fastest run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench_scripts import load_bench_script


def _bench() -> Any:
    return load_bench_script("eval_throughput")


def test_our_plan_is_the_baselines_tasks_and_pairings(shared_data: Path, tmp_path: Path) -> None:
    from eval.interactive import plan_setups, select_scenarios

    manifest = shared_data.parent / "bench" / "sotopia_baseline" / "results" / "n4_c4_a" / "manifest.json"
    if not manifest.is_file():
        pytest.skip(f"no baseline manifest at {manifest}")
    tasks = _bench().task_dump(manifest, shared_data / "sotopia", tmp_path / "tasks")
    library, ids = select_scenarios(f"sotopia:{tmp_path / 'tasks'}")
    planned = {setup.scenario.id: setup.agent_names for setup, _ in plan_setups(library, ids, 1)}
    expected = {task["env_id"]: task["agent_names"] for task in json.loads(manifest.read_text())["episodes"]}
    assert len(tasks) == 4 and planned == expected


def test_ours_is_compared_with_sotopias_fastest_run() -> None:
    bench = _bench()

    def run(wall: float, turns: list[int]) -> dict[str, Any]:
        return {"wall_s": wall, "episodes": len(turns), "turns": turns, "valid_judgements": 0}

    before = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "busy_seconds": 10.0}
    after = {"requests": 8, "prompt_tokens": 4000, "completion_tokens": 800, "busy_seconds": 68.5}
    runs = {
        "sotopia": [bench.with_rates(run(w, [4, 4, 4, 4]), before, after) for w in (240.0, 120.0, 480.0)],
        "ours": [bench.with_rates(run(60.0, [2, 3, 3, 2]), before, after)],
    }
    assert runs["ours"][0]["episodes_per_min"] == 4.0 and runs["ours"][0]["agent_turns_per_min"] == 10.0
    assert runs["ours"][0]["prompt_tokens_per_episode"] == 1000.0
    assert runs["ours"][0]["endpoint_busy_s"] == 58.5
    episodes, turns = bench.compare(runs)
    # the fastest SOTOPIA run (120 s: 2 episodes/min, 8 agent turns/min) is the yardstick
    assert "SOTOPIA fastest 2.00 (of 3)" in episodes and "ratio mean 2.00x" in episodes
    assert "SOTOPIA fastest 8.00" in turns and "ratio mean 1.25x" in turns


@pytest.mark.slow
@pytest.mark.parametrize("cache_mb", [0, 64])
async def test_with_the_prompt_cache_an_agents_next_turn_evaluates_only_what_it_adds(cache_mb: int) -> None:
    """Real agent prompts on the embedded server: agent A's first turn, B's, then A's second. B's
    request takes the server's context in between, so only the prompt cache lets A's second turn
    reuse its first (read from the server's own timing lines, as the benchmark reads them)."""
    from agents.client import Endpoint, chat
    from agents.llm import LLMAgent
    from agents.local_model import LOCAL_MODEL_ALIAS, LocalServer
    from envs.social import SocialEpisodeEnv
    from envs.types import ActionType, AgentAction
    from eval.interactive import plan_setups, select_scenarios

    library, ids = select_scenarios("sotopia", 1)
    setup = plan_setups(library, ids, 1)[0][0]
    env = SocialEpisodeEnv(setup)
    _, infos = env.reset()
    first, second = setup.agent_names
    prompts = []
    for speaker in (first, second, first):
        observation = infos[speaker]["observation"]
        assert observation.is_my_turn
        agent = LLMAgent("local")
        agent.reset(setup, speaker)
        prompts.append(agent.messages(observation))
        act = AgentAction(action_type=ActionType.speak, argument=f"Hello, I am {speaker}.")
        _, _, _, _, infos = env.step({speaker: act})
    with LocalServer(cache_mb=cache_mb) as server:
        endpoint = Endpoint(model=f"openai/{LOCAL_MODEL_ALIAS}", api_base=server.api_base, api_key="sk-local")
        sent = [(await chat(endpoint, messages, max_tokens=1, temperature=0.0)).prompt_tokens for messages in prompts]
        evaluated = _bench().evaluated_prompt_tokens(server.log_path.read_text())
        work = _bench().server_work(server.log_path.read_text())
    assert len(evaluated) == 3 and all(sent)
    assert work["prompt_tokens_evaluated"] == sum(evaluated) and work["prompt_eval_s"] > 0
    assert work["server_total_s"] >= work["prompt_eval_s"] + work["generation_s"] + work["sampling_s"] - 1e-6
    assert evaluated[1] > sent[1] // 2  # B's first turn shares little with A's prompt
    if cache_mb:
        assert evaluated[2] < sent[2] // 3, (sent, evaluated)  # A's briefing came back from the cache
    else:
        assert evaluated[2] > sent[2] // 2, (sent, evaluated)
