"""Evaluation throughput: SOTOPIA 0.1.5's own runner against ours, same tasks, same endpoint.

    python bench/eval_throughput.py                        # 3 SOTOPIA runs, 3 of ours, prompt cache on
    python bench/eval_throughput.py --server-cache-mb 0    # the same without llama.cpp's prompt cache
    python bench/eval_throughput.py --sotopia-runs 0 --ours-runs 2 --ours-flag=--judge-dimensions=goal

One embedded llama.cpp server (``agents.local_model.LocalServer`` with the prompt cache
``eval.interactive`` gives its own) is started, with the baseline's ``json_schema_shim.py`` in
front of it; both runners talk to the shim, which counts every HTTP request and its usage tokens
the same way for both. The server is restarted before every run, so no run finds prompts an
earlier run left in its cache. SOTOPIA runs
through ``../shared/bench/sotopia_baseline/run_sotopia.py`` in its own virtual environment (its
pins clash with ours; ``--sotopia-python``, made once with the command printed when it is
missing); ours is ``python -m eval.interactive`` on the same four tasks (the baseline's
``manifest.json``: scenario and character pairing), read from the same SOTOPIA dump, with the same
turn cap and concurrency and the default judge settings (one judge, one repeat, all dimensions,
no judge cache). Runs alternate (SOTOPIA, ours, SOTOPIA, ...) so that drift hits both.

Printed per run and summarised: episodes/min, agent turns per episode and per minute (an episode
that ends early is not a speed-up), valid judgements, prompt and completion tokens per episode
(at the shim), what the server did (prompt tokens it evaluated after prefix reuse, seconds of
prompt evaluation, of generation and of sampling, from its own timing lines; seconds the endpoint was busy, from
the shim), and ours over the *fastest* SOTOPIA run. Saved as JSON (``--out``).
Wall time is each runner's own: SOTOPIA's batches, our ``summary.json`` ``wall_s`` (both without
interpreter start-up and data loading).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SHARED = ROOT.parent / "shared"
DEFAULT_SOTOPIA_PYTHON = Path.home() / ".cache" / "socialgym" / "sotopia-venv" / "bin" / "python"
MAKE_VENV = "python3 -m venv {venv} && {venv}/bin/pip install sotopia==0.1.5 litellm==1.80.0"
DUMP_FILES = ("agent_profiles.jsonl", "relationship_profiles.jsonl")


def shim_stats(url: str) -> dict[str, Any]:
    """The shim's counters (requests, status codes, usage tokens)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


PERF_LINE = re.compile(r"llama_perf_context_print:\s+(prompt eval|eval|total) time =\s+([\d.]+) ms /\s+(\d+) (?:tokens|runs)")


def evaluated_prompt_tokens(log_text: str) -> list[int]:
    """Prompt tokens the llama.cpp server evaluated for each request, in order (what prefix reuse left)."""
    return [int(tokens) for kind, _, tokens in PERF_LINE.findall(log_text) if kind == "prompt eval"]


def server_work(log_text: str) -> dict[str, float]:
    """What the llama.cpp server did, from its per-request timing lines: prompt tokens it
    evaluated (after any prefix reuse), and seconds of prompt evaluation, generation, in all, and
    the rest of the total (sampling: with a JSON schema, mostly the grammar's checks)."""
    work = {"prompt_tokens_evaluated": 0, "prompt_eval_s": 0.0, "generation_s": 0.0, "server_total_s": 0.0}
    for kind, ms, tokens in PERF_LINE.findall(log_text):
        if kind == "total":
            work["server_total_s"] += float(ms) / 1000
        elif kind == "prompt eval":
            work["prompt_tokens_evaluated"] += int(tokens)
            work["prompt_eval_s"] += float(ms) / 1000
        else:
            work["generation_s"] += float(ms) / 1000
    work["sampling_s"] = max(0.0, work["server_total_s"] - work["prompt_eval_s"] - work["generation_s"])
    return work


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident memory of process ``pid`` so far (Linux ``VmHWM``), in MB; None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.M)
    return int(match.group(1)) / 1024 if match else None


def start_shim(python: Path, baseline: Path, upstream: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The baseline's pass-through shim in front of ``upstream``, waited for until it answers."""
    from agents.local_model import _ready

    process = subprocess.Popen(
        [str(python), str(baseline / "json_schema_shim.py"), "--upstream", upstream, "--port", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the shim exited with code {process.returncode}: see {log}")
        if _ready(f"http://127.0.0.1:{port}/v1"):
            return process
        time.sleep(0.25)
    process.terminate()
    raise SystemExit(f"the shim did not answer within 60 s: see {log}")


def task_dump(manifest: Path, dump: Path, out: Path) -> list[dict[str, Any]]:
    """A SOTOPIA dump folder holding only the manifest's scenarios and pairings (characters all kept)."""
    episodes = json.loads(manifest.read_text())["episodes"]
    env_ids = {e["env_id"] for e in episodes}
    combo_ids = {e["combo_id"] for e in episodes}
    out.mkdir(parents=True, exist_ok=True)

    def keep(name: str, key: str, wanted: set[str]) -> None:
        lines = [
            line
            for line in (dump / name).read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get(key) in wanted
        ]
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    keep("environment_profiles.jsonl", "env_id", env_ids)
    keep("env_agent_combo_storages.jsonl", "combo_id", combo_ids)
    for name in DUMP_FILES:
        (out / name).write_text((dump / name).read_text(encoding="utf-8"), encoding="utf-8")
    return episodes


def run_sotopia(
    python: Path,
    baseline: Path,
    api_base: str,
    out: Path,
    args: argparse.Namespace,
    model: str,
    episodes: int,
) -> dict[str, Any]:
    """One run of SOTOPIA's runner on its first ``episodes`` tasks (it talks to the shim we started: ``--shim off``)."""
    command = [
        str(python), str(baseline / "run_sotopia.py"), "-n", str(episodes), "-c", str(args.concurrency),
        "--max-turns", str(args.max_turns), "--base-url", api_base, "--model", model, "--shim", "off",
        "--data-dir", str(args.shared / "data" / "sotopia"), "--out", str(out),
        "--sotopia-home", str(out / "home"),
    ]  # fmt: skip
    log = out.with_suffix(".log")
    out.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    summary_file = out / "summary.json"
    if code or not summary_file.is_file():
        raise SystemExit(f"SOTOPIA's runner failed (exit {code}): see {log}")
    summary = json.loads(summary_file.read_text())
    turns = summary["turns_per_episode"]
    return {
        "wall_s": summary["wall_s"],
        "episodes": summary["episodes_run"],
        "turns": turns,
        "valid_judgements": summary["judge_valid_episodes"],
    }


def run_ours(api_base: str, dump: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One run of ``python -m eval.interactive`` on the task dump (local model, partner and judge)."""
    from envs.types import EpisodeStatus
    from eval.stats import episode_judgement
    from eval.store import EpisodeStore

    command = [
        sys.executable, "-m", "eval.interactive", "--model", "local", "--partner", "local", "--judge", "local",
        "--scenarios", f"sotopia:{dump}", "--max-turns", str(args.max_turns),
        "--concurrency", str(args.concurrency), "--judge-cache", "none", "--out", str(out), *args.ours_flag,
    ]  # fmt: skip
    env = {**os.environ, "SOCIALGYM_LOCAL_API_BASE": api_base, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    log = out.with_suffix(".log")
    with log.open("w") as handle:
        code = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False
        ).returncode
    summary_file = out / "summary.json"
    if code not in (0, 1) or not summary_file.is_file():
        raise SystemExit(f"eval.interactive failed (exit {code}): see {log}")
    summary = json.loads(summary_file.read_text())
    store = EpisodeStore(out / "episodes.sqlite")
    try:
        episodes = store.episodes()
    finally:
        store.close()
    valid = 0
    for episode in episodes:
        judgement = episode_judgement(episode)
        valid += bool(judgement is not None and judgement.ok)
    return {
        "wall_s": summary["wall_s"],
        "episodes": len(episodes),
        "turns": [len(episode.turns) for episode in episodes],
        "valid_judgements": valid,
        "failed_episodes": sum(episode.status is not EpisodeStatus.finished for episode in episodes),
    }


def with_rates(run: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Add per-minute and per-episode figures, and the shim's request and token counts for the run."""
    minutes = run["wall_s"] / 60
    n = max(run["episodes"], 1)
    run["episodes_per_min"] = run["episodes"] / minutes
    run["agent_turns_per_min"] = sum(run["turns"]) / minutes
    run["turns_per_episode"] = sum(run["turns"]) / n
    run["requests"] = after["requests"] - before["requests"]
    run["prompt_tokens_per_episode"] = (after["prompt_tokens"] - before["prompt_tokens"]) / n
    run["completion_tokens_per_episode"] = (after["completion_tokens"] - before["completion_tokens"]) / n
    run["endpoint_busy_s"] = after["busy_seconds"] - before["busy_seconds"]
    return run


def print_table(report: dict[str, Any]) -> None:
    """The per-run table and the comparison against the fastest SOTOPIA run."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Evaluation throughput ({report['settings']})")
    for column in (
        "runner", "run", "wall s", "episodes/min", "turns/episode", "agent turns/min", "valid judgements",
        "requests", "prompt tok/episode", "completion tok/episode", "evaluated prompt tok/episode",
        "server prompt s", "server generation s", "server sampling s", "endpoint busy s", "server peak MB",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "runner" else "right")
    for runner in ("sotopia", "ours"):
        for k, run in enumerate(report["runs"][runner]):
            table.add_row(
                runner, str(k + 1), f"{run['wall_s']:.1f}", f"{run['episodes_per_min']:.2f}",
                f"{run['turns_per_episode']:.2f}", f"{run['agent_turns_per_min']:.2f}",
                f"{run['valid_judgements']}/{run['episodes']}", str(run["requests"]),
                f"{run['prompt_tokens_per_episode']:.0f}", f"{run['completion_tokens_per_episode']:.0f}",
                f"{run['prompt_tokens_evaluated'] / max(run['episodes'], 1):.0f}",
                f"{run['prompt_eval_s']:.1f}", f"{run['generation_s']:.1f}",
                f"{run.get('sampling_s', 0.0):.1f}", f"{run['endpoint_busy_s']:.1f}",
                "-" if run.get("server_peak_mb") is None else f"{run['server_peak_mb']:.0f}",
            )  # fmt: skip
    console = Console(width=max(Console().width, 200))
    console.print(table)
    for line in report["comparison"]:
        console.print(line, highlight=False)


def compare(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Ours (mean, min-max) over the fastest SOTOPIA run, in episodes and agent turns per minute."""
    lines = []
    if not runs["sotopia"] or not runs["ours"]:
        return lines
    for key, what in (("episodes_per_min", "episodes/min"), ("agent_turns_per_min", "agent turns/min")):
        fastest = max(run[key] for run in runs["sotopia"])
        ours = [run[key] for run in runs["ours"]]
        ratios = [value / fastest for value in ours] if fastest else []
        lines.append(
            f"{what}: SOTOPIA fastest {fastest:.2f} (of {len(runs['sotopia'])}), ours mean "
            f"{statistics.mean(ours):.2f} (min {min(ours):.2f}, max {max(ours):.2f}, n {len(ours)}); "
            + (
                f"ratio mean {statistics.mean(ratios):.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x)"
                if ratios
                else "ratio: SOTOPIA made no progress"
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run both sides, print the table, save the JSON."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sotopia-runs", type=int, default=3, help="SOTOPIA runs (the fastest is compared)")
    p.add_argument("--ours-runs", type=int, default=3, help="runs of eval.interactive")
    p.add_argument("--concurrency", type=int, default=4, help="episodes at a time, both runners")
    p.add_argument("--max-turns", type=int, default=6, help="turn cap, both runners (env steps)")
    p.add_argument(
        "--server-cache-mb",
        type=int,
        default=None,
        help="llama.cpp prompt cache of the server in MiB (0: off; default: eval.interactive's for its own server)",
    )
    p.add_argument(
        "--server-n-batch", type=int, default=None, help="llama.cpp n_batch (default: LocalServer's)"
    )
    p.add_argument(
        "--ours-flag", action="append", default=[], help="an extra eval.interactive flag (repeatable)"
    )
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (data, bench)")
    p.add_argument("--sotopia-python", type=Path, default=DEFAULT_SOTOPIA_PYTHON)
    p.add_argument(
        "--out", type=Path, default=Path("runs") / f"eval-throughput-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    args = p.parse_args(argv)

    from agents.local_model import LOCAL_MODEL_ALIAS, LocalModelError, LocalServer, _free_port

    baseline = args.shared / "bench" / "sotopia_baseline"
    manifest = baseline / "results" / "n4_c4_a" / "manifest.json"
    for needed in (baseline / "run_sotopia.py", manifest, args.shared / "data" / "sotopia"):
        if not needed.exists():
            p.error(
                f"{needed} is missing: --shared must name the folder with bench/sotopia_baseline and data/sotopia"
            )
    if args.sotopia_runs and not args.sotopia_python.is_file():
        venv = DEFAULT_SOTOPIA_PYTHON.parent.parent
        p.error(
            f"--sotopia-python {args.sotopia_python} does not exist; make SOTOPIA's venv with: "
            f"{MAKE_VENV.format(venv=venv)} (then the default --sotopia-python finds it), or --sotopia-runs 0"
        )
    for flag, value, least in (
        ("--sotopia-runs", args.sotopia_runs, 0), ("--ours-runs", args.ours_runs, 0),
        ("--concurrency", args.concurrency, 1), ("--max-turns", args.max_turns, 1),
        ("--server-cache-mb", args.server_cache_mb, 0), ("--server-n-batch", args.server_n_batch, 1),
    ):  # fmt: skip
        if value is not None and value < least:
            p.error(f"{flag} must be at least {least}, got {value}")
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    dump = args.out / "tasks"
    try:
        tasks = task_dump(manifest, args.shared / "data" / "sotopia", dump)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        p.error(
            f"{manifest} or the dump it names in {args.shared / 'data' / 'sotopia'} is unreadable: {exc!r}"
        )

    from eval.interactive import DEFAULT_LOCAL_PROMPT_CACHE_MB

    server = LocalServer(
        cache_mb=DEFAULT_LOCAL_PROMPT_CACHE_MB if args.server_cache_mb is None else args.server_cache_mb
    )
    if args.server_n_batch is not None:
        server.n_batch = args.server_n_batch
    try:
        server.start()
    except LocalModelError as exc:
        p.exit(1, f"the embedded server did not start: {exc}\n")
    port = _free_port()
    try:
        shim = start_shim(
            args.sotopia_python if args.sotopia_python.is_file() else Path(sys.executable),
            baseline, f"http://127.0.0.1:{server.port}", port, args.out / "shim.log",
        )  # fmt: skip
    except BaseException:
        server.stop()
        raise
    api_base = f"http://127.0.0.1:{port}/v1"
    stats_url = f"http://127.0.0.1:{port}/_shim/stats"
    runs: dict[str, list[dict[str, Any]]] = {"sotopia": [], "ours": []}
    report: dict[str, Any] = {
        "command": " ".join(
            ["python", "bench/eval_throughput.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "settings": f"{len(tasks)} tasks, concurrency {args.concurrency}, max turns {args.max_turns}, "
        f"server prompt cache {server.cache_mb} MiB, n_batch {server.batch_size}",
        "tasks": [t["codename"] for t in tasks],
        "server": {
            "n_ctx": server.n_ctx,
            "cache_mb": server.cache_mb,
            "n_batch": server.batch_size,
            "model": LOCAL_MODEL_ALIAS,
        },
        "runs": runs,
    }
    started = True  # the server was just started for the first run
    try:
        for k in range(max(args.sotopia_runs, args.ours_runs)):
            for runner, wanted in (("sotopia", args.sotopia_runs), ("ours", args.ours_runs)):
                if k >= wanted:
                    continue
                if not started:  # every run starts on a fresh server: no prompt cached by an earlier run
                    server.stop()
                    try:
                        server.start()
                    except LocalModelError as exc:
                        raise SystemExit(f"the embedded server did not restart: {exc}") from exc
                started = False
                out = args.out / f"{runner}-{k + 1}"
                before = shim_stats(stats_url)
                if runner == "sotopia":
                    run = run_sotopia(
                        args.sotopia_python, baseline, api_base, out, args, LOCAL_MODEL_ALIAS, len(tasks)
                    )
                else:
                    run = run_ours(api_base, dump, out, args)
                run.update(server_work(server.log_path.read_text(errors="replace")))
                run["server_peak_mb"] = peak_rss_mb(server.process.pid) if server.process else None
                runs[runner].append(with_rates(run, before, shim_stats(stats_url)))
                print(
                    f"{runner} run {k + 1}: {run['wall_s']:.1f} s, {run['episodes_per_min']:.2f} episodes/min, "
                    f"{run['turns_per_episode']:.2f} turns/episode, {run['valid_judgements']}/{run['episodes']} judged",
                    flush=True,
                )
                report["comparison"] = compare(runs)
                (args.out / "eval_throughput.json").write_text(json.dumps(report, indent=2))
    finally:
        shim.terminate()
        server.stop()
    print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
