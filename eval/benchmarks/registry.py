"""The benchmarks by name: loader, default data location and official scoring protocol.

Each :class:`Benchmark` is the protocol record in code (how often an item is asked, in which
option order, how runs combine, what counts as correct, where its files go); ``docs/benchmarks.md``
states the same in prose, with the published figures to compare against.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eval.benchmarks.emobench import load_emobench_ea, load_emobench_eu
from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.generated import load_generated
from eval.benchmarks.generic import load_jsonl
from eval.benchmarks.hitom import load_hitom
from eval.benchmarks.motivebench import ORDERS as MOTIVEBENCH_ORDERS
from eval.benchmarks.motivebench import load_motivebench
from eval.benchmarks.simpletom import load_simpletom
from eval.benchmarks.socialiqa import load_socialiqa
from eval.benchmarks.tactfultom import load_tactfultom
from eval.benchmarks.tombench import load_tombench
from eval.benchmarks.tombench_hard import load_tombench_hard
from eval.benchmarks.tomrl import load_tomrl
from eval.items import MCQItem

DATA_ENV = "SOCIALGYM_SHARED_DATA"
"""Environment variable naming the shared data folder (default: ``<repo>/../shared/data``)."""


@dataclass(frozen=True)
class Benchmark:
    """How to load one benchmark and how it is officially scored."""

    name: str
    load: Callable[..., list[MCQItem]]
    summary: str
    default_path: str | None = None
    """Relative to :func:`data_root`; None: ``--data`` must be given (or no file is needed)."""
    needs_path: bool = True
    runs: int = 1
    """Official number of times each item is asked (votes are taken over them)."""
    shuffle: bool = False
    """Whether options are shuffled (per item and run, seeded) before asking."""
    orders: tuple[tuple[int, ...], ...] = ()
    """Fixed option orders, one per run (MotiveBench); they replace ``shuffle``."""
    aggregate: Literal["vote", "mean"] = "vote"
    """How runs combine: majority vote, or the mean of per-run accuracies."""
    correct: str = "the chosen option is the gold option"
    """What counts as a correct answer, in one line."""
    home: str | None = None
    """Folder under a data root where the published files go (``eval.suite``); default: ``default_path``."""
    source: str = ""
    """Where the published files come from."""


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("tombench", load_tombench, "ToMBench, 2,860 4-way items (shuffled x5, majority vote)",
                  "tombench", runs=5, shuffle=True,
                  correct="the majority of the 5 runs' choices is the gold option (an unreadable plurality is wrong)",
                  source="github.com/zhchen18/ToMBench data/*.jsonl"),
        Benchmark("tombench-hard", load_tombench_hard, "ToMBench-Hard CSV (ToMBench scoring)",
                  runs=5, shuffle=True, home="tombench-hard",
                  correct="the majority of the 5 runs' choices is the gold option",
                  source="huggingface.co/datasets/Jincenzi/ToMBench_Hard (one CSV)"),
        Benchmark("hi-tom", load_hitom, "Hi-ToM, 600 15-way higher-order ToM items", "hi-tom/Hi-ToM_data.json",
                  home="hi-tom", source="github.com/ying-hui-he/Hi-ToM_dataset Hi-ToM_data.json"),
        Benchmark("emobench-ea", load_emobench_ea, "EmoBench emotional application, 200 English items",
                  "emobench/EA.jsonl", home="emobench", source="github.com/Sahandfer/EmoBench data/EA.jsonl"),
        Benchmark("emobench-eu", load_emobench_eu,
                  "EmoBench emotional understanding, 200 English emotion+cause pairs", "emobench/EU.jsonl",
                  correct="both the emotion and the cause are the gold options", home="emobench",
                  source="github.com/Sahandfer/EmoBench data/EU.jsonl"),
        Benchmark("socialiqa", load_socialiqa, "Social IQa (published JSONL + labels, or HF layout)",
                  home="socialiqa", source="Social IQa dev.jsonl + dev-labels.lst, or HF allenai/social_i_qa"),
        Benchmark("simpletom", load_simpletom, "SimpleToM (HF layout)", home="simpletom",
                  source="HF allenai/SimpleToM (parquet/JSONL per config)"),
        Benchmark("motivebench", load_motivebench,
                  "MotiveBench, 6-way motivation/behaviour questions (6 fixed orders, mean accuracy)",
                  "motivebench", runs=len(MOTIVEBENCH_ORDERS), orders=MOTIVEBENCH_ORDERS, aggregate="mean",
                  correct="per order the chosen option is the gold one; accuracy averaged over the 6 orders",
                  source="github.com/chicosirius/MotiveBench {Persona,Amazon,Blog}/*_questions.json"),
        Benchmark("tactfultom", load_tactfultom,
                  "TactfulToM white-lie conversations: multiple-choice and yes/no questions", "tactfultom",
                  shuffle=True,
                  correct="the chosen option (or Yes/No) is the gold one; list questions are not loaded",
                  source="github.com/nii-cl/tactful-tom dataset/final_set/Tactful_conv_set_*.json"),
        Benchmark("tom-rl", load_tomrl, "ToM-RL JSONL/CSV (free text, or inline options)", "tom-rl",
                  correct="free text: the normalised answer equals the gold or ends with it",
                  source="github.com/bigai-ai/ToM-RL"),
        Benchmark("jsonl", load_jsonl, "generic JSONL (see eval/benchmarks/generic.py)"),
        Benchmark("generated", load_generated, "procedurally generated ToM stories (--n, --seed)",
                  needs_path=False),
    )
}


def data_root() -> Path:
    """The shared data folder: ``$SOCIALGYM_SHARED_DATA`` or ``<repo>/../shared/data``."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared" / "data"


def location(benchmark: Benchmark, root: Path) -> Path:
    """Where ``benchmark``'s files go under the data folder ``root``."""
    relative = benchmark.default_path or benchmark.home
    if relative is None:
        raise BenchmarkError(f"{benchmark.name}: has no place under a data folder")
    return root / relative


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; an unknown name lists the known ones."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise BenchmarkError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}") from None


def load_benchmark(name: str, path: str | Path | None = None, **options: Any) -> list[MCQItem]:
    """Load benchmark ``name`` from ``path`` (default: its file under :func:`data_root`).

    ``options`` go to the loader (``language``, ``prompting_type``, ``split``, ``n``, ``seed``, ...);
    options a loader does not take are an error. Item ids are checked to be unique.
    """
    benchmark = get_benchmark(name)
    accepted = set(inspect.signature(benchmark.load).parameters) - {"path"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BenchmarkError(f"{name}: unknown option(s) {unknown}; it takes {sorted(accepted) or 'none'}")
    if not benchmark.needs_path:
        if path is not None:
            raise BenchmarkError(f"{name}: takes no data path (got {path})")
        items = benchmark.load(**options)
    else:
        if path is None:
            if benchmark.default_path is None:
                raise BenchmarkError(f"{name}: no default data location; give the data path (--data PATH)")
            path = data_root() / benchmark.default_path
        items = benchmark.load(Path(path), **options)
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise BenchmarkError(f"{name}: item id {item.id!r} occurs twice in {path}")
        seen.add(item.id)
    return items
