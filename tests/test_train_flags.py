"""The training commands' flags come from TrainConfig's fields; TRL's GRPOConfig gets every shared field.

Each field is set from the command line to a value the cpu preset does not hold, through the path a user
takes (``parse_args`` -> ``config_from_args``); bad files and flags end in one line naming where, what
and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest

from training.config import TrainConfig, build_config
from training.flags import flag_of, union_members


def _other_value(name: str, current: Any) -> Any:
    """A valid value of the field that differs from ``current`` (the cpu preset's)."""
    kinds, optional = union_members(TrainConfig.model_fields[name].annotation)
    kind = kinds[0]
    if current is None:
        return {int: 128, str: "other", float: 0.5}.get(
            kind, {"stages": [{"until": 1.0, "weights": {"format": 1.0}}]}
        )
    if isinstance(current, bool):
        return not current
    if get_origin(kind) is Literal:
        return next(choice for choice in get_args(kind) if choice != current)
    if isinstance(current, int):
        return current + 1
    if isinstance(current, float):
        return current / 2 if current else 0.25
    if isinstance(current, str) and str in kinds and any(get_origin(k) is list for k in kinds):
        return ["q_proj", "v_proj"]
    if isinstance(current, str):
        return current + "-other"
    if isinstance(current, tuple):
        return tuple(v + 1 for v in current)
    if isinstance(current, list):
        return [*current, current[-1] + 1 if current and isinstance(current[-1], int) else "other"]
    raise AssertionError(f"no test value for {name}: {current!r} ({optional=})")


def _tokens(name: str, value: Any) -> list[str]:
    """How a user types ``value`` for the field ``name``."""
    flag = flag_of(name)
    if isinstance(value, bool):
        return [flag if value else f"--no-{flag[2:]}"]
    if isinstance(value, list | tuple):
        return [flag, *map(str, value)]
    if isinstance(value, dict):
        return [flag, json.dumps(value)]
    if name == "think_prefill":
        return [flag, value.replace("\n", "\\n")]
    return [flag, str(value)]


@pytest.mark.filterwarnings("ignore:--lr .* is the full fine-tuning rate")
def test_every_config_field_is_settable_by_its_flag() -> None:
    from training.grpo import config_from_args, parse_args

    cpu = build_config("cpu", None, {})
    for name in TrainConfig.model_fields:
        value = _other_value(name, getattr(cpu, name))
        assert value != getattr(cpu, name), name
        config, _ = config_from_args(parse_args(["--preset", "cpu", *_tokens(name, value)]))
        assert getattr(config, name) == value, (name, value)


def test_short_flags_lists_and_none_keep_working() -> None:
    from training.grpo import config_from_args, parse_args

    config, _ = config_from_args(
        parse_args(
            ["--preset", "cpu", "--mcq", "generated", "hi-tom:x", "--mcq", "b:y", "--no-lora", "--lr", "2e-6"]
        )
    )
    assert (
        config.mcq == ["generated", "hi-tom:x", "b:y"]
        and config.lora is False
        and config.learning_rate == 2e-6
    )
    config, _ = config_from_args(
        parse_args(
            ["--preset", "cpu", "--micro-batch-size", "0", "--scenarios-limit", "none", "--lora-lr", "3e-4"]
        )
    )
    assert (
        config.micro_batch_size is None
        and config.scenarios_limit is None
        and config.lora_learning_rate == 3e-4
    )
    config, _ = config_from_args(parse_args(["--preset", "cpu", "--lora-target-modules", "all-linear"]))
    assert config.lora_target_modules == "all-linear"  # one word stays PEFT's string form
    config, _ = config_from_args(parse_args(["--preset", "cpu", "--model", "runs/sft/final"]))
    assert config.warmup is False  # a model given by hand is trained as it is


def test_resume_takes_the_saved_config_and_only_the_resumable_flags(tmp_path: Path) -> None:
    from training.grpo import config_from_args, parse_args

    saved = build_config("cpu", None, {"max_steps": 2, "temperature": 0.7, "output_dir": str(tmp_path)})
    (tmp_path / "config.json").write_text(saved.model_dump_json())
    config, resume = config_from_args(
        parse_args(["--resume", str(tmp_path), "--max-steps", "5", "--beta", "0.5"])
    )
    assert resume and config.max_steps == 5 and config.temperature == 0.7 and config.beta == saved.beta


def test_sft_command_keeps_its_short_flags_and_takes_every_other_field() -> None:
    from training.flags import given_fields
    from training.sft import parse_args

    args = parse_args(["--output-dir", "x", "--lr", "1e-3", "--seed", "4", "--lora", "--epochs", "0.5"])
    given = given_fields(args, TrainConfig)
    assert given == {
        "output_dir": "x",
        "sft_learning_rate": 1e-3,
        "sft_seed": 4,
        "sft_lora": True,
        "sft_epochs": 0.5,
    }
    args = parse_args(
        ["--output-dir", "x", "--sft-micro-batch-size", "4", "--tom-orders", "0", "1", "--no-sft-lora"]
    )
    assert given_fields(args, TrainConfig) == {
        "output_dir": "x",
        "sft_micro_batch_size": 4,
        "tom_orders": [0, 1],
        "sft_lora": False,
    }


def test_bad_config_file_and_flags_get_one_line_naming_source_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.grpo import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("max_stepz: 3\nnum_generations: many\n")
    assert main(["--preset", "cpu", "--config", str(bad), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert (
        f"{bad}: 'max_stepz' is not a training setting (did you mean max_steps?): rename or remove it" in err
    )
    assert f"{bad}: num_generations: Input should be a valid integer" in err and "fix the value" in err

    assert main(["--preset", "cpu", "--num-generations", "1", "--dry-run"]) == 2
    assert (
        "--num-generations: Input should be greater than or equal to 2 (got 1): fix the value"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_:
        main(["--max-steps", "three"])
    assert exit_.value.code == 2
    assert "argument --max-steps: expected an integer, got 'three'" in capsys.readouterr().err


def test_grpo_args_pass_every_shared_field_and_derive_the_rest(tmp_path: Path) -> None:
    import dataclasses

    from trl import GRPOConfig

    from training.config import micro_batches
    from training.grpo import TRL_DERIVED, grpo_args

    shared = {f.name for f in dataclasses.fields(GRPOConfig)} & set(TrainConfig.model_fields)
    assert shared >= TRL_DERIVED, "a derived field TRL no longer has: drop it from TRL_DERIVED"
    for overrides in ({}, {"lora": False, "temperature": 0.6, "beta": 0.1, "loss_type": "grpo", "seed": 3}):
        config = build_config("cpu", None, overrides)
        args = grpo_args(config, tmp_path, world=1)
        for name in shared - TRL_DERIVED:
            assert getattr(args, name) == getattr(config, name), name
        assert args.learning_rate == (config.lora_learning_rate if config.lora else config.learning_rate)
        assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == micro_batches(
            config, 1
        )
        assert args.max_completion_length == config.turn_tokens and args.data_seed == config.seed
        assert args.output_dir == str(tmp_path)


def test_checkpoint_lookup_ignores_other_folders_and_deletes_nothing(tmp_path: Path) -> None:
    from training.callbacks import COMPLETE_MARKER, latest_complete_checkpoint

    for name in ("checkpoint-3", "checkpoint-10", "checkpoint-12", "checkpoint-12.bak", "checkpoint-last"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
        (folder / COMPLETE_MARKER).write_text("{}")
    (tmp_path / "checkpoint-12" / COMPLETE_MARKER).unlink()  # cut short
    before = sorted(p.name for p in tmp_path.iterdir())
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-10"  # by step, not by name
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert latest_complete_checkpoint(tmp_path / "missing") is None
