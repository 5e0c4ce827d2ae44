"""Training configuration: one validated model, filled from a preset, an optional YAML file and flags."""

from __future__ import annotations

from collections.abc import Collection
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.sip import THINK_PREFILL
from scenarios.datafiles import MiB, read_yaml_file
from training.flags import flag_of

CONFIG_DIR = Path(__file__).parent / "configs"
PRESETS = ("cpu", "a100x8")


class TrainConfig(BaseModel):
    """Everything ``python -m training.grpo`` needs. Field names double as YAML keys and flags."""

    model_config = ConfigDict(extra="forbid")

    env: str | None = Field(
        "sotopia",
        description="Env id for social episodes: sotopia, sotopia-hard, sotopia-verifiable (rule-checked goals: no "
        "judge unless one is set), sotopia-group, sotopia:PATH; none for MCQ rows only.",
    )
    mcq: list[str] = Field(
        default_factory=list,
        description="MCQ sources: generated, NAME:PATH (e.g. hi-tom:../shared/data/hi-tom); one or more.",
    )
    model: str = Field(
        "local", description="Policy: 'local' (embedded SmolLM2), a HF id or a local checkpoint path."
    )
    partner: str = Field(
        "local", description="Partner agent spec (litellm model string, local, scripted:...)."
    )
    partner_api_base: str | None = None
    judge: str | None = Field(
        "local",
        description="Judge model for the goal score (litellm string or local); none disables the goal term.",
    )
    judge_api_base: str | None = None
    output_dir: str | None = Field(None, description="Run folder (default runs/grpo-<time>).")
    seed: int = 0

    # data
    scenarios_limit: int | None = Field(
        None,
        description="Use only N of the env's scenarios, evenly spaced in id order (every kind keeps some).",
    )
    casts_per_scenario: int = 1
    policy_roles: list[int] = Field(default_factory=lambda: [0])
    mcq_items: int = Field(200, description="Items drawn from each MCQ source.")
    mcq_fraction: float = Field(0.5, ge=0, le=1, description="Share of MCQ rows when both kinds are present.")

    # episodes
    max_turns: int = Field(4, ge=1, description="Total turns (both agents) per training episode.")
    turn_tokens: int = Field(96, ge=8, description="Max new tokens per policy turn.")
    partner_max_tokens: int = 64
    think_prefill: str = Field(
        THINK_PREFILL,
        description="Text every policy turn starts with, written into the prompt (mask 0); '' (on the command "
        "line: none) for no prefill; \\n on the command line is a newline.",
    )

    # GRPO
    max_steps: int = 3
    num_generations: int = Field(2, ge=2)
    prompts_per_step: int = Field(2, ge=1, description="Distinct tasks per step (groups).")
    gradient_accumulation_steps: int = 1
    cpu_mmap_threshold_mib: int | None = Field(
        None,
        ge=1,
        description="Fix glibc's mmap threshold (MiB) in CPU training processes (training/allocator.py): "
        "1 gives ~0.3-0.7 GB less peak memory for a ~1.5x slower forward/backward; None keeps glibc's default.",
    )
    micro_batch_size: int | None = Field(
        None,
        ge=1,
        description="Most rows per forward/backward pass on each process (None: all of the step's rows at once). "
        "Smaller bounds activation memory; the optimizer still steps once per generation batch. "
        "On the command line 0 means None.",
    )
    learning_rate: float = Field(
        1e-5, gt=0, description="GRPO's learning rate when every weight is trained (lora: false)."
    )
    beta: float = 0.04
    temperature: float = 1.0
    loss_type: str = "dapo"
    save_steps: int = 50
    logging_steps: int = 1
    report_to: list[str] = Field(default_factory=lambda: ["tensorboard"])
    bf16: bool = False
    gradient_checkpointing: bool = Field(
        True, description="Recompute activations in backward (less memory; TRL's default)."
    )
    curriculum: dict[str, Any] | None = Field(
        None, description="Curriculum schedule (see training.rewards.Curriculum)."
    )
    reward_terms: list[str] = Field(
        default_factory=lambda: ["format", "structure", "content", "length", "accuracy", "goal", "rules"]
    )
    accuracy_correct: float = Field(1.0, description="Accuracy term for a right answer (ToM-RL uses 2).")
    accuracy_wrong: float = Field(
        -1.0, description="Accuracy term for a wrong or unreadable answer (ToM-RL uses -2)."
    )
    content_judge: str | None = Field(
        None,
        description="Model spec of an LLM judge for the content term (litellm string or local); None = lexical.",
    )
    content_judge_api_base: str | None = None

    # parameter-efficient training
    lora: bool = Field(
        False,
        description="GRPO trains LoRA adapters (PEFT) instead of every weight: no gradients or Adam state for the "
        "base weights; checkpoints hold the adapters only (agents/policy_checkpoint.py loads them).",
    )
    lora_learning_rate: float = Field(
        1e-4,
        gt=0,
        description="GRPO's learning rate when lora is on (learning_rate is for full fine-tuning): adapters "
        "start at zero and move a low-rank slice of each weight, so they need ~10x the full-model rate.",
    )
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_target_modules: list[str] | str = Field("all-linear", description="PEFT target_modules.")

    # SFT warm-up (training.sft) before GRPO
    warmup: bool = Field(
        False,
        description="Run the SIP SFT warm-up first (cached by its inputs) and train GRPO from it; on the command "
        "line, a --model given without --warmup trains that model as it is.",
    )
    sft_mcq_examples: int = Field(256, ge=0, description="Generated ToM items with written SIP traces.")
    sft_social_examples: int = Field(
        64, ge=0, description="First social turns with written SIP reasoning and an act."
    )
    sft_epochs: float = Field(1.0, gt=0)
    sft_batch_size: int = Field(8, ge=1, description="Examples per optimizer step.")
    sft_micro_batch_size: int = Field(
        2,
        ge=1,
        description="Examples per forward pass (memory: logits are tokens x 49k vocab); accumulates to sft_batch_size.",
    )
    sft_learning_rate: float = Field(5e-4, gt=0)
    sft_optim: Literal["adamw_torch", "adamw_torch_fused", "adafactor", "sgd"] = Field(
        "adamw_torch",
        description="The warm-up's optimizer (transformers' optim name). It trains every weight, so AdamW's two "
        "moments (~1 GB for 135M, fp32) are most of its peak; adafactor keeps factored second moments only.",
    )
    sft_cpu_mmap_threshold_mib: int | None = Field(
        None,
        ge=1,
        description="cpu_mmap_threshold_mib for a warm-up in its own process (the main job's child, python -m "
        "training.sft; None: cpu_mmap_threshold_mib). It trains "
        "every weight (AdamW state ~1 GB for 135M) once per cache key, so its peak is the cold main job's: 1 MiB "
        "took its first 3 steps from 4.26 to 3.50 GB peak RSS with the same losses, at ~1.5x the forward/backward "
        "time (bench/grpo_memory.py --warmup-only --sft-epochs 0.2). Not in the cache key: it changes no result.",
    )
    sft_lora: bool = Field(
        False,
        description="Train the warm-up as LoRA adapters (lora_r, lora_alpha, lora_target_modules), merged into "
        "its checkpoint. Independent of lora: GRPO's choice neither retrains nor changes a cached warm-up.",
    )
    sft_seed: int = Field(
        0, description="Generator seed of the warm-up's ToM items (keep it apart from held-out seeds)."
    )

    # generated ToM items for training and held-out evaluation
    tom_orders: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="Question orders of generated items."
    )
    tom_rules: bool = Field(True, description="Put the world's rules in front of each generated story.")
    tom_steps: tuple[int, int] = Field(
        (5, 12), description="Story length range (random events) of generated items."
    )
    heldout_seed: int = Field(
        1000,
        description="Seed of the held-out generated items; training sources overlapping them are refused.",
    )
    heldout_items: int = Field(
        0, ge=0, description="Held-out generated items evaluated every eval_steps (0: off)."
    )
    eval_steps: int = Field(
        0,
        ge=0,
        description="Evaluate on the held-out items every N steps (0: only with heldout_items at the end).",
    )

    launcher: str | None = Field(
        None,
        description="The accelerate config (in training/configs) this preset is launched with; None: one process.",
    )
    max_episode_tokens: int | None = Field(
        None,
        ge=64,
        description="Cap on one sample's tokens (prompt + every turn); an episode that would pass it ends "
        "(truncated) before the next policy turn. None: the policy's context length.",
    )

    # vLLM (GPU)
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_server_base_url: str | None = None
    vllm_gpu_memory_utilization: float = 0.3
    vllm_max_model_length: int | None = Field(
        None, description="vLLM's context length (must hold max_episode_tokens)."
    )
    vllm_importance_sampling_mode: Literal[
        "token_truncate", "token_mask", "sequence_truncate", "sequence_mask"
    ] = Field(
        "token_truncate",
        description="Importance-sampling correction of vLLM's sampling: per token by default (a per-sequence "
        "ratio over a whole episode is almost always out of bounds and zeroes long episodes).",
    )


def load_preset(name: str) -> dict[str, Any]:
    """The YAML mapping of a named preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return read_yaml(CONFIG_DIR / f"{name}.yaml")


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file, with errors that name the file.

    Read with the limits of :mod:`scenarios.datafiles` (at most 1 MiB, UTF-8, 64 levels of
    nesting, no alias bombs): a broken or hostile file is a ValueError naming it, never a crash.
    """
    try:
        data = read_yaml_file(Path(path), str(path), limit=MiB, what="config files")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such config file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file must be a mapping of field: value")
    return data


def build_config(
    preset: str, config_file: str | None, overrides: dict[str, Any], *, cleared: Collection[str] = ()
) -> TrainConfig:
    """Preset, then the YAML file, then flags (later wins); errors name where each bad value came from.

    ``overrides`` that are None are not given (the layers below keep their value); ``cleared`` fields
    are set to None (``--judge none``).
    """
    layers: list[tuple[str | None, dict[str, Any]]] = [
        (f"training/configs/{preset}.yaml", load_preset(preset))
    ]
    if config_file:
        layers.append((config_file, read_yaml(Path(config_file))))
    flags = {k: v for k, v in overrides.items() if v is not None} | dict.fromkeys(cleared)
    layers.append((None, flags))
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            values[key] = value
            origin[key] = source or flag_of(str(key))
    try:
        return TrainConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, origin) for error in exc.errors())
        raise ValueError(f"invalid training config: {problems}") from None


def _problem(error: Any, origin: dict[str, str]) -> str:
    """One validation error as ``SOURCE: field: what is wrong: the fix``."""
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else ""
    where = origin.get(field, "the training config")
    if error["type"] == "extra_forbidden":
        near = get_close_matches(field, list(TrainConfig.model_fields), n=1)
        hint = f"did you mean {near[0]}?" if near else "python -m training.grpo --help lists the settings"
        return f"{where}: {field!r} is not a training setting ({hint}): rename or remove it"
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    flag_names_it = where == flag_of(field) and len(loc) == 1
    label = "" if flag_names_it else f"{'.'.join(loc)}: "
    return f"{where}: {label}{error['msg']} (got {shown}): fix the value"


LAUNCHERS: dict[str, str] = {"zero2.yaml": "cpu", "zero3.yaml": "a100x8"}
"""Each shipped accelerate config and the preset it launches."""


def accelerate_processes(path: Path) -> int:
    """``num_processes`` of an accelerate config file."""
    data = read_yaml(path)
    value = data.get("num_processes", 1)
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{path}: num_processes must be a positive integer, got {value!r}")
    return value


def check_world(config: TrainConfig, world: int) -> None:
    """Refuse settings the launch cannot run: rows per step must split evenly over the processes."""
    rows = config.num_generations * config.prompts_per_step
    if rows % world:
        raise ValueError(
            f"num_generations x prompts_per_step = {config.num_generations} x {config.prompts_per_step} = {rows} "
            f"rows per step cannot be split over {world} processes: change prompts_per_step or the launcher's num_processes"
        )


def micro_batches(config: TrainConfig, world: int) -> tuple[int, int]:
    """``(per_device_train_batch_size, gradient_accumulation_steps)`` for TRL: one generation batch per optimizer step.

    The step's rows go through forward/backward at most ``micro_batch_size`` at a time (the largest
    divisor of each process's rows not above it); TRL's ``steps_per_generation`` follows the
    accumulation steps, so all of them come from one generation.
    """
    check_world(config, world)
    per_process = config.num_generations * config.prompts_per_step // world
    limit = min(config.micro_batch_size or per_process, per_process)
    micro = max(d for d in range(1, limit + 1) if per_process % d == 0)
    return micro, config.gradient_accumulation_steps * (per_process // micro)


def has_cuda() -> bool:
    """Whether torch sees a CUDA device (False without torch).

    A CPU-only torch wheel (version ``+cpu``) answers without importing torch (~0.2 GB): the main job's
    process stays small while its warm-up trains in a child process.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        if version("torch").endswith("+cpu"):
            return False
    except PackageNotFoundError:
        pass  # no metadata (a source tree on the path?): ask torch itself
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def default_preset() -> str:
    """``a100x8`` where CUDA is available, else ``cpu``."""
    return "a100x8" if has_cuda() else "cpu"
