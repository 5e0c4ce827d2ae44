"""The benchmarks by name: loader, default data location and official scoring protocol."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.benchmarks.emobench import load_emobench_ea, load_emobench_eu
from eval.benchmarks.errors import BenchmarkError
from eval.benchmarks.generated import load_generated
from eval.benchmarks.generic import load_jsonl
from eval.benchmarks.hitom import load_hitom
from eval.benchmarks.simpletom import load_simpletom
from eval.benchmarks.socialiqa import load_socialiqa
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


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("tombench", load_tombench, "ToMBench, 2,860 4-way items (shuffled x5, majority vote)",
                  "tombench", runs=5, shuffle=True),
        Benchmark("tombench-hard", load_tombench_hard, "ToMBench-Hard CSV (ToMBench scoring)",
                  runs=5, shuffle=True),
        Benchmark("hi-tom", load_hitom, "Hi-ToM, 600 15-way higher-order ToM items", "hi-tom/Hi-ToM_data.json"),
        Benchmark("emobench-ea", load_emobench_ea, "EmoBench emotional application, 200 English items",
                  "emobench/EA.jsonl"),
        Benchmark("emobench-eu", load_emobench_eu,
                  "EmoBench emotional understanding, 200 English emotion+cause pairs", "emobench/EU.jsonl"),
        Benchmark("socialiqa", load_socialiqa, "Social IQa (published JSONL + labels, or HF layout)"),
        Benchmark("simpletom", load_simpletom, "SimpleToM (HF layout)"),
        Benchmark("tom-rl", load_tomrl, "ToM-RL JSONL/CSV (free text, or inline options)", "tom-rl"),
        Benchmark("jsonl", load_jsonl, "generic JSONL (see eval/benchmarks/generic.py)"),
        Benchmark("generated", load_generated, "procedurally generated ToM stories (--n, --seed)",
                  needs_path=False),
    )
}


def data_root() -> Path:
    """The shared data folder: ``$SOCIALGYM_SHARED_DATA`` or ``<repo>/../shared/data``."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared" / "data"


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
