"""Social GRPO on rule-checked goals: the --env wiring, the rollout's rule_score field and a judge-free run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.tasks import TaskRegistry


def test_verifiable_env_trains_without_a_judge_unless_one_is_asked_for(tmp_path: Path) -> None:
    from training.grpo import config_from_args, parse_args

    config, _ = config_from_args(parse_args(["--env", "sotopia-verifiable"]))
    assert config.env == "sotopia-verifiable" and config.judge is None and "rules" in config.reward_terms
    config, _ = config_from_args(parse_args(["--env", "sotopia-verifiable", "--judge", "local"]))
    assert config.judge == "local"
    run = tmp_path / "run.yaml"
    run.write_text("judge: openai/gpt-4o\n")
    config, _ = config_from_args(parse_args(["--env", "sotopia-verifiable", "--config", str(run)]))
    assert config.judge == "openai/gpt-4o"
    config, _ = config_from_args(parse_args(["--env", "sotopia"]))
    assert config.judge == "local"  # other envs keep the preset's judge


class _Says:
    """A policy that writes one SIP turn whose answer is a fixed act (token ids)."""

    def __init__(self, tokenizer: Any, act: str) -> None:
        self.tokenizer = tokenizer
        self.text = (
            "<think>1. Cue Encoding: a price. 2. Cue Interpretation: they want a deal. 3. Goal Clarification: "
            f"sell. 4. Response Generation: state it.</think><Answer>{act}</Answer>"
        )

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
        ids = self.tokenizer(self.text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        return [list(ids) for _ in prompt_ids], None


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from agents.local_model import local_policy_dir

    return AutoTokenizer.from_pretrained(local_policy_dir())


@pytest.mark.slow
def test_rollout_scores_rule_checked_episodes_without_a_judge(tokenizer: Any) -> None:
    from agents.scripted import ScriptedAgent
    from scenarios import load_library
    from scenarios.graph import sample_setups
    from training.rewards import trl_reward_funcs
    from training.rollout import TrajectoryRollout

    library = load_library()
    camera = sample_setups(library, "sg_ver_deal_film_camera", n=1, seed=0)[0]
    tasks = TaskRegistry()
    keys = tasks.add_social([camera], roles=(0,))  # the policy sells
    partner_lines = {
        "agrees": ["DEAL: $200"] * 3,
        "haggles": ["DEAL: $150"] * 3,
        "unreadable": ["DEAL: cheap"] * 3,
    }

    def run(partner: str, act: str) -> Any:
        rollout = TrajectoryRollout(
            tasks, tokenizer, lambda task: ScriptedAgent(partner_lines[partner]), evaluator=None, max_turns=4
        )
        return rollout.run(keys, _Says(tokenizer, act))

    agreed = run("agrees", "DEAL: $200")
    assert agreed["rule_score"] == [1.0] and agreed["scorable"] == [True] and agreed["goal_score"] == [None]
    missed = run("haggles", "DEAL: $200")
    assert missed["rule_score"] == [0.5] and missed["scorable"] == [True]  # no deal: fail; the rent: kept
    told = run("agrees", "My rent is due. DEAL: $200")
    assert told["rule_score"] == [0.5]
    undecided = run("unreadable", "DEAL: $200")
    assert undecided["rule_score"] == [None] and undecided["scorable"] == [False]
    assert "rule checks undecidable" in undecided["rollout_error"][0]
    assert set(undecided["env_mask"][0]) == {0}  # an unscorable row takes no part in the loss
    rules = next(f for f in trl_reward_funcs(["rules"]))
    rows = {"rule_score": agreed["rule_score"] + missed["rule_score"], "scorable": [True, True]}
    assert rules(prompts=["k", "k"], completions=["x", "x"], **rows) == [1.0, 0.5]


@pytest.mark.slow
def test_grpo_step_on_rule_checked_goals_needs_no_judge(tmp_path: Path) -> None:
    from training.grpo import main

    out = tmp_path / "verifiable"
    args = [
        "--env", "sotopia-verifiable", "--scenarios-limit", "2", "--max-steps", "1",
        "--partner", "scripted:DEAL: $200|AGREE: Thursday 4pm|Fine.", "--max-turns", "3", "--turn-tokens", "24",
        "--num-generations", "2", "--prompts-per-step", "1", "--beta", "0", "--output-dir", str(out),
        "--report-to", "none", "--no-warmup",
    ]  # fmt: skip
    assert main(args) == 0  # no --judge, no judge server: the rule checks score the episodes
    saved = json.loads((out / "config.json").read_text())
    assert saved["judge"] is None and saved["env"] == "sotopia-verifiable"
    (line,) = [json.loads(text) for text in (out / "metrics.jsonl").read_text().splitlines()]
    assert "rewards/rules/mean" in line
    from eval.store import EpisodeStore

    episodes = EpisodeStore(out).episodes()
    assert episodes and all(ep.setup.scenario.has_checks for ep in episodes)
    assert all(ep.evaluation and ep.evaluation.evaluator == "rule-checks" for ep in episodes)
