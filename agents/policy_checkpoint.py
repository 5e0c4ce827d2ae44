"""Loading a policy checkpoint: one loader for full transformers checkpoints and LoRA adapter checkpoints.

GRPO with ``lora: true`` saves adapter-only checkpoints: ``adapter_config.json``,
``adapter_model.safetensors`` (a few MB) and the tokenizer, no ``config.json``. The adapter config
names the model the adapters were trained on (``base_model_name_or_path``: the cached warm-up,
``runs/sft/final``, a hub id, or another adapter checkpoint). Evaluation (``sip:PATH``), training
from a checkpoint (``--model PATH``) and the learning curve all load through
:func:`load_policy_model`, which loads the base and merges the adapters into it, so every caller
gets a plain transformers model whichever kind of checkpoint it was given.

torch, transformers and peft are imported on use only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ADAPTER_CONFIG = "adapter_config.json"
MODEL_CONFIG = "config.json"
MAX_CHAIN = 16
"""Most adapter checkpoints stacked on one another (a guard against a loop of base paths)."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: the message names the folder, the field and the fix."""


def is_adapter_checkpoint(source: str | Path) -> bool:
    """Whether ``source`` is a folder of LoRA adapters (``adapter_config.json``, no ``config.json``)."""
    path = Path(source).expanduser()
    return (path / ADAPTER_CONFIG).is_file() and not (path / MODEL_CONFIG).is_file()


def is_policy_checkpoint(source: str | Path) -> bool:
    """Whether ``source`` is a folder holding a full checkpoint or an adapter checkpoint."""
    path = Path(source).expanduser()
    return (path / MODEL_CONFIG).is_file() or is_adapter_checkpoint(path)


def adapter_base(source: str | Path) -> str:
    """The model an adapter checkpoint was trained on: an absolute folder path or a hub id.

    A relative base path is resolved against the working directory (training writes absolute ones).
    Raises :class:`CheckpointError` when the config names no base, or names a folder that is gone.
    """
    config_file = Path(source).expanduser() / ADAPTER_CONFIG
    try:
        base = json.loads(config_file.read_text()).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{config_file}: not a readable adapter config ({exc})") from None
    if not isinstance(base, str) or not base.strip():
        raise CheckpointError(
            f"{config_file}: base_model_name_or_path is empty; set it to the folder or hub id "
            "the adapters were trained on"
        )
    path = Path(base).expanduser()
    if path.is_absolute() or base.startswith((".", "~")):
        if not path.is_dir():
            raise CheckpointError(
                f"{config_file}: base_model_name_or_path {base!r} is not there any more; restore that model "
                "(a cleared warm-up cache: rerun the main job, `python -m training.grpo --env sotopia "
                "--dry-run` says where it caches) or point the field at a copy of it"
            )
        return str(path.resolve())
    return str(path.resolve()) if path.is_dir() else base


def base_chain(source: str | Path) -> list[str]:
    """``source`` and the bases under it, adapters first, ending at a full checkpoint or hub id."""
    chain = [str(source)]
    while is_adapter_checkpoint(chain[-1]):
        if len(chain) > MAX_CHAIN:
            raise CheckpointError(
                f"{source}: more than {MAX_CHAIN} adapter checkpoints stacked on one another "
                f"(base_model_name_or_path loops?): {' -> '.join(chain[:4])} ..."
            )
        chain.append(adapter_base(chain[-1]))
    return chain


def model_source(source: str | Path) -> str:
    """Where the architecture (``config.json``) of ``source`` lives: itself, or its adapters' full base."""
    return base_chain(source)[-1]


def load_policy_model(source: str | Path, *, dtype: Any = None) -> Any:
    """A transformers causal LM from a full checkpoint, a hub id, or an adapter checkpoint (merged into its base).

    ``dtype``: a ``torch.dtype`` or ``"auto"`` (default float32). The merged model's ``name_or_path``
    is the adapter checkpoint, so adapters trained on it next name it as their base.
    """
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.float32 if dtype is None else dtype
    chain = base_chain(source)
    try:
        model = AutoModelForCausalLM.from_pretrained(chain[-1], dtype=dtype)
    except OSError as exc:
        raise CheckpointError(f"{chain[-1]}: cannot load a model ({exc})") from None
    if len(chain) == 1:
        return model
    from peft import PeftModel

    for adapters in reversed(chain[:-1]):
        merged = PeftModel.from_pretrained(model, adapters, is_trainable=False).merge_and_unload()
        merged.name_or_path = adapters
        model = merged
    return model


def load_policy_tokenizer(source: str | Path) -> Any:
    """The tokenizer saved with ``source``, else (an adapter checkpoint without one) its base's."""
    from transformers import AutoTokenizer

    for candidate in base_chain(source):
        path = Path(candidate)
        if not path.is_dir() or (path / "tokenizer_config.json").is_file():
            return AutoTokenizer.from_pretrained(candidate)
    raise CheckpointError(f"{source}: no tokenizer in the checkpoint or its base")
