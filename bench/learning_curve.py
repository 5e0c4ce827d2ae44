"""Learning curve on held-out data: the base policy, after the SIP warm-up (SFT), after SFT + GRPO.

    python bench/learning_curve.py                                  # cpu preset, embedded model
    python bench/learning_curve.py --n 200 --grpo-steps 30 --out runs/curve
    python bench/learning_curve.py --preset a100x8 --model Qwen/Qwen3-0.6B   # on a GPU, same seeds

Trains the warm-up (``training.sft``) and then GRPO (``training.grpo``) from it, and evaluates
the three checkpoints on the same held-out items, greedily, with the prompt the training used:

* generated ToM items from ``heldout_seed`` (never a training seed; items whose story appears in
  the training data are dropped): accuracy with a 95% Wilson interval, strict SIP format rate,
  tokens per reply;
* the ToM-RL test file's Hi-ToM items (``../shared/data/tom-rl/test.jsonl``, never trained on);
* optionally (``--episodes N``) the judged goal score of N social episodes per model.

Models are compared on the same items, paired: McNemar's exact test on the items one model gets
right and the other wrong (``scipy.stats.binomtest``). The table is printed and saved as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

# run as a script from a checkout: the repository root is importable even without `pip install -e .`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def wilson(correct: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a proportion."""
    from scipy.stats import binomtest

    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(correct, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar(a: list[bool], b: list[bool]) -> dict[str, Any]:
    """McNemar's exact test on paired outcomes: (b right, a wrong) vs (a right, b wrong)."""
    from scipy.stats import binomtest

    gained = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    lost = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    p = binomtest(gained, gained + lost, 0.5).pvalue if gained + lost else 1.0
    return {"gained": gained, "lost": lost, "p": float(p)}


def hitom_items(data: Path, n: int) -> list[Any]:
    """The first ``n`` Hi-ToM items of the ToM-RL test file (free-text answers)."""
    from eval.benchmarks import load_benchmark

    items = [it for it in load_benchmark("tom-rl", data / "tom-rl") if it.tags.get("data_source") == "hi_tom"]
    return items[:n]


def evaluate(path: str, sets: dict[str, list[Any]], config: Any) -> dict[str, Any]:
    """Every held-out set for one checkpoint."""
    import torch

    from agents.policy_checkpoint import load_policy_model, load_policy_tokenizer
    from training.heldout import evaluate_items

    tokenizer = load_policy_tokenizer(path)  # full or LoRA-adapter checkpoint (agents/policy_checkpoint.py)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = load_policy_model(path, dtype=torch.float32)
    out: dict[str, Any] = {}
    for name, items in sets.items():
        started = time.perf_counter()
        result = evaluate_items(
            model, tokenizer, items, think_prefill=config.think_prefill, max_new_tokens=config.turn_tokens
        )
        low, high = wilson(sum(result.correct), result.n)
        out[name] = {
            "n": result.n,
            "accuracy": result.accuracy,
            "ci95": [low, high],
            "format": result.format_rate,
            "tokens": result.mean_tokens,
            "correct": result.correct,
            "predictions": result.predictions,
            "seconds": round(time.perf_counter() - started, 1),
            "example": result.replies[0] if result.replies else "",
        }
    return out


def social_goal(path: str, episodes: int, config: Any, out_dir: Path) -> dict[str, Any]:
    """Mean judged goal score (0..10) of the policy (``sip:PATH``) over ``episodes`` scenarios, via ``eval.interactive``."""
    from eval.interactive import main as interactive_main
    from eval.store import EpisodeStore

    code = interactive_main(
        [
            "--model", f"sip:{path}", "--partner", config.partner, "--judge", config.judge or "local",
            "--judge-dimensions", "goal", "--scenarios", config.env or "sotopia", "--limit", str(episodes),
            "--max-turns", str(config.max_turns), "--concurrency", "1", "--out", str(out_dir),
        ]
    )  # fmt: skip
    if code:
        return {"n": 0, "goal": None, "error": f"eval.interactive exited {code}"}
    scores = [
        s["goal"]
        for ep in EpisodeStore(out_dir).episodes()
        for name, s in ep.scores.items()
        if ep.agent_models.get(name, "").startswith("sip:") and s.get("goal") is not None
    ]
    return {"n": len(scores), "goal": sum(scores) / len(scores) if scores else None}


def reused_results(path: Path, sets: dict[str, list[Any]], models: dict[str, str]) -> dict[str, Any]:
    """The base and sft rows of an earlier report, if it measured the same models on the same number of items."""
    earlier = json.loads(path.read_text())
    reused = {}
    for name in ("base", "sft"):
        row = earlier.get("results", {}).get(name)
        same_model = earlier.get("models", {}).get(name) == models[name]
        same_sets = row is not None and all(
            name_ in row and row[name_]["n"] == len(items) for name_, items in sets.items()
        )
        if same_model and same_sets:
            reused[name] = row
        else:
            print(f"--reuse {path}: its {name} row is for another model or other sets; evaluating it again")
    return reused


def paired_comparisons(results: dict[str, Any], sets: dict[str, list[Any]]) -> dict[str, Any]:
    """McNemar on every pair of evaluated models that the table reads in order (later vs earlier)."""
    pairs = [("sft", "base"), ("sft+grpo", "sft"), ("sft+grpo", "base")]
    return {
        set_name: {
            f"{later} vs {earlier}": mcnemar(
                results[earlier][set_name]["correct"], results[later][set_name]["correct"]
            )
            for later, earlier in pairs
            if later in results and earlier in results
        }
        for set_name in sets
    }


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate, print and save the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default=None, help="training preset (default: cpu without CUDA)")
    p.add_argument("--model", default=None, help="base policy (default: the preset's)")
    p.add_argument("--n", type=int, default=100, help="held-out generated items")
    p.add_argument("--hitom", type=int, default=50, help="ToM-RL Hi-ToM test items (0: skip)")
    p.add_argument(
        "--episodes", type=int, default=0, help="social episodes per model for the goal score (0: skip)"
    )
    p.add_argument(
        "--sft-examples", type=int, default=None, help="warm-up MCQ traces (default: the preset's)"
    )
    p.add_argument("--sft-epochs", type=float, default=None, help="warm-up epochs (default: the preset's)")
    p.add_argument(
        "--tom-orders",
        type=int,
        nargs="+",
        default=None,
        help="belief orders of the generated items, training and held-out alike (default: the preset's)",
    )
    p.add_argument(
        "--tom-steps",
        type=int,
        nargs=2,
        default=None,
        metavar=("MIN", "MAX"),
        help="events per generated story, training and held-out alike (default: the preset's)",
    )
    p.add_argument(
        "--sft-checkpoint",
        type=Path,
        default=None,
        help="a finished warm-up of these settings (e.g. OUT/sft/final of an earlier run): skip training it",
    )
    p.add_argument(
        "--grpo-steps", type=int, default=None, help="GRPO steps after the warm-up (default: the preset's)"
    )
    p.add_argument(
        "--grpo-env", default="none", help="env of the GRPO stage (default none: generated items only)"
    )
    p.add_argument("--grpo-generations", type=int, default=4, help="GRPO group size (default 4)")
    p.add_argument("--grpo-prompts", type=int, default=2, help="GRPO prompts per step (default 2)")
    p.add_argument(
        "--grpo-lr",
        type=float,
        default=None,
        help="GRPO learning rate of what the stage trains: LoRA adapters (lora_learning_rate) or, with "
        "--grpo-set lora=false, every weight (learning_rate); default: the preset's",
    )
    p.add_argument(
        "--grpo-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a training-config field of the GRPO stage (YAML value), e.g. temperature=1.2, beta=0.04, "
        "lora=false (repeatable; checked like a config file)",
    )
    p.add_argument(
        "--grpo-terms", nargs="+", default=None, help="reward terms of the GRPO stage (default: the preset's)"
    )
    p.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="learning_curve.json of an earlier run with the same settings and warm-up: "
        "take its base and sft rows instead of evaluating them again",
    )
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--out", type=Path, default=Path("runs") / f"curve-{time.strftime('%Y%m%d-%H%M%S')}")
    args = p.parse_args(argv)

    from training.callbacks import latest_complete_checkpoint
    from training.config import build_config, default_preset
    from training.grpo import load_mcq_source, resolve_policy
    from training.grpo import main as grpo_main
    from training.heldout import drop_overlaps
    from training.sft import build_examples, tom_config, train_sft

    preset = args.preset or default_preset()
    config = build_config(
        preset, None,
        {"model": args.model, "max_steps": args.grpo_steps, "sft_mcq_examples": args.sft_examples,
         "sft_epochs": args.sft_epochs, "tom_orders": args.tom_orders,
         "tom_steps": tuple(args.tom_steps) if args.tom_steps else None},
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    # the GRPO stage reads the same generator settings (a config file layered over the preset)
    stage_config = args.out / "grpo_stage.yaml"
    stage = {"tom_orders": config.tom_orders, "tom_steps": list(config.tom_steps)}
    if args.grpo_terms:
        stage["reward_terms"] = args.grpo_terms
    for setting in args.grpo_set:
        field, sep, value = setting.partition("=")
        if not sep or not field.strip():
            p.error(f"--grpo-set {setting!r}: expected FIELD=VALUE, e.g. temperature=1.2")
        stage[field.strip()] = yaml.safe_load(value)
    stage_config.write_text(yaml.safe_dump(stage))
    try:
        grpo_stage = build_config(preset, str(stage_config), {})
    except ValueError as exc:
        p.error(f"--grpo-set: {exc}")
    # --grpo-lr names the rate of what the stage trains; without it the stage keeps its config's rate
    lr_flags = ["--lora-lr" if grpo_stage.lora else "--lr", str(args.grpo_lr)] if args.grpo_lr else []
    timings: dict[str, float] = {}

    if args.sft_checkpoint is not None:
        if not (args.sft_checkpoint / "config.json").is_file():
            p.error(
                f"--sft-checkpoint {args.sft_checkpoint}: no transformers checkpoint there (config.json missing)"
            )
        sft_final = args.sft_checkpoint
    else:
        started = time.perf_counter()
        sft_final = train_sft(config, args.out / "sft")
        timings["sft_s"] = round(time.perf_counter() - started, 1)

    # held-out items whose story the warm-up or GRPO sees are dropped (and counted)
    seen = [
        *build_examples(config),
        *load_mcq_source("generated", config.mcq_items, config.seed, tom_config(config)),
    ]
    generated = load_mcq_source("generated", args.n, config.heldout_seed, tom_config(config))
    kept = drop_overlaps(generated, seen, "the generated held-out set")
    clash = {it.id for it in generated} - {it.id for it in kept}
    sets: dict[str, list[Any]] = {"generated": kept}
    if args.hitom and (args.data / "tom-rl").is_dir():
        sets["hi-tom (ToM-RL test)"] = hitom_items(args.data, args.hitom)

    models = {"base": resolve_policy(config.model), "sft": str(sft_final)}
    results: dict[str, Any] = {}
    report: dict[str, Any] = {
        "preset": preset,
        "config": config.model_dump(mode="json"),
        "heldout_seed": config.heldout_seed,
        "heldout_dropped_as_seen": sorted(clash),
        "models": models,
        "results": results,
        "paired": {},
        "timings": timings,
        "command": " ".join(
            ["python", "bench/learning_curve.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }

    def evaluate_and_save(name: str, path: str) -> None:
        started = time.perf_counter()
        results[name] = evaluate(path, sets, config)
        if args.episodes:
            results[name]["social"] = social_goal(path, args.episodes, config, args.out / f"social-{name}")
        timings[f"eval_{name}_s"] = round(time.perf_counter() - started, 1)
        report["paired"] = paired_comparisons(results, sets)
        # saved after every model: a long run that stops later still leaves what it measured
        (args.out / "learning_curve.json").write_text(json.dumps(report, indent=2))

    # base and warm-up are measured before GRPO starts (or taken from an earlier run on the same items)
    earlier = reused_results(args.reuse, sets, models) if args.reuse else {}
    for name in ("base", "sft"):
        if name in earlier:
            results[name] = earlier[name]
            report.setdefault("reused", {})[name] = str(args.reuse)
        else:
            evaluate_and_save(name, models[name])

    started = time.perf_counter()
    grpo_dir = args.out / "grpo"
    code = grpo_main(
        [
            "--preset", preset, "--config", str(stage_config), "--model", str(sft_final), "--no-warmup", "--env", args.grpo_env,
            "--mcq", "generated", "--max-steps", str(config.max_steps), "--output-dir", str(grpo_dir),
            "--report-to", "none", "--save-steps", str(10**6), "--num-generations", str(args.grpo_generations),
            "--prompts-per-step", str(args.grpo_prompts), *lr_flags,
        ]
    )  # fmt: skip
    if code:
        print_table(report)
        return code
    timings["grpo_s"] = round(time.perf_counter() - started, 1)
    grpo_final = latest_complete_checkpoint(grpo_dir)
    if grpo_final is None:
        print(f"GRPO wrote no complete checkpoint in {grpo_dir}", file=sys.stderr)
        print_table(report)
        return 1
    models["sft+grpo"] = str(grpo_final)
    evaluate_and_save("sft+grpo", models["sft+grpo"])
    print_table(report)
    print(f"saved: {args.out / 'learning_curve.json'}")
    return 0


def print_table(report: dict[str, Any]) -> None:
    """The before/after table and the paired tests."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Held-out learning curve (greedy, same items for every model)")
    for column in ("model", "set", "n", "accuracy [95% CI]", "strict SIP", "tokens/reply"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for model, sets in report["results"].items():
        for set_name, r in sets.items():
            if set_name == "social":
                goal = r.get("goal")
                table.add_row(
                    model,
                    "social goal (0-10)",
                    str(r.get("n")),
                    "-" if goal is None else f"{goal:.2f}",
                    "",
                    "",
                )
                continue
            table.add_row(
                model, set_name, str(r["n"]), f"{r['accuracy']:.1%} [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]",
                f"{r['format']:.1%}", f"{r['tokens']:.0f}",
            )  # fmt: skip
    console.print(table)
    for set_name, pairs in report["paired"].items():
        parts = [f"{k}: +{v['gained']}/-{v['lost']} (McNemar p={v['p']:.3g})" for k, v in pairs.items()]
        console.print(f"{set_name}: " + "; ".join(parts))
    console.print("timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in report["timings"].items()))


if __name__ == "__main__":
    sys.exit(main())
