"""Trainer callbacks: curriculum weights, metrics JSONL, a rich progress bar, the final checkpoint."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from training.rewards import Curriculum


class CurriculumCallback(TrainerCallback):
    """Sets TRL's per-term ``reward_weights`` from the curriculum before every step.

    Reward functions return raw term values (so the logs show each term as it is); the weights
    of the curriculum at ``global_step / max_steps`` are applied by TRL when it sums them.
    """

    def __init__(self, trainer: Any, curriculum: Curriculum, terms: list[str]) -> None:
        self.trainer = trainer
        self.curriculum = curriculum
        self.terms = terms

    def weights_at(self, step: int, max_steps: int) -> list[float]:
        """The weight of each term at a step."""
        progress = min(1.0, step / max(1, max_steps))
        weights = self.curriculum.weights(progress)
        return [float(weights.get(term, 0.0)) for term in self.terms]

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        import torch

        values = self.weights_at(state.global_step, state.max_steps)
        self.trainer.reward_weights = torch.tensor(values, dtype=torch.float32)


class MetricsJSONL(TrainerCallback):
    """Appends one JSON line per logged training step to ``DIR/metrics.jsonl`` (main process only)."""

    def __init__(self, path: Path, curriculum: CurriculumCallback | None = None) -> None:
        self.path = Path(path)
        self.curriculum = curriculum

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """On resume, drop lines of steps after the checkpoint (an interrupted run logged them; they rerun)."""
        if not state.is_world_process_zero or not self.path.exists():
            return
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                step = json.loads(line).get("step", 0)
            except ValueError:
                continue  # a line cut short by the interruption
            if isinstance(step, int) and step <= state.global_step:
                kept.append(line)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{line}\n" for line in kept))
        tmp.replace(self.path)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs or "train_runtime" in logs:
            return
        record: dict[str, Any] = {"step": state.global_step}
        for key, value in logs.items():
            record[key] = None if isinstance(value, float) and math.isnan(value) else value
        if self.curriculum is not None:
            weights = self.curriculum.weights_at(max(0, state.global_step - 1), state.max_steps)
            record["reward_weights"] = dict(zip(self.curriculum.terms, weights, strict=True))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class RichProgress(TrainerCallback):
    """A rich progress bar with the latest reward and each reward term."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms
        self._progress: Any = None
        self._task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from eval.progress import progress_bar

        self._progress = progress_bar("GRPO", fields="{task.fields[terms]}")
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, terms=""
        )

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if self._progress is None or not logs:
            return
        parts = []
        if "reward" in logs:
            parts.append(f"reward {logs['reward']:.3f}")
        for term in self.terms:
            value = logs.get(f"rewards/{term}/mean")
            if isinstance(value, float) and not math.isnan(value):
                parts.append(f"{term} {value:.2f}")
        self._progress.update(self._task, completed=state.global_step, terms=" ".join(parts))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)
            self._progress.stop()
            self._progress = None


COMPLETE_MARKER = "checkpoint-complete"
"""Written into ``checkpoint-STEP/`` after everything else: a checkpoint without it was cut short."""


class MarkCompleteCheckpoints(TrainerCallback):
    """Marks each checkpoint complete once the trainer has written all of it (weights, optimizer, state).

    A run killed while saving leaves a folder without the marker; ``--resume`` skips it.
    """

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                (folder / COMPLETE_MARKER).write_text(json.dumps({"step": state.global_step}))


def latest_complete_checkpoint(output_dir: Path) -> Path | None:
    """The newest ``checkpoint-STEP`` that :class:`MarkCompleteCheckpoints` marked and that holds its trainer state.

    transformers orders the checkpoints (``sort_checkpoints``, as its own rotation does); a folder cut
    short while saving is skipped with a warning and left where it is.
    """
    from transformers.trainer import TRAINER_STATE_NAME
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, sort_checkpoints

    if not Path(output_dir).is_dir():
        return None
    named = [
        Path(p)
        for p in sort_checkpoints(str(output_dir))
        if re.fullmatch(rf"{PREFIX_CHECKPOINT_DIR}-\d+", Path(p).name)
    ]
    complete = [p for p in named if (p / COMPLETE_MARKER).is_file() and (p / TRAINER_STATE_NAME).is_file()]
    skipped = [p.name for p in named if p not in complete]
    if skipped:
        print(f"warning: skipping incomplete checkpoints {skipped} in {output_dir}", file=sys.stderr)
    return complete[-1] if complete else None


class SaveAtEnd(TrainerCallback):
    """Makes sure the last step writes ``checkpoint-STEP`` (optimizer and RNG state included)."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step >= state.max_steps:
            control.should_save = True


class RolloutTimings(TrainerCallback):
    """Adds the rollout's time split (``rollout/generate_s``, ``rollout/env_s``) to each step's logs."""

    def __init__(self, rollout: Any) -> None:
        self.rollout = rollout

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if logs is not None and "loss" in logs:
            for key, value in getattr(self.rollout, "timings", {}).items():
                logs[f"rollout/{key}"] = round(value, 2)
