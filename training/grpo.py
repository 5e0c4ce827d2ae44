"""``python -m training.grpo``: trajectory-level GRPO (TRL) on social episodes and ToM questions.

The policy plays whole SOTOPIA-style episodes with SIP-structured turns against a partner model
(any litellm model; ``local`` by default), a judge scores the policy's goal, and MCQ items from
our ToM generator or a benchmark are one-turn episodes in the same batches. See
``training/rollout.py`` for how an episode becomes one GRPO sample.

Examples::

    python -m training.grpo --env sotopia                      # CPU preset on the embedded model
    python -m training.grpo --env sotopia --mcq generated --resume runs/grpo
    accelerate launch --config_file training/configs/zero2.yaml -m training.grpo --env sotopia
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from training.config import (
    PRESETS,
    TrainConfig,
    build_config,
    check_world,
    default_preset,
    has_cuda,
    micro_batches,
)
from training.flags import NONE_WORD, add_model_flags, given_fields


class TrainingSetupError(RuntimeError):
    """Something the run needs is missing or unreachable; the message says what to do."""


FLAG_ALIASES: dict[str, list[str]] = {"learning_rate": ["--lr"], "lora_learning_rate": ["--lora-lr"]}
"""Short flags kept beside the ones made from the field names."""

RESUME_FIELDS = ("max_steps", "save_steps", "report_to")
"""Fields a flag may change on ``--resume`` (everything else comes from the run's saved config.json)."""


def _prefill_flag(text: str) -> str:
    """``--think-prefill``: ``none`` for no prefill; a typed ``\\n`` is a newline."""
    return "" if text.strip().lower() == NONE_WORD else text.replace("\\n", "\n")


def _micro_batch_flag(text: str) -> int | None:
    """``--micro-batch-size``: 0 (or none) for the whole step in one pass."""
    try:
        value = int(text)
    except ValueError:
        if text.strip().lower() == NONE_WORD:
            return None
        raise argparse.ArgumentTypeError(
            f"expected an integer (0: the whole step at once), got {text!r}"
        ) from None
    return value or None


def build_parser() -> argparse.ArgumentParser:
    """The command's parser: run options, then one flag per :class:`TrainConfig` field."""
    p = argparse.ArgumentParser(
        prog="python -m training.grpo",
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [--preset NAME] [--config FILE] [--resume [DIR]] [--dry-run] [SETTING FLAGS]",
    )
    p.add_argument("--preset", choices=PRESETS, help="defaults: cpu without CUDA, a100x8 with it")
    p.add_argument(
        "--config", help="YAML file of TrainConfig fields (applied over the preset; flags win over both)"
    )
    p.add_argument(
        "--resume", nargs="?", const="", metavar="DIR", help="continue the run in DIR (or --output-dir)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check config, tokenizer, chat template, launch arithmetic and lengths offline; print the plan",
    )
    p.add_argument(
        "--accelerate-config", help="accelerate config the run will be launched with (its num_processes)"
    )
    settings = p.add_argument_group(
        "settings",
        "every TrainConfig field (the YAML keys of --config and the presets); none clears an optional one",
    )
    add_model_flags(
        settings,
        TrainConfig,
        aliases=FLAG_ALIASES,
        parsers={"think_prefill": _prefill_flag, "micro_batch_size": _micro_batch_flag},
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; only the settings given are on the namespace (see :func:`training.flags.given_fields`)."""
    return build_parser().parse_args(argv)


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, bool]:
    """The run's config and whether it resumes an earlier run."""
    flags = given_fields(args, TrainConfig)
    resume = args.resume is not None
    output_dir = flags.get("output_dir") or (args.resume or None)
    if resume and output_dir and (Path(output_dir) / "config.json").exists():
        saved = json.loads((Path(output_dir) / "config.json").read_text())
        saved.update({k: flags[k] for k in RESUME_FIELDS if flags.get(k) is not None})
        return TrainConfig(**saved), True
    preset = args.preset or default_preset()
    overrides = {k: v for k, v in flags.items() if v is not None}
    if "model" in flags and "warmup" not in flags:
        overrides["warmup"] = False  # a model given by hand is trained as it is (e.g. runs/sft/final)
    overrides["output_dir"] = output_dir
    config = build_config(preset, args.config, overrides, cleared=[k for k, v in flags.items() if v is None])
    if "judge" not in flags and _rule_checked(config.env) and "judge" not in _file_fields(args.config):
        config.judge = None  # the scenarios' rule checks score every episode; a judge only when asked for
    if config.output_dir is None:
        config.output_dir = str(Path("runs") / f"grpo-{time.strftime('%Y%m%d-%H%M%S')}")
    if config.lora and "learning_rate" in flags:
        warnings.warn(
            f"--lr {flags['learning_rate']} is the full fine-tuning rate; this run trains LoRA adapters at "
            f"lora_learning_rate={config.lora_learning_rate} (set it with --lora-lr, or pass --no-lora)",
            stacklevel=2,
        )
    return config, resume


def _rule_checked(env: str | None) -> bool:
    """Whether every scenario of the env id has rule-checked goals (training needs no judge)."""
    from envs.registry import RULE_CHECKED_ENVS

    return env in RULE_CHECKED_ENVS


def _file_fields(config_file: str | None) -> dict[str, Any]:
    from training.config import read_yaml

    return read_yaml(Path(config_file)) if config_file else {}


TRL_DERIVED = frozenset({"output_dir", "learning_rate", "gradient_accumulation_steps", "eval_steps"})
"""TrainConfig fields named like a GRPOConfig field that mean something else here: :func:`grpo_args` derives
TRL's value (the run folder given to it, the rate of what is trained, accumulation over micro-batches; our
``eval_steps`` drives the held-out callback, not TRL's evaluation loop)."""


def grpo_args(config: TrainConfig, output_dir: Path, *, world: int = 1) -> Any:
    """TRL's ``GRPOConfig`` for a run over ``world`` processes: every setting explicit, none left to TRL's defaults.

    Every TrainConfig field that GRPOConfig also has is passed as it is (found from both classes' fields,
    so a new shared setting reaches TRL without being listed); the rest are derived here.
    """
    import dataclasses

    from trl import GRPOConfig

    shared = {f.name for f in dataclasses.fields(GRPOConfig) if f.init} & set(TrainConfig.model_fields)
    per_device_batch, accumulation = micro_batches(config, world)
    return GRPOConfig(
        **{name: getattr(config, name) for name in sorted(shared - TRL_DERIVED)},
        output_dir=str(output_dir),
        per_device_train_batch_size=per_device_batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=config.lora_learning_rate if config.lora else config.learning_rate,
        max_completion_length=config.turn_tokens,
        data_seed=config.seed,
        save_strategy="steps",
        use_cpu=not has_cuda(),
        disable_tqdm=True,
    )


def resolve_policy(model: str) -> str:
    """A local path or hub id for transformers; ``local`` converts the embedded GGUF once."""
    if model == "local":
        from agents.local_model import local_policy_dir

        return str(local_policy_dir())
    return model


def policy_for_trainer(path: str) -> Any:
    """What ``GRPOTrainer`` gets as its model: a full checkpoint or hub id by name (TRL loads it in
    float32), an adapter checkpoint merged into its base (:mod:`agents.policy_checkpoint`).

    Local folders are made absolute first: adapters this run saves name their base by this path.
    """
    from agents.policy_checkpoint import is_adapter_checkpoint, load_policy_model

    local = Path(path).expanduser()
    if local.is_dir():
        path = str(local.resolve())
    return load_policy_model(path) if is_adapter_checkpoint(path) else path


def spread_subset(ids: list[str], n: int) -> list[str]:
    """``n`` of the sorted ``ids``, evenly spaced: ids sort by kind (``sg_ver_deal_...``), so every kind stays in."""
    if n >= len(ids):
        return ids
    return [ids[i * len(ids) // n] for i in range(n)]


def build_tasks(config: TrainConfig) -> tuple[Any, list[str], list[str]]:
    """The task registry with its social and MCQ keys."""
    from training.tasks import TaskRegistry

    tasks = TaskRegistry()
    social: list[str] = []
    if config.env:
        from envs.registry import resolve_scenarios
        from scenarios.graph import sample_setups

        library, scenario_ids = resolve_scenarios(config.env)
        scenario_ids = (
            spread_subset(sorted(scenario_ids), config.scenarios_limit)
            if config.scenarios_limit
            else scenario_ids
        )
        setups = sample_setups(
            library, scenario_id=scenario_ids, n=config.casts_per_scenario, seed=config.seed
        )
        social = tasks.add_social(setups, roles=config.policy_roles)
    from training.sft import check_seeds, tom_config

    check_seeds(config)
    mcq: list[str] = []
    for source in config.mcq:
        mcq += tasks.add_mcq(load_mcq_source(source, config.mcq_items, config.seed, tom_config(config)))
    return tasks, social, mcq


def term_kwargs(config: TrainConfig) -> dict[str, dict[str, Any]]:
    """Fixed arguments of the reward terms that come from the config (accuracy values, content judge)."""
    kwargs: dict[str, dict[str, Any]] = {
        "accuracy": {"correct": config.accuracy_correct, "wrong": config.accuracy_wrong}
    }
    if config.content_judge:
        from agents.client import resolve_endpoint

        endpoint = resolve_endpoint(config.content_judge, config.content_judge_api_base)
        if endpoint.backend != "litellm":
            raise TrainingSetupError(
                f"--content-judge {config.content_judge!r}: the content judge must be a served model "
                "(litellm string or local), not a checkpoint folder"
            )
        kwargs["content"] = {
            "judge_model": endpoint.model,
            "judge_kwargs": {"api_base": endpoint.api_base, "api_key": endpoint.api_key},
        }
    return kwargs


def load_mcq_source(source: str, n: int, seed: int, tom: Any = None) -> list[Any]:
    """``generated`` (our ToM generator, with ``tom`` settings) or ``NAME:PATH`` (a benchmark file/folder)."""
    if source == "generated":
        from eval.tom_generator import ToMConfig, generate_items

        tom = tom or ToMConfig()
        return generate_items(
            n, seed=seed, orders=tom.orders, deception=tom.deception, with_rules=tom.with_rules,
            n_agents=tom.n_agents, n_containers=tom.n_containers, n_steps=tom.n_steps,
        )  # fmt: skip
    name, _, path = source.partition(":")
    if not path:
        raise TrainingSetupError(
            f"--mcq {source!r}: use 'generated' or NAME:PATH, e.g. hi-tom:../shared/data/hi-tom"
        )
    if name.startswith("tombench"):
        warnings.warn(
            "ToMBench's licence asks that it be used for evaluation only, never for training; "
            "prefer --mcq generated or hi-tom for training",
            stacklevel=2,
        )
    from eval.benchmarks import load_benchmark

    return load_benchmark(name, path)[:n]


def preflight(spec: str | None, api_base: str | None, role: str) -> None:
    """Fail fast, with a clear message, when a partner or judge endpoint cannot answer."""
    if spec is None or spec.startswith(("scripted:", "human")):
        return
    from agents.client import LLMCallError, RetryPolicy, chat, resolve_endpoint

    model = spec.removeprefix("sip:")
    try:
        endpoint = resolve_endpoint(model, api_base)
        asyncio.run(
            chat(
                endpoint,
                [{"role": "user", "content": "Say OK."}],
                max_tokens=2,
                retry=RetryPolicy(max_attempts=2),
            )
        )
    except (LLMCallError, RuntimeError, ValueError) as exc:
        where = f" at {api_base}" if api_base else ""
        raise TrainingSetupError(
            f"the {role} model {spec!r}{where} is not reachable: {exc}\n"
            f"Start it, or pass another --{role} (and --{role}-api-base)."
        ) from None


def _embedded(spec: str | None, api_base: str | None) -> bool:
    """Whether ``spec`` is served by the embedded llama.cpp server this process starts."""
    return spec is not None and spec.removeprefix("sip:") == "local" and api_base is None


def train(config: TrainConfig, resume: bool) -> Path:
    """Run GRPO; return the path of the last checkpoint.

    torch, TRL and the rest of the training stack are imported after the warm-up: while the warm-up's
    child process trains, this process stays small (~0.5 GB less at the run's peak, bench/grpo_memory.py).
    """
    output_dir = Path(config.output_dir or "runs/grpo")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.json").write_text(config.model_dump_json(indent=2))

    tasks, social, mcq = build_tasks(config)
    endpoints = [(config.content_judge, config.content_judge_api_base, "content-judge")]
    if social:
        endpoints += [
            (config.partner, config.partner_api_base, "partner"),
            (config.judge, config.judge_api_base, "judge"),
        ]
    # remote endpoints are checked before the warm-up (fail fast); the embedded server is started
    # after it, so the warm-up's process and the server are never resident together
    for spec, api_base, role in endpoints:
        if not _embedded(spec, api_base):
            preflight(spec, api_base, role)
    if config.warmup:
        from training.sft import warmup_checkpoint_in_child

        policy_path = str(warmup_checkpoint_in_child(config))
    else:
        policy_path = resolve_policy(config.model)
    from agents.policy_checkpoint import load_policy_tokenizer
    from agents.specs import build_agent
    from eval.judge import SotopiaJudge
    from eval.store import EpisodeStore
    from training.callbacks import (
        CurriculumCallback,
        MarkCompleteCheckpoints,
        MetricsJSONL,
        RichProgress,
        RolloutTimings,
        SaveAtEnd,
        latest_complete_checkpoint,
    )
    from training.rewards import Curriculum
    from training.rollout import TrajectoryRollout
    from training.sft import tom_config
    from training.tasks import mixed_keys

    for spec, api_base, role in endpoints:
        if _embedded(spec, api_base):
            preflight(spec, api_base, role)
    tokenizer = load_policy_tokenizer(policy_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    world = int(os.environ.get("WORLD_SIZE", "1"))
    check_world(config, world)
    n_rows = max(64, 4 * config.max_steps * config.prompts_per_step * config.gradient_accumulation_steps)
    keys = mixed_keys(social, mcq, n_rows, config.mcq_fraction, config.seed)
    dataset = tasks.dataset(keys)

    store = EpisodeStore(output_dir)
    store.start_run(
        config=config.model_dump(mode="json"), models={"policy": config.model, "partner": config.partner}
    )

    def partner_for(task: Any) -> Any:
        return build_agent(
            config.partner, api_base=config.partner_api_base, max_tokens=config.partner_max_tokens, seed=None
        )

    judge = (
        SotopiaJudge(config.judge, api_base=config.judge_api_base, dimensions="goal")
        if config.judge
        else None
    )
    rollout = TrajectoryRollout(
        tasks,
        tokenizer,
        partner_for,
        evaluator=judge,
        max_turns=config.max_turns,
        on_episode=store.write,
        think_prefill=config.think_prefill,
        max_episode_tokens=config.max_episode_tokens,
        turn_tokens=config.turn_tokens,
    )
    terms = list(config.reward_terms)
    trainer = grpo_trainer(config, policy_path, dataset, tokenizer, rollout, output_dir, world=world)
    curriculum = CurriculumCallback(
        trainer, Curriculum(**({"schedule": config.curriculum} if config.curriculum else {})), terms
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the rich progress bar and metrics.jsonl replace raw log dicts
    callbacks = [curriculum]
    if config.heldout_items and config.eval_steps:
        from training.heldout import drop_overlaps, heldout_callback

        heldout = drop_overlaps(
            load_mcq_source("generated", config.heldout_items, config.heldout_seed, tom_config(config)),
            [task.item for task in (tasks[k] for k in mcq) if hasattr(task, "item")],
            "the generated held-out set",
        )
        callbacks.append(
            heldout_callback(trainer, heldout, every=config.eval_steps, think_prefill=config.think_prefill,
                             max_new_tokens=config.turn_tokens)
        )  # fmt: skip
    callbacks += [
        RolloutTimings(rollout),
        MetricsJSONL(output_dir / "metrics.jsonl", curriculum),
        RichProgress(terms),
        SaveAtEnd(),
        MarkCompleteCheckpoints(),
    ]
    for callback in callbacks:
        trainer.add_callback(callback)
    checkpoint = latest_complete_checkpoint(output_dir) if resume else None
    if resume and checkpoint is None:
        print(f"--resume: no checkpoint in {output_dir} yet; starting from step 0", file=sys.stderr)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    store.finish_run({"steps": trainer.state.global_step})
    last = latest_complete_checkpoint(output_dir)
    if last is None:
        raise TrainingSetupError(f"training ended without a checkpoint in {output_dir}")
    return last


def grpo_trainer(
    config: TrainConfig,
    policy_path: str,
    dataset: Any,
    tokenizer: Any,
    rollout: Any,
    output_dir: Path,
    *,
    world: int = 1,
) -> Any:
    """TRL's ``GRPOTrainer`` as the run builds it: the config's reward terms, LoRA, and the CPU memory settings."""
    from trl import GRPOTrainer

    from training.allocator import map_large_blocks
    from training.lm_head import score_labelled_positions_only
    from training.rewards import trl_reward_funcs
    from training.sft import lora_config

    score_labelled_positions_only()
    if config.cpu_mmap_threshold_mib and not has_cuda():
        map_large_blocks(config.cpu_mmap_threshold_mib << 20)
    return GRPOTrainer(
        model=policy_for_trainer(policy_path),
        reward_funcs=trl_reward_funcs(list(config.reward_terms), term_kwargs=term_kwargs(config)),
        args=grpo_args(config, output_dir, world=world),
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
        peft_config=lora_config(config),
    )


def _warmup_state(config: TrainConfig) -> str:
    """The dry run's warm-up line: off, cached (and where), or to be trained first."""
    if not config.warmup:
        return "no"
    from training.sft import is_checkpoint, warmup_folder

    final = warmup_folder(config) / "final"
    return (
        f"cached at {final}" if is_checkpoint(final) else f"trained first (minutes), then cached at {final}"
    )


def dry_run(config: TrainConfig, accelerate_config: str | None) -> dict[str, Any]:
    """Everything a launch depends on, checked offline (no weights, no GPU, no endpoint); the plan as a dict.

    Raises ValueError (or TrainingSetupError) naming the inconsistency.
    """
    from transformers import AutoConfig, AutoTokenizer

    from agents.chat_format import ChatTokens
    from agents.policy_checkpoint import CheckpointError, model_source
    from training.config import CONFIG_DIR, accelerate_processes

    if os.environ.get("WORLD_SIZE"):
        world, source = int(os.environ["WORLD_SIZE"]), "WORLD_SIZE"
    elif accelerate_config:
        world, source = accelerate_processes(Path(accelerate_config)), accelerate_config
    elif config.launcher:
        world, source = (
            accelerate_processes(CONFIG_DIR / config.launcher),
            f"training/configs/{config.launcher}",
        )
    else:
        world, source = 1, "one process"
    check_world(config, world)
    path = resolve_policy(config.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as exc:
        raise TrainingSetupError(
            f"cannot load the tokenizer of {config.model!r} from local files ({type(exc).__name__}); "
            "pass --model a local folder that holds at least its tokenizer"
        ) from None
    chat = ChatTokens(tokenizer)
    context: int | None = None
    try:
        architecture = model_source(path)  # an adapter checkpoint's architecture is its base's
    except CheckpointError as exc:
        raise TrainingSetupError(str(exc)) from None
    try:
        context = getattr(
            AutoConfig.from_pretrained(architecture, local_files_only=True), "max_position_embeddings", None
        )
    except Exception:
        context = None  # a tokenizer-only folder: the model's length is checked at launch
    tasks, social, mcq = build_tasks(config)
    first = _longest_first_prompt(tasks, social, chat) if social else 0
    mcq_first = max((len(chat.prompt(_mcq_messages(tasks[k]))) for k in mcq[:50]), default=0)
    policy_turns = (config.max_turns + 1) // 2
    # each later turn: the partner's act (its budget plus the transcript line) and the next opening
    worst = max(first + policy_turns * config.turn_tokens + (policy_turns - 1) * (config.partner_max_tokens + 48),
                mcq_first + config.turn_tokens)  # fmt: skip
    cap = config.max_episode_tokens or context
    for name, limit in (
        ("the policy's context", context),
        ("vllm_max_model_length", config.vllm_max_model_length),
    ):
        if limit is not None and config.max_episode_tokens is not None and config.max_episode_tokens > limit:
            raise ValueError(
                f"max_episode_tokens={config.max_episode_tokens} exceeds {name} ({limit}): lower it"
            )
    if cap is None and worst > 32768:
        raise ValueError(f"episodes may reach ~{worst} tokens and nothing caps them: set max_episode_tokens")
    if first + config.turn_tokens > (cap or worst):
        raise ValueError(f"the first prompt ({first} tokens) leaves no room for a turn under the cap ({cap})")
    rows = config.num_generations * config.prompts_per_step
    return {
        "model": config.model, "tokenizer": path, "chat template": "append-only rendering ok",
        "world size": f"{world} ({source})", "rows per step": f"{rows} ({rows // world} per process)",
        "social tasks": len(social), "MCQ tasks": len(mcq), "longest first prompt": first,
        "worst-case episode tokens": worst, "episode cap": cap, "policy context": context,
        "vllm": f"{config.vllm_mode} (max_model_length {config.vllm_max_model_length})" if config.use_vllm else "off",
        "importance sampling": config.vllm_importance_sampling_mode if config.use_vllm else "-",
        "trained weights": (
            f"LoRA adapters r={config.lora_r} ({config.lora_target_modules}), lr {config.lora_learning_rate}"
            if config.lora else f"every weight, lr {config.learning_rate}"
        ),
        "warm-up": _warmup_state(config),
    }  # fmt: skip


def _mcq_messages(task: Any) -> list[dict[str, str]]:
    from agents.sip import mcq_messages

    return mcq_messages(task.item, sip=True)


def _longest_first_prompt(tasks: Any, keys: list[str], chat: Any) -> int:
    """Tokens of the longest first policy prompt over (up to 50 of) the social tasks."""
    from agents.socialr1 import SocialR1Agent
    from envs.social import SocialEpisodeEnv

    longest = 0
    for key in keys[:50]:
        task = tasks[key]
        env = SocialEpisodeEnv(task.setup)
        _, infos = env.reset(options={"setup": task.setup})
        name = task.setup.agent_names[task.policy_role]
        agent = SocialR1Agent("dry-run")
        agent.reset(task.setup, name)
        longest = max(longest, len(chat.prompt(agent.messages(infos[name]["observation"]))))
    return longest


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    args = parse_args(argv)
    if args.dry_run:
        try:
            config, _ = config_from_args(args)
            plan = dry_run(config, args.accelerate_config)
        except (TrainingSetupError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        from rich.console import Console
        from rich.table import Table

        table = Table(title="training plan (dry run: nothing loaded, nothing contacted)", show_header=False)
        for key, value in plan.items():
            table.add_row(key, str(value))
        Console().print(table)
        return 0
    try:
        config, resume = config_from_args(args)
        started = time.perf_counter()
        checkpoint = train(config, resume)
    except (TrainingSetupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    minutes = (time.perf_counter() - started) / 60
    print(f"\nTrained {config.model} for {config.max_steps} steps in {minutes:.1f} min.")
    print(f"Checkpoint: {checkpoint}")
    print(f"Metrics:    {Path(config.output_dir or '') / 'metrics.jsonl'}")
    print(f"Episodes:   python -m eval.report {config.output_dir} -o report.html")
    print(
        f"Evaluate:   python -m eval.interactive --model sip:{checkpoint} --partner local --judge local --limit 2"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
