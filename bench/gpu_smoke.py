"""GPU smoke check of the real GRPO path: a Qwen3-0.6B-shaped policy, social episodes, a few steps.

    bash bench/gpu_smoke.sh --prepare     # here, with PyPI: tokenizer, configs and wheels -> bench/gpu_smoke/
    bash bench/gpu_smoke.sh               # on the GPU machine: install the wheels, train, print the table
    python bench/gpu_smoke.py run --tiny --steps 2     # the same path with a tiny model (CPU is fine)

``prepare`` converts the embedded SmolLM2 GGUF's tokenizer (``agents.local_model.local_policy_dir``),
writes two Qwen3 configs fitted to it (Qwen3-0.6B's shape and a tiny one of the same architecture)
and downloads the wheels the GPU machine lacks (TRL, datasets, pydantic, PettingZoo, ...; never
torch, transformers, accelerate or what they need) for CPython 3.11-3.13 on manylinux x86_64.
No weights travel: ``run`` initialises the model randomly on the device, saves it, and trains it
with ``training.grpo.train`` (TRL's ``GRPOTrainer`` with our ``rollout_func``) against a scripted
partner, in bf16 with transformers' ``generate``. It prints step time, tokens/s, peak memory and
the versions that ran, and writes them as JSON with ``--json``. Without CUDA it runs on the CPU
and says so.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ASSETS = Path(__file__).with_name("gpu_smoke")
"""The prepared folder (gitignored; the GPU call carries it): tokenizer/, qwen3-0.6b/, tiny/, wheels/."""

SHAPES: dict[str, dict[str, Any]] = {
    # Qwen3-0.6B (Qwen3ForCausalLM) except the vocabulary, which is our tokenizer's
    "qwen3-0.6b": {
        "hidden_size": 1024, "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
        "head_dim": 128, "intermediate_size": 3072, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True, "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0},
        "max_window_layers": 28,
    },
    # the same architecture, small enough for a CPU test; heads x head_dim != hidden, as in Qwen3-0.6B
    "tiny": {
        "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 32, "intermediate_size": 128, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True, "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0},
        "max_window_layers": 2,
    },
}  # fmt: skip

REQUIREMENTS = (
    "trl",
    "datasets",
    "pydantic",
    "pettingzoo",
    "gymnasium",
    "networkx",
    "pyyaml",
    "rich",
    "jinja2",
    "numpy",
    "tenacity",
)
"""What the smoke's import path needs beyond torch, transformers and accelerate (pinned at prepare
time to the versions installed here, the ones our tests run on). ``tests/test_gpu_smoke.py`` checks
that every module a run imports comes from these, their requirements or torch/transformers/accelerate."""

PROVIDED = ("torch", "transformers", "accelerate")
"""Installed on the GPU machine (in GPU_IMAGE, with what they require there); never shipped."""

GPU_IMAGE = frozenset(
    """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
    charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
    cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
    formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
    imageio iniconfig interface-meta jax jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning
    lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson
    ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba
    numba-cuda numpy numpyro nvidia-ml-py onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum
    opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
    prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
    pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
    pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy
    seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy
    tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
    torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
    typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp""".split()  # noqa: SIM905
)
"""Python packages of the lent GPU machines' image ('cuda'), as read on one on 2026-11-17 (Python 3.12.3,
torch 2.11.0, transformers 5.17.0, accelerate 1.15.0): what ``prepare`` leaves out of the wheels."""

SHIP_ANYWAY = frozenset({"fsspec"})
"""Pure-Python packages the image has but whose version ``datasets`` bounds from above: shipped so
that pip can move to an accepted one instead of failing (it keeps an installed version that fits)."""

PYTHONS = ("3.11", "3.12", "3.13")
"""CPython versions the wheels are downloaded for (our code needs 3.11+: StrEnum, TaskGroup)."""

WHEELS_LIMIT = 64 * 2**20
"""What one GPU call may carry, working tree included."""

PARTNER_LINES = (
    "I hear you, but I need something concrete before I agree.",
    "That could work. What would you give up in return?",
    "Fine, let us settle it that way.",
)
"""The scripted partner's acts (it leaves after the last)."""


class SmokeError(RuntimeError):
    """The smoke cannot run as asked; the message says what to do."""


# --------------------------------------------------------------------------------------------------
# prepare (here)


def prepare(assets: Path, *, wheels: bool = True, pythons: Iterable[str] = PYTHONS) -> dict[str, Any]:
    """Write the tokenizer, the two configs and (with ``wheels``) the wheel folder; return the manifest."""
    from transformers import AutoTokenizer, Qwen3Config

    from agents.local_model import local_policy_dir

    assets.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(local_policy_dir())
    tokenizer.save_pretrained(assets / "tokenizer")
    for name, shape in SHAPES.items():
        config = Qwen3Config(
            vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, dtype="bfloat16", architectures=["Qwen3ForCausalLM"], **shape,
        )  # fmt: skip
        config.save_pretrained(assets / name)
    path = assets / "manifest.json"
    # --no-wheels keeps the wheel list of an earlier prepare
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    manifest |= {"tokenizer": "SmolLM2-135M-Instruct (embedded GGUF)", "vocab": len(tokenizer)}
    if wheels:
        manifest |= download_wheels(assets / "wheels", pythons)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def requirement_closure(roots: Iterable[str], python: str) -> dict[str, str]:
    """Every distribution ``roots`` need on CPython ``python``/Linux x86_64, with the version installed here.

    Read from the installed packages' metadata (``Requires-Dist`` with markers and extras), so the
    wheels match what our tests ran with. A requirement not installed here is a SmokeError.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    env = {
        "python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
        "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
    }  # fmt: skip
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise SmokeError(
                f"{requirement} is needed on the smoke's path but not installed here: "
                "run `bash scripts/setup.sh` before preparing the wheels"
            ) from None
        found[key[0]] = dist.version
        for text in dist.requires or []:
            needed = Requirement(text)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({**env, "extra": e}) for e in extras):
                todo.append(needed)
    return found


def wheel_pins(python: str) -> dict[str, str]:
    """What must travel for one Python: the closure of REQUIREMENTS minus what the GPU image has.

    The image, not the closure of PROVIDED as installed here, decides: here typer requires pydantic,
    there pydantic is absent although typer is present.
    """
    return {
        name: version
        for name, version in sorted(requirement_closure(REQUIREMENTS, python).items())
        if name not in GPU_IMAGE or name in SHIP_ANYWAY
    }


def download_wheels(folder: Path, pythons: Iterable[str]) -> dict[str, Any]:
    """``pip download`` the pinned wheels for each Python (manylinux x86_64) into ``folder``; check the size."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    platforms = [f"manylinux_2_{n}_x86_64" for n in range(17, 40)] + [
        "manylinux2014_x86_64",
        "manylinux1_x86_64",
    ]
    pins: dict[str, str] = {}
    for python in pythons:
        wanted = wheel_pins(python)
        pins |= wanted
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", python, "--dest", str(folder),
            *(arg for p in platforms for arg in ("--platform", p)),
            *(f"{name}=={version}" for name, version in wanted.items()),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SmokeError(f"pip download for Python {python} failed:\n{result.stderr[-2000:]}")
    # every root, pinned where its wheel travels: pip then also confirms that the machine has the rest
    lines = [
        f"{name}=={pins[name]}" if name in pins else name for name in sorted(map(_canonical, REQUIREMENTS))
    ]
    (folder / "requirements.txt").write_text("\n".join(lines) + "\n")
    # every shipped wheel pinned: for `pip install --no-deps --target` where the environment is read-only
    (folder / "pins.txt").write_text(
        "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
    )
    size = sum(p.stat().st_size for p in folder.iterdir())
    if size > WHEELS_LIMIT:
        raise SmokeError(
            f"{folder} holds {size / 2**20:.1f} MiB of wheels, over the 64 MiB a GPU call may carry"
        )
    return {"wheels": sorted(p.name for p in folder.glob("*.whl")), "wheels_mib": round(size / 2**20, 1),
            "pythons": list(pythons), "requirements": lines}  # fmt: skip


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_wheels(assets: Path, image_wheels: list[Path] | None = None, steps: int = 1) -> None:
    """Prove the wheel folder suffices: a fresh venv that sees only the GPU image's packages (those
    installed here, linked in), the wheels installed with ``--no-index``, then a tiny run in it.

    ``image_wheels`` stand in for the image's own versions where they differ from ours (e.g.
    transformers 5.17.0): installed with ``--no-deps`` instead of linking ours. Checks this
    interpreter's Python only (the other versions' wheels are checked by ``pip download``).
    """
    wheels = assets / "wheels"
    if not (wheels / "requirements.txt").exists():
        raise SmokeError(
            f"{wheels}/requirements.txt is missing: run `bash bench/gpu_smoke.sh --prepare` first"
        )
    image_wheels = image_wheels or []
    replaced = {_canonical(w.name.split("-")[0]) for w in image_wheels}
    root = Path(tempfile.mkdtemp(prefix="socialgym-wheel-check-"))
    try:
        image = root / "image"
        image.mkdir()
        linked = []
        for name in sorted(GPU_IMAGE - replaced):
            try:
                dist = importlib.metadata.distribution(name)
            except importlib.metadata.PackageNotFoundError:
                continue
            linked.append(name)
            for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
                if not (image / top).exists():
                    (image / top).symlink_to(Path(str(dist.locate_file(top))))
        # no pip or setuptools of its own: the venv's would hide the image's (torch needs setuptools>=77)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
        python = root / "venv" / "bin" / "python"
        site = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (Path(site) / "gpu_image.pth").write_text(f"{image}\n")
        pip = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        if image_wheels:
            subprocess.run([*pip, "--no-deps", *map(str, image_wheels)], check=True)
        print(
            f"venv sees {len(linked)} GPU-image packages installed here"
            + (f" and {', '.join(w.name for w in image_wheels)}" if image_wheels else "")
            + f"; installing {wheels} with --no-index"
        )
        subprocess.run(
            [*pip, "--no-index", "--find-links", str(wheels), "-r", str(wheels / "requirements.txt")],
            check=True,
        )  # fmt: skip
        command = [
            python,
            str(Path(__file__).resolve()),
            "run",
            "--tiny",
            "--steps",
            str(steps),
            "--assets",
            str(assets),
        ]
        subprocess.run(command, check=True, env={**os.environ, "PYTHONNOUSERSITE": "1"})
    except subprocess.CalledProcessError as exc:
        raise SmokeError(f"the wheel check failed at: {' '.join(map(str, exc.cmd))}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# run (on the GPU machine, or the CPU with --tiny)


class StepRow(TypedDict):
    """One GRPO step as logged by TRL and our callbacks."""

    step: int
    step_s: float
    generate_s: float | None
    env_s: float | None
    generated_tokens: int
    """Policy tokens sampled in the step (TRL's completion lengths count env_mask=1 tokens only)."""
    sequence_tokens: int
    """Prompt + policy tokens the step trained on (TRL's num_tokens increment; partner tokens excluded)."""
    generated_tok_s: float | None
    trained_tok_s: float
    reward: float | None
    unscorable_frac: float | None
    """Share of rows left out of the loss (failed episodes): 0 when every episode ran."""


class SmokeResult(TypedDict):
    """What ``run`` prints and writes with ``--json``."""

    device: str
    note: str
    model: str
    parameters: int
    rows_per_step: int
    turn_tokens: int
    max_turns: int
    steps: list[StepRow]
    mean_step_s_after_first: float | None
    peak_memory_gib: float
    peak_memory_kind: str
    plan: dict[str, Any]
    """``python -m training.grpo --dry-run``'s plan of this run (lengths, cap, rows per process)."""
    wall_s: float
    versions: dict[str, str]
    imported_distributions: list[str]


def smoke_overrides(
    policy: Path, output_dir: Path, *, tiny: bool, steps: int, vllm: str | None
) -> dict[str, Any]:
    """TrainConfig fields of the smoke run: the a100x8 recipe's settings, scaled to a few short episodes."""
    return {
        "model": str(policy), "partner": "scripted:" + "|".join(PARTNER_LINES), "judge": None,
        "env": "sotopia", "mcq": [], "scenarios_limit": 8, "casts_per_scenario": 1, "policy_roles": [0],
        # tiny: the same path on fewer, shorter rows (on a CPU the 49k-token vocabulary's logits dominate)
        "max_turns": 4 if tiny else 6, "turn_tokens": 16 if tiny else 256, "partner_max_tokens": 64,
        "max_steps": steps, "num_generations": 2 if tiny else 5, "prompts_per_step": 1 if tiny else 2,
        "learning_rate": 1e-6, "beta": 0.04,
        "bf16": True, "gradient_checkpointing": True, "warmup": False, "report_to": ["none"],
        "save_steps": 10_000, "output_dir": str(output_dir), "seed": 0,
        "max_episode_tokens": 4096, "use_vllm": vllm is not None, "vllm_mode": vllm or "colocate",
        "vllm_max_model_length": 4096 if vllm else None,
    }  # fmt: skip


def build_random_policy(assets: Path, shape: str, target: Path, *, device: str, seed: int = 0) -> int:
    """Initialise a model of ``shape`` randomly on ``device`` and save it (bf16) with the tokenizer; its size."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(assets / "tokenizer")
    config = AutoConfig.from_pretrained(assets / shape)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    parameters = sum(p.numel() for p in model.parameters())
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return parameters


def versions() -> dict[str, str]:
    """Versions of the interpreter and the libraries that ran (and the GPU, if any)."""
    import torch

    found = {"python": platform.python_version()}
    for name in ("torch", "transformers", "trl", "accelerate", "datasets", "pydantic", "pettingzoo"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    if torch.cuda.is_available():
        found["cuda"] = str(torch.version.cuda)
        found["gpu"] = torch.cuda.get_device_name(0)
    return found


def imported_distributions() -> list[str]:
    """The distributions whose modules this process imported, optional imports of the libraries included."""
    by_module = importlib.metadata.packages_distributions()
    names = {m.split(".")[0] for m in list(sys.modules)}
    return sorted({_canonical(d) for name in names for d in by_module.get(name, [])})


def step_rows(metrics: Path, rows_per_step: int) -> list[StepRow]:
    """Per-step figures from the run's ``metrics.jsonl``."""
    rows: list[StepRow] = []
    previous_tokens = 0.0
    for line in metrics.read_text().splitlines():
        record = json.loads(line)
        if "step_time" not in record:
            continue
        step_s = float(record["step_time"])
        generated = round(float(record.get("completions/mean_length") or 0.0) * rows_per_step)
        sequence = round(float(record["num_tokens"]) - previous_tokens)
        previous_tokens = float(record["num_tokens"])
        generate_s = record.get("rollout/generate_s")
        rows.append(
            StepRow(
                step=int(record["step"]), step_s=round(step_s, 3), generate_s=generate_s, env_s=record.get("rollout/env_s"),
                generated_tokens=generated, sequence_tokens=sequence,
                generated_tok_s=round(generated / generate_s, 1) if generate_s else None,
                trained_tok_s=round(sequence / step_s, 1), reward=record.get("reward"),
                unscorable_frac=record.get("unscorable_frac"),
            )
        )  # fmt: skip
    return rows


def run(assets: Path, *, tiny: bool, steps: int, output_dir: Path | None, vllm: str | None) -> SmokeResult:
    """Train ``steps`` GRPO steps of a randomly initialised policy and measure them."""
    if vllm is not None:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise SmokeError(
                f"--vllm {vllm}: vLLM is not installed in this Python; run it on a machine that has vLLM "
                "(its wheels are far over the 64 MiB a GPU call can carry)"
            )
    shape = "tiny" if tiny else "qwen3-0.6b"
    missing = [
        p for p in (assets / "tokenizer" / "tokenizer.json", assets / shape / "config.json") if not p.exists()
    ]
    if missing:
        raise SmokeError(
            f"{missing[0]} is missing: run `bash bench/gpu_smoke.sh --prepare` on a machine with the project "
            "installed, then carry bench/gpu_smoke along"
        )
    import torch

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    note = (
        "" if cuda else "no CUDA device: ran on the CPU (bf16 autocast); these are CPU figures, not GPU ones"
    )
    if note:
        print(f"note: {note}", file=sys.stderr)
    if vllm is not None and not cuda:
        raise SmokeError("--vllm needs a CUDA device")
    keep = output_dir is not None
    work = output_dir or Path(tempfile.mkdtemp(prefix="socialgym-gpu-smoke-"))
    started = time.perf_counter()
    try:
        parameters = build_random_policy(assets, shape, work / "policy", device=device)
        from training.config import build_config
        from training.grpo import dry_run, train

        overrides = smoke_overrides(work / "policy", work / "run", tiny=tiny, steps=steps, vllm=vllm)
        config = build_config("cpu", None, overrides)
        config.judge = None  # no judge: the goal term is off, the per-turn SIP terms score the rows
        plan = dry_run(config, None)  # the launch's own offline checks: template, arithmetic, lengths
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        train(config, resume=False)
        rows_per_step = config.num_generations * config.prompts_per_step
        steps_done = step_rows(work / "run" / "metrics.jsonl", rows_per_step)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    later = [row["step_s"] for row in steps_done[1:]]
    if cuda:
        peak, kind = torch.cuda.max_memory_allocated() / 2**30, "GPU (torch max allocated)"
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "CPU (process max RSS)"
    return SmokeResult(
        device=versions().get("gpu", "cpu") if cuda else "cpu", note=note,
        model=f"Qwen3ForCausalLM, {shape} shape, random init, SmolLM2 tokenizer",
        parameters=parameters, rows_per_step=rows_per_step, turn_tokens=config.turn_tokens, max_turns=config.max_turns,
        steps=steps_done, mean_step_s_after_first=round(sum(later) / len(later), 3) if later else None,
        peak_memory_gib=round(peak, 2), peak_memory_kind=kind, plan={k: str(v) for k, v in plan.items()}, wall_s=round(time.perf_counter() - started, 1),
        versions=versions(), imported_distributions=imported_distributions(),
    )  # fmt: skip


def print_result(result: SmokeResult) -> None:
    """The table the smoke prints."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))  # a pipe gets 80 columns: too few for the table
    title = (
        f"GRPO smoke: {result['model']} ({result['parameters'] / 1e6:.0f}M parameters) on {result['device']}; "
        f"{result['rows_per_step']} episodes per step, {result['max_turns']} turns, {result['turn_tokens']} tokens per policy turn"
    )
    table = Table(title=title)
    for column in (
        "step",
        "step s",
        "generate s",
        "env s",
        "generated tok",
        "trained tok",
        "gen tok/s",
        "train tok/s",
        "unscorable",
    ):
        table.add_column(column, justify="right")
    for row in result["steps"]:
        table.add_row(
            str(row["step"]), f"{row['step_s']:.2f}", _fmt(row["generate_s"]), _fmt(row["env_s"]),
            str(row["generated_tokens"]), str(row["sequence_tokens"]), _fmt(row["generated_tok_s"], 0),
            f"{row['trained_tok_s']:.0f}", _fmt(row["unscorable_frac"]),
        )  # fmt: skip
    console.print(table)
    print(
        f"mean step after the first: {_fmt(result['mean_step_s_after_first'])} s; whole run {result['wall_s']} s"
    )
    print(f"peak memory: {result['peak_memory_gib']} GiB, {result['peak_memory_kind']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    if result["note"]:
        print(f"note: {result['note']}")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    """``prepare`` or ``run``; exit 2 with a message when something is missing."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="tokenizer, configs and wheels for the GPU machine")
    prep.add_argument("--assets", type=Path, default=ASSETS)
    prep.add_argument("--no-wheels", action="store_true", help="tokenizer and configs only (no PyPI)")
    go = sub.add_parser("run", help="train a few GRPO steps and print the table")
    go.add_argument("--assets", type=Path, default=ASSETS)
    go.add_argument("--tiny", action="store_true", help="a tiny model of the same architecture (CPU tests)")
    go.add_argument("--steps", type=int, default=3)
    go.add_argument(
        "--output-dir", type=Path, help="keep the run here (default: a temporary folder, removed)"
    )
    go.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    go.add_argument(
        "--vllm", choices=["colocate"], help="generate with vLLM (a machine that has vLLM installed)"
    )
    check = sub.add_parser(
        "check-wheels", help="a fresh venv with only the GPU image's packages + the wheels runs --tiny"
    )
    check.add_argument("--assets", type=Path, default=ASSETS)
    check.add_argument(
        "--image-wheel",
        type=Path,
        action="append",
        default=[],
        help="a wheel of the GPU image's own version of a package (e.g. transformers 5.17.0); repeatable",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from training.grpo import TrainingSetupError

    try:
        if args.command == "prepare":
            manifest = prepare(args.assets, wheels=not args.no_wheels)
            print(json.dumps(manifest, indent=2))
            return 0
        if args.command == "check-wheels":
            check_wheels(args.assets, args.image_wheel)
            print("wheel check passed")
            return 0
        result = run(
            args.assets, tiny=args.tiny, steps=args.steps, output_dir=args.output_dir, vllm=args.vllm
        )
    except (SmokeError, TrainingSetupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "error: stopped before the table (Ctrl-C, or SMOKE_TIMEOUT_S in bench/gpu_smoke.sh)",
            file=sys.stderr,
        )
        return 130
    print_result(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
