"""Trajectory-level GRPO: token masks of rollouts, two real TRL steps, resume, no gradient on partner tokens.

The partner is scripted and the judge is a loopback fake, so these tests need no model server;
the policy is the embedded SmolLM2 converted to transformers (slow: marked).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from fake_llm_server import FakeLLMServer, Reply

from training.config import TrainConfig, build_config
from training.tasks import TaskRegistry, mixed_keys

JUDGEMENT = json.dumps(
    {
        "agent_1": {"goal": {"reasoning": "made progress", "score": 7}},
        "agent_2": {"goal": {"reasoning": "held firm", "score": 4}},
    }
)


def _setups(n: int = 1) -> list[Any]:
    from scenarios import load_library
    from scenarios.graph import sample_setups

    library = load_library()
    ids = sorted(library.scenarios)[:n]
    return sample_setups(library, scenario_id=ids, n=1, seed=0)


def test_task_rows_are_uniform_and_mixed_by_fraction() -> None:
    from eval.tom_generator import generate_items

    tasks = TaskRegistry()
    social = tasks.add_social(_setups(2), roles=(0, 1))
    mcq = tasks.add_mcq(generate_items(5, seed=0))
    assert len(social) == 4 and len(mcq) == 5
    rows = [tasks.row(k) for k in social + mcq]
    assert all(set(r) == set(rows[0]) for r in rows)
    assert {r["kind"] for r in rows} == {"social", "mcq"}
    mcq_row = tasks.row(mcq[0])
    assert mcq_row["options"][mcq_row["answer"]] == mcq_row["answer_text"]
    social_row = tasks.row(social[0])
    assert social_row["options"] == [] and social_row["answer"] == -1 and social_row["goal"]
    # the typed dataset keeps the same columns and values (an all-empty options column stays a list of str)
    dataset = tasks.dataset(social + mcq)
    assert dataset.column_names == list(rows[0])
    assert dataset[len(social)]["options"] == mcq_row["options"] and dataset[0]["options"] == []
    keys = mixed_keys(social, mcq, 400, mcq_fraction=0.25, seed=1)
    share = sum(k.startswith("mcq:") for k in keys) / len(keys)
    assert 0.15 < share < 0.35
    assert mixed_keys(social, mcq, 50, 0.5, seed=3) == mixed_keys(social, mcq, 50, 0.5, seed=3)
    with pytest.raises(KeyError, match="unknown training task"):
        tasks["social:999"]


def test_config_layers_preset_file_and_flags(tmp_path: Path) -> None:
    extra = tmp_path / "run.yaml"
    extra.write_text("max_turns: 6\nnum_generations: 4\n")
    config = build_config("cpu", str(extra), {"num_generations": 3, "partner": None})
    assert config.max_turns == 6 and config.num_generations == 3 and config.partner == "local"
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_turnz: 6\n")
    with pytest.raises(ValueError, match="max_turnz"):
        build_config("cpu", str(bad), {})
    with pytest.raises(ValueError, match="unknown preset"):
        build_config("gpu9000", None, {})
    assert TrainConfig(**build_config("a100x8", None, {}).model_dump()).learning_rate == 5e-7


def test_flags_switch_parts_off_and_pick_the_cpu_preset() -> None:
    from training.grpo import config_from_args, parse_args

    config, resume = config_from_args(parse_args(["--env", "none", "--mcq", "generated", "--judge", "none"]))
    assert config.env is None and config.judge is None and config.mcq == ["generated"] and not resume
    config, _ = config_from_args(parse_args(["--env", "sotopia-hard", "--max-steps", "7", "--lr", "3e-6"]))
    assert (config.env, config.max_steps, config.learning_rate) == ("sotopia-hard", 7, 3e-6)
    assert config.model == "local" and config.output_dir and config.output_dir.startswith("runs")
    assert config.think_prefill == "<think>\n1. Cue Encoding:"
    config, _ = config_from_args(parse_args(["--think-prefill", "none"]))
    assert config.think_prefill == ""
    config, _ = config_from_args(parse_args(["--think-prefill", "<think>\\n"]))
    assert config.think_prefill == "<think>\n"


def test_grpo_args_state_every_preset_setting_explicitly(tmp_path: Path) -> None:
    from training.grpo import grpo_args

    cpu = grpo_args(build_config("cpu", None, {}), tmp_path, world=1)
    assert cpu.gradient_checkpointing is True and cpu.max_completion_length == 128
    # a False in the config reaches TRL (it used to be dropped, leaving TRL's default True)
    off = grpo_args(build_config("cpu", None, {"gradient_checkpointing": False}), tmp_path, world=1)
    assert off.gradient_checkpointing is False


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from agents.local_model import local_policy_dir

    return AutoTokenizer.from_pretrained(local_policy_dir())


class _CannedPolicy:
    """Returns fixed SIP turns (as token ids); counts generate calls and batch sizes."""

    TEXT = (
        "<think>Cue Encoding: they asked. Cue Interpretation: they want help. Goal Clarification: "
        "get my goal. Response Generation: answer kindly.</think><Answer>Happy to talk about it.</Answer>"
    )

    def __init__(self, tokenizer: Any, text: str = TEXT) -> None:
        self.tokenizer = tokenizer
        self.text = text
        self.calls: list[int] = []
        self.prompts: list[list[list[int]]] = []

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
        self.calls.append(len(prompt_ids))
        self.prompts.append([list(p) for p in prompt_ids])
        ids = self.tokenizer(self.text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        return [list(ids) for _ in prompt_ids], None


@pytest.mark.slow
def test_rollout_masks_partner_tokens_and_batches_policy_turns(tokenizer: Any) -> None:
    from agents.scripted import ScriptedAgent
    from eval.judge import SotopiaJudge
    from training.rollout import TrajectoryRollout

    tasks = TaskRegistry()
    keys = tasks.add_social(_setups(1), roles=(0,))
    from eval.tom_generator import generate_items

    keys += tasks.add_mcq(generate_items(1, seed=0))
    stored: list[Any] = []
    partner_line = "PARTNERLINE zebra umbrella"
    with FakeLLMServer(default=Reply.text(JUDGEMENT)) as judge_server:
        rollout = TrajectoryRollout(
            tasks,
            tokenizer,
            lambda task: ScriptedAgent([partner_line] * 5),
            evaluator=SotopiaJudge("openai/fake", api_base=judge_server.api_base, dimensions="goal"),
            max_turns=4,
            on_episode=stored.append,
        )
        policy = _CannedPolicy(tokenizer)
        batch = [keys[0], keys[0], keys[1]]
        out = rollout.run(batch, policy)
    # one generate call per round: round 1 = 2 episodes + the MCQ item, round 2 = the 2 episodes
    assert policy.calls == [3, 2]
    # the second turn is generated seeing the partner's reply, and the row holds exactly that context
    assert all("PARTNERLINE" in tokenizer.decode(p) for p in policy.prompts[1])
    first_rows = [out["prompt_ids"][i] + out["completion_ids"][i] for i in range(2)]
    for seen, row in zip(policy.prompts[1], first_rows, strict=True):
        assert row[: len(seen)] == seen
    assert len(out["completion_ids"]) == 3
    for ids, mask, logps in zip(out["completion_ids"], out["env_mask"], out["logprobs"], strict=True):
        assert len(ids) == len(mask) == len(logps)
    social_ids, social_mask = out["completion_ids"][0], out["env_mask"][0]
    policy_text = tokenizer.decode([t for t, m in zip(social_ids, social_mask, strict=True) if m == 1])
    env_text = tokenizer.decode([t for t, m in zip(social_ids, social_mask, strict=True) if m == 0])
    assert "PARTNERLINE" in env_text and "PARTNERLINE" not in policy_text
    assert policy_text.count("<Answer>") == 2 and "<Answer>" not in env_text
    assert 0 in social_mask and set(out["env_mask"][2]) == {1}  # the MCQ row is all policy tokens
    assert out["goal_score"][:2] == [7.0, 7.0] and out["goal_score"][2] is None
    assert [len(t) for t in out["policy_texts"]] == [2, 2, 1]
    assert len(stored) == 2 and all(ep.metadata.task == keys[0] for ep in stored)
    assert all(t.raw_text and "<think>" in t.raw_text for t in stored[0].turns if t.agent == stored[0].metadata.policy)


def _train_args(out: Path, api_base: str, steps: int) -> list[str]:
    return [
        "--env", "sotopia", "--mcq", "generated", "--scenarios-limit", "2", "--max-steps", str(steps),
        "--partner", "scripted:Hello there.|I am not sure.|Fine.", "--judge", "openai/fake",
        "--judge-api-base", api_base, "--max-turns", "3", "--turn-tokens", "24", "--num-generations", "2",
        "--prompts-per-step", "1", "--beta", "0", "--output-dir", str(out), "--report-to", "none", "--save-steps", "2",
        "--mcq-items", "20", "--heldout-items", "2", "--eval-steps", "2", "--no-warmup",
        "--no-lora",  # full checkpoints (model.safetensors); tests/test_lora.py covers adapter checkpoints
    ]  # fmt: skip


@pytest.mark.slow
def test_two_grpo_steps_then_resume(tmp_path: Path) -> None:
    from training.grpo import main

    out = tmp_path / "run"
    with FakeLLMServer(default=Reply.text(JUDGEMENT)) as judge_server:
        assert main(_train_args(out, judge_server.api_base, 2)) == 0
        lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert [line["step"] for line in lines] == [1, 2]
        assert "heldout/accuracy" not in lines[0] and lines[1]["heldout/n"] == 2.0
        assert 0.0 <= lines[1]["heldout/format"] <= 1.0
        for term in ("format", "structure", "content", "length"):
            assert f"rewards/{term}/mean" in lines[0]
        assert (out / "checkpoint-2" / "model.safetensors").exists()
        assert (out / "checkpoint-2" / "optimizer.pt").exists()
        from eval.store import EpisodeStore

        episodes = EpisodeStore(out).episodes()
        assert episodes and all(ep.metadata.training_step is not None for ep in episodes)

        resume = ["--resume", str(out), "--max-steps", "3", "--judge-api-base", judge_server.api_base]
        assert main(resume) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]
    assert (out / "checkpoint-3").exists()
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3


@pytest.mark.slow
def test_two_cpu_processes_with_deepspeed_zero2(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from conftest import require_module

    require_module("deepspeed", "DeepSpeed is in the 'gpu' extra; install it with DS_BUILD_OPS=0 (scripts/setup.sh)")
    accelerate = shutil.which("accelerate")
    assert accelerate, "accelerate's launcher is part of the train extra"
    out = tmp_path / "zero2"
    command = [
        accelerate, "launch", "--config_file", "training/configs/zero2.yaml", "--num_processes", "2",
        "-m", "training.grpo", "--env", "none", "--mcq", "generated", "--max-steps", "1",
        "--num-generations", "2", "--prompts-per-step", "1", "--turn-tokens", "16", "--mcq-items", "10",
        "--output-dir", str(out), "--report-to", "none", "--no-warmup",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (out / "checkpoint-1").is_dir()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and "rewards/format/mean" in json.loads(lines[0])


@pytest.mark.slow
def test_partner_tokens_get_no_gradient(tmp_path: Path, tokenizer: Any) -> None:
    """Backpropagate TRL's GRPO loss on a real rollout: masked (partner) positions get exactly zero gradient."""
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from agents.local_model import local_policy_dir
    from agents.scripted import ScriptedAgent
    from training.rewards import trl_reward_funcs
    from training.rollout import TrajectoryRollout

    tasks = TaskRegistry()
    key = tasks.add_social(_setups(1), roles=(0,))[0]
    rollout = TrajectoryRollout(tasks, tokenizer, lambda task: ScriptedAgent(["PARTNER says something long"] * 4), max_turns=3)
    args = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=2, num_generations=2, max_completion_length=8,
        beta=0.0, loss_type="dapo", use_cpu=True, report_to="none", max_steps=1, logging_steps=1,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=str(local_policy_dir()),
        reward_funcs=trl_reward_funcs(["format", "length"]),
        args=args,
        train_dataset=Dataset.from_list([tasks.row(key)] * 4),
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    captured: list[torch.Tensor] = []
    original = trainer._get_per_token_logps_and_entropies

    def keep_logps(*a: Any, **kw: Any) -> Any:
        result = original(*a, **kw)  # (logps, entropies, ...) in TRL 1.16
        logps = result[0]
        if logps.requires_grad:
            logps.retain_grad()
            captured.append(logps)
        return result

    trainer._get_per_token_logps_and_entropies = keep_logps  # type: ignore[method-assign]
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train(); we call the loss directly
    inputs = trainer._generate_and_score_completions([tasks.row(key), tasks.row(key)])
    env_mask = inputs["tool_mask"]
    completion_mask = inputs["completion_mask"]
    assert (env_mask == 0).any() and (env_mask == 1).any(), "the rollout must contain partner and policy tokens"
    # make the advantages non-zero so the policy tokens do get a gradient
    inputs["advantages"] = torch.tensor([1.0, -1.0])
    loss = trainer.compute_loss(trainer.model, inputs)
    loss.backward()
    grad = captured[-1].grad
    partner = (env_mask == 0) & (completion_mask == 1)
    policy = (env_mask == 1) & (completion_mask == 1)
    assert torch.count_nonzero(grad[partner]) == 0
    assert torch.count_nonzero(grad[policy]) > 0


@pytest.mark.slow
def test_think_prefill_opens_every_policy_turn_outside_the_loss(tokenizer: Any) -> None:
    from agents.scripted import ScriptedAgent
    from agents.sip import SIP, THINK_PREFILL
    from eval.tom_generator import generate_items
    from training.rollout import TrajectoryRollout

    tasks = TaskRegistry()
    keys = tasks.add_social(_setups(1), roles=(0,)) + tasks.add_mcq(generate_items(1, seed=0))
    rollout = TrajectoryRollout(
        tasks, tokenizer, lambda task: ScriptedAgent(["Sure."] * 5), max_turns=4, think_prefill=THINK_PREFILL
    )
    rest = (" they asked.\n2. Cue Interpretation: they want help.\n3. Goal Clarification: help.\n"
            "4. Response Generation: agree.\n</think>\n<Answer>Happy to.</Answer>")
    policy = _CannedPolicy(tokenizer, text=rest)
    out = rollout.run(keys, policy)
    prefill = tokenizer(THINK_PREFILL, add_special_tokens=False)["input_ids"]
    assert all(p[-len(prefill):] == prefill for call in policy.prompts for p in call)
    assert len(policy.prompts) == 2
    for texts in out["policy_texts"]:
        assert texts and all(t == THINK_PREFILL + rest for t in texts)
        assert all(SIP.structure_reward(t) == 1.0 for t in texts)
    social_ids, social_mask = out["completion_ids"][0], out["env_mask"][0]
    policy_text = tokenizer.decode([t for t, m in zip(social_ids, social_mask, strict=True) if m == 1])
    env_text = tokenizer.decode([t for t, m in zip(social_ids, social_mask, strict=True) if m == 0])
    assert "Cue Encoding:" in env_text and policy_text.count("1. Cue Encoding") == 0



@pytest.mark.slow
@pytest.mark.parametrize("template", ["embedded", "history-rewriting"])
def test_evaluated_agent_sees_the_rollouts_context_at_every_turn(tokenizer: Any, monkeypatch: Any, template: str) -> None:
    """The SIP agent's prompt for turn k (chat template + think prefill) is the rollout's context for turn k,
    also with a Qwen3-style template that rewrites earlier turns when the conversation is rendered whole."""
    import asyncio

    from test_chat_format import rewriting

    if template == "history-rewriting":
        tokenizer = rewriting(tokenizer)

    from agents import hf_backend
    from agents.client import ChatResult, Endpoint
    from agents.scripted import ScriptedAgent
    from agents.sip import THINK_PREFILL
    from agents.socialr1 import SocialR1Agent
    from envs.runner import run_episode
    from training.rollout import TrajectoryRollout

    rest = (" they asked.\n2. Cue Interpretation: they want help.\n3. Goal Clarification: help.\n"
            "4. Response Generation: agree.\n</think>\n<Answer>Happy to.</Answer>")
    lines = ["Hi, do you have a minute?", "Thanks, that helps.", "Bye then."]
    setup = _setups(1)[0]
    tasks = TaskRegistry()
    key = tasks.add_social([setup], roles=(0,))[0]
    rollout = TrajectoryRollout(
        tasks, tokenizer, lambda task: ScriptedAgent(list(lines)), max_turns=5, think_prefill=THINK_PREFILL
    )
    policy = _CannedPolicy(tokenizer, text=rest)
    rollout.run([key], policy)
    trained_contexts = [tokenizer.decode(call[0]) for call in policy.prompts]

    seen: list[str] = []

    async def fake_chat(endpoint: Any, messages: Any, **kw: Any) -> ChatResult:
        seen.append(hf_backend.render_prompt(tokenizer, messages) + kw["prefill"])
        return ChatResult(text=kw["prefill"] + rest, latency_s=0.0)

    monkeypatch.setattr(hf_backend, "chat_transformers", fake_chat)
    agent = SocialR1Agent(Endpoint(model="policy", backend="transformers", spec="hf:policy"))
    episode = asyncio.run(run_episode(setup, [agent, ScriptedAgent(list(lines))], env_kwargs={"max_turns": 5}))
    assert episode.status.value != "failed", episode.error
    assert len(seen) == len(trained_contexts) >= 2
    assert seen == trained_contexts
    # each context extends the previous one (servers can reuse the prefix)
    assert all(b.startswith(a[: -len(THINK_PREFILL)]) for a, b in itertools.pairwise(seen))


@pytest.mark.slow
def test_unscorable_rows_take_no_part_in_trls_advantages(tmp_path: Path, tokenizer: Any) -> None:
    """TRL 1.16's own advantage code: an unscorable row gets advantage 0, no loss tokens, and no place in the baseline."""
    import torch
    from trl import GRPOConfig, GRPOTrainer

    from agents.local_model import local_policy_dir
    from eval.tom_generator import generate_items
    from training.rewards import trl_reward_funcs

    tasks = TaskRegistry()
    key = tasks.add_mcq(generate_items(1, seed=2))[0]
    item = tasks[key].item  # type: ignore[union-attr]
    gold = item.answer_letter
    other = "A" if gold != "A" else "B"
    texts = [f"<Answer>{gold}</Answer>", f"<Answer>{other}</Answer>", f"<Answer>{other}</Answer>", f"<Answer>{gold}</Answer>"]
    scorable = [True, True, True, False]

    def canned_rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
        return {
            "prompt_ids": [tokenizer("Q?", add_special_tokens=False)["input_ids"]] * 4,
            "completion_ids": ids,
            "logprobs": [[0.0] * len(i) for i in ids],
            "env_mask": [[1] * len(i) if ok else [0] * len(i) for i, ok in zip(ids, scorable, strict=True)],
            "policy_texts": [[t] for t in texts],
            "goal_score": [None] * 4,
            "scorable": scorable,
        }

    args = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
        beta=0.0, loss_type="dapo", use_cpu=True, report_to="none", max_steps=1, logging_steps=1,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=str(local_policy_dir()),
        reward_funcs=trl_reward_funcs(["accuracy"]),
        args=args,
        train_dataset=tasks.dataset([key] * 4),
        processing_class=tokenizer,
        rollout_func=canned_rollout,
    )
    inputs = trainer._generate_and_score_completions([dict(tasks.row(key)) for _ in range(4)])
    adv = inputs["advantages"].tolist()
    # baseline over the three scorable rows: rewards (1, -1, -1), mean -1/3, std sqrt(4/3)
    rewards = torch.tensor([1.0, -1.0, -1.0])
    expected = ((rewards - rewards.mean()) / (rewards.std() + 1e-4)).tolist()
    assert adv[3] == 0.0
    assert adv[:3] == pytest.approx(expected, rel=1e-4)
    assert int(inputs["tool_mask"][3].sum()) == 0 and int(inputs["tool_mask"][0].sum()) > 0


@pytest.mark.slow
def test_token_cap_ends_episodes_and_one_episodes_error_stays_on_its_row(tokenizer: Any) -> None:
    from agents.scripted import ScriptedAgent
    from training.rollout import TrajectoryRollout

    tasks = TaskRegistry()
    key = tasks.add_social(_setups(1), roles=(0,))[0]
    policy = _CannedPolicy(tokenizer)
    # a cap that leaves room for exactly one policy turn
    probe = TrajectoryRollout(tasks, tokenizer, lambda t: ScriptedAgent(["Sure, go on."] * 5), max_turns=6)
    one_turn = probe.run([key], policy)
    cap = len(one_turn["prompt_ids"][0]) + 40 + 24
    capped = TrajectoryRollout(
        tasks, tokenizer, lambda t: ScriptedAgent(["Sure, go on."] * 5), max_turns=6, max_episode_tokens=cap, turn_tokens=24
    )
    stored: list[Any] = []
    capped.on_episode = stored.append
    out = capped.run([key], _CannedPolicy(tokenizer))
    assert len(out["policy_texts"][0]) < len(one_turn["policy_texts"][0])
    assert stored[0].termination_reason == "token_cap" and stored[0].status.value == "finished"
    assert out["scorable"] == [True]

    def explode(episode: Any) -> None:
        if not getattr(explode, "done", False):
            explode.done = True  # type: ignore[attr-defined]
            raise RuntimeError("store unavailable")

    flaky = TrajectoryRollout(tasks, tokenizer, lambda t: ScriptedAgent(["Sure."] * 5), max_turns=4, on_episode=explode)
    out = flaky.run([key, key], _CannedPolicy(tokenizer))
    assert out["scorable"] == [False, True]
    assert "store unavailable" in out["rollout_error"][0] and set(out["env_mask"][0]) == {0}


def test_every_preset_fits_its_launcher_and_every_launcher_has_a_preset() -> None:
    from training.config import CONFIG_DIR, LAUNCHERS, PRESETS, accelerate_processes, check_world

    shipped = sorted(p.name for p in CONFIG_DIR.glob("zero*.yaml"))
    assert shipped == sorted(LAUNCHERS), "every shipped accelerate config must name the preset it launches"
    for launcher, preset in LAUNCHERS.items():
        check_world(build_config(preset, None, {}), accelerate_processes(CONFIG_DIR / launcher))
    for preset in PRESETS:
        config = build_config(preset, None, {})
        if config.launcher:
            assert LAUNCHERS[config.launcher] == preset
            check_world(config, accelerate_processes(CONFIG_DIR / config.launcher))
    with pytest.raises(ValueError, match="cannot be split over 7 processes"):
        check_world(build_config("a100x8", None, {}), 7)


@pytest.mark.slow
def test_dry_run_checks_a_gpu_preset_offline_with_a_history_rewriting_template(
    tmp_path: Path, tokenizer: Any, monkeypatch: Any, capsys: Any
) -> None:
    from test_chat_format import rewriting

    from training.grpo import main

    folder = tmp_path / "qwen-like-tokenizer"
    rewriting(tokenizer).save_pretrained(folder)  # a tokenizer only: no weights, nothing downloadable
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["--preset", "a100x8", "--model", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "6 (training/configs/zero3.yaml)" in out and "30 (5 per process)" in out
    monkeypatch.setenv("WORLD_SIZE", "7")
    assert main(["--preset", "a100x8", "--model", str(folder), "--dry-run"]) == 2
    assert "cannot be split over 7 processes" in capsys.readouterr().err
    monkeypatch.delenv("WORLD_SIZE")
    code = main(["--preset", "a100x8", "--model", str(folder), "--dry-run", "--max-episode-tokens", "20000"])
    assert code == 2 and "exceeds vllm_max_model_length" in capsys.readouterr().err
    assert main(["--preset", "a100x8", "--model", str(tmp_path / "nothing-here"), "--dry-run"]) == 2
    assert "local folder" in capsys.readouterr().err


@pytest.mark.slow
def test_every_rank_sends_equal_width_rounds_until_all_are_done(tokenizer: Any) -> None:
    """vLLM server mode slices gathered results by rank position: each round is padded to the widest rank."""
    from agents.scripted import ScriptedAgent
    from training.rollout import TrajectoryRollout

    class OtherRanks:
        """This rank plus others that still have 3, 3, 3, 1 prompts in rounds 1-4."""

        def __init__(self) -> None:
            self.others = [3, 3, 3, 1]
            self.seen: list[int] = []

        def most(self, count: int) -> int:
            self.seen.append(count)
            return max(count, self.others.pop(0) if self.others else 0)

    tasks = TaskRegistry()
    key = tasks.add_social(_setups(1), roles=(0,))[0]
    rollout = TrajectoryRollout(tasks, tokenizer, lambda t: ScriptedAgent(["Sure."] * 5), max_turns=4)
    policy = _CannedPolicy(tokenizer)
    sync = OtherRanks()
    out = rollout.run([key], policy, sync=sync)
    assert policy.calls == [3, 3, 3, 1]  # this rank's 1, 1, 0, 0 prompts padded to the others' widths
    assert sync.seen == [1, 1, 0, 0, 0]
    assert len(out["policy_texts"][0]) == 2 and out["scorable"] == [True]


def test_resume_skips_cut_short_checkpoints_and_rewinds_metrics(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from training.callbacks import (
        COMPLETE_MARKER,
        MarkCompleteCheckpoints,
        MetricsJSONL,
        latest_complete_checkpoint,
    )

    for step in (2, 4):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
    MarkCompleteCheckpoints().on_save(
        SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=2, is_world_process_zero=True), None
    )
    assert (tmp_path / "checkpoint-2" / COMPLETE_MARKER).exists()
    (tmp_path / "checkpoint-6").mkdir()  # killed while writing: no state, no marker
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-2"  # 4 has state but was never marked

    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": s, "loss": 0.1}) + "\n" for s in (1, 2, 3)) + '{"step": 4, "lo')
    MetricsJSONL(metrics).on_train_begin(None, SimpleNamespace(global_step=2, is_world_process_zero=True), None)
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [1, 2]



@pytest.mark.slow
def test_a_run_killed_after_step_two_resumes_to_the_same_weights(tmp_path: Path, monkeypatch: Any) -> None:
    """Same data order, same sampling (RNG state in the checkpoint), same step-3 weights as a run never stopped."""
    from safetensors.torch import load_file

    from training import callbacks
    from training.grpo import main

    def args(out: Path) -> list[str]:
        return [
            "--env", "none", "--mcq", "generated", "--mcq-items", "12", "--max-steps", "3",
            "--num-generations", "2", "--prompts-per-step", "1", "--turn-tokens", "12", "--beta", "0",
            "--save-steps", "1", "--output-dir", str(out), "--report-to", "none", "--no-warmup", "--lr", "1e-4",
            "--no-lora",
        ]  # fmt: skip

    straight, crashed = tmp_path / "straight", tmp_path / "crashed"
    assert main(args(straight)) == 0
    original = callbacks.MarkCompleteCheckpoints.on_save

    def crash_after_step_two(self: Any, args: Any, state: Any, control: Any, **kw: Any) -> None:
        original(self, args, state, control, **kw)
        if state.global_step == 2:
            raise KeyboardInterrupt("simulated crash after checkpoint-2")

    monkeypatch.setattr(callbacks.MarkCompleteCheckpoints, "on_save", crash_after_step_two)
    with pytest.raises(KeyboardInterrupt):
        main(args(crashed))
    monkeypatch.setattr(callbacks.MarkCompleteCheckpoints, "on_save", original)
    (crashed / "checkpoint-3").mkdir()  # a save the crash cut short: no marker, must be skipped
    assert main(["--resume", str(crashed)]) == 0
    a = load_file(str(straight / "checkpoint-3" / "model.safetensors"))
    b = load_file(str(crashed / "checkpoint-3" / "model.safetensors"))
    start = load_file(str(crashed / "checkpoint-1" / "model.safetensors"))
    moved = max(float((a[k] - start[k]).abs().max()) for k in a)
    differ = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert moved > 0 and differ <= 0.01 * moved, (moved, differ)
    lines = [json.loads(line) for line in (crashed / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]


def test_a_scenario_limit_keeps_every_kind_of_the_verifiable_set() -> None:
    from envs.registry import resolve_scenarios
    from training.grpo import spread_subset

    _, ids = resolve_scenarios("sotopia-verifiable")
    chosen = spread_subset(sorted(ids), 12)
    assert len(chosen) == len(set(chosen)) == 12
    kinds = {i.split("_")[2] for i in ids}
    assert {i.split("_")[2] for i in chosen} == kinds and len(kinds) >= 5
    assert spread_subset(["a", "b"], 5) == ["a", "b"]
