"""GRPO rollouts with the policy in one seat of a group episode (3-4 roles): one row per episode."""

from __future__ import annotations

from typing import Any

import pytest

from training.tasks import TaskRegistry


class _Says:
    """A policy that writes one fixed SIP turn (token ids) for every prompt."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.text = (
            "<think>1. Cue Encoding: friends talk. 2. Cue Interpretation: they want a plan. 3. Goal "
            "Clarification: agree. 4. Response Generation: propose.</think><Answer>How about the beach?</Answer>"
        )

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
        ids = self.tokenizer(self.text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        return [list(ids) for _ in prompt_ids], None


@pytest.mark.slow
def test_policy_in_one_seat_of_four() -> None:
    from transformers import AutoTokenizer

    from agents.local_model import local_policy_dir
    from agents.scripted import ScriptedAgent
    from scenarios import load_library
    from scenarios.graph import sample_setups
    from training.rollout import TrajectoryRollout

    tokenizer = AutoTokenizer.from_pretrained(local_policy_dir())
    setup = sample_setups(load_library(), "sg_group_weekend_trip", n=1, seed=0)[0]
    tasks = TaskRegistry()
    keys = tasks.add_social([setup], roles=(2,))  # the policy sits in the third of four seats
    made: list[ScriptedAgent] = []

    def partner(task: Any) -> ScriptedAgent:
        made.append(ScriptedAgent([f"PARTNER-LINE-{len(made)}"], then="repeat"))
        return made[-1]

    episodes: list[Any] = []
    rollout = TrajectoryRollout(tasks, tokenizer, partner, max_turns=8, on_episode=episodes.append)
    rows = rollout.run(keys, _Says(tokenizer))

    assert len(made) == 3 and len(rows["completion_ids"]) == 1 and rows["rollout_error"] == [""]
    (episode,) = episodes
    names = setup.agent_names
    assert episode.metadata.policy == names[2]
    assert [t.agent for t in episode.turns] == [names[i % 4] for i in range(8)]
    assert episode.agent_models[names[2]] == "learner"
    # partners' acts between two policy turns are in the stream, masked out of the loss
    mask, ids = rows["env_mask"][0], rows["completion_ids"][0]
    fed_back = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m == 0])
    assert "PARTNER-LINE-0" in fed_back and "PARTNER-LINE-1" in fed_back
    assert 1 in mask
