"""Faults, measured: interactive evaluation against a model server that fails a set share of calls.

    python bench/faults.py [--shares 0 0.2 0.5] [--episodes 12] [--max-turns 4] [--seed 0]

A loopback OpenAI-compatible server (:class:`FaultServer`, 127.0.0.1 only, stops by itself)
answers the test model, the partner and the judge. A seeded share of its calls fails: 429, 500,
a hang past the client's timeout, a slow reply (under the timeout), an HTML body, truncated JSON,
or a connection dropped in the middle of the body. Each share runs the real command,
``python -m eval.interactive --model openai/fake --partner openai/fake --judge openai/fake
--api-base ...`` (short backoff and timeout through ``SOCIALGYM_RETRY_*`` and
``SOCIALGYM_LLM_TIMEOUT_S``), then reads its store and prints one row: episodes planned,
finished, failed with a reason, silent fake acts, fake judgements, lost episodes, retries made and
wall time.

Detecting a fake act: every good reply carries a token unique to that request (``ft-...``). A
stored turn that is not a recorded failure must hold, in its act and its raw text, a token the
server issued to an agent call, used by no other turn; anything else was invented somewhere
between the server and the store. A judgement stored as ok must hold a token issued to a judge
call. "Lost" counts planned episodes the store has neither as finished nor as failed with a reason.
Exit status 1 when any share has a fake act, a fake judgement or a lost episode.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# run as a script from a checkout: the repository root is importable even without `pip install -e .`
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

FAULTS = ("429", "500", "timeout", "slow", "garbage", "truncated", "drop")
"""Fault kinds, drawn uniformly for a call that fails."""
TOKEN_RE = re.compile(r"ft-[0-9a-f]{12}-\d+")
JUDGE_MARK = "You evaluate a social interaction"  # the judge's system prompt (eval.judge.judge_messages)
MAX_BODY = 4_000_000


@dataclass
class FaultStats:
    """What the server saw and did (read after the run; guarded by the server's lock while it runs)."""

    requests: int = 0
    calls: set[str] = field(default_factory=set)
    faults: Counter[str] = field(default_factory=Counter)
    act_tokens: set[str] = field(default_factory=set)
    judge_tokens: set[str] = field(default_factory=set)

    @property
    def retries(self) -> int:
        """Requests beyond the first for the same call (same messages asked again)."""
        return self.requests - len(self.calls)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (after a dropped or timed-out reply) is expected here, not an error."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FaultServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that fails ``share`` of its calls.

    The fate of a request is a function of (``seed``, its messages, how often they were asked
    before), so a run's faults do not depend on the order concurrent requests arrive in. The
    server shuts itself down after ``lifetime_s`` or ``max_requests`` requests, and every wait
    inside it is bounded.
    """

    def __init__(
        self,
        share: float,
        *,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULTS,
        client_timeout_s: float = 2.0,
        slow_s: float = 0.3,
        lifetime_s: float = 900.0,
        max_requests: int = 20_000,
    ) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"share must be in [0, 1], got {share}")
        unknown = set(kinds) - set(FAULTS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be among {FAULTS}, got {kinds}")
        self.share = share
        self.seed = seed
        self.kinds = tuple(kinds)
        self.hang_s = client_timeout_s * 1.5 + 0.5  # past the client's timeout, then answered anyway
        self.slow_s = min(slow_s, client_timeout_s / 3)
        self.lifetime_s = lifetime_s
        self.max_requests = max_requests
        self.stats = FaultStats()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._watchdog: threading.Timer | None = None
        self._asked: dict[str, int] = {}

    @property
    def api_base(self) -> str:
        """The ``/v1`` base URL to hand to litellm."""
        if self._server is None:
            raise RuntimeError("the fault server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- deciding ------------------------------------------------------------------------------

    def decide(self, messages: Any) -> tuple[str | None, str, bool]:
        """(fault kind or None, the request's token, whether it is a judge call); records the request."""
        key = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        judge = _is_judge(messages)
        with self._lock:
            self.stats.requests += 1
            asked = self._asked.get(key, 0)
            self._asked[key] = asked + 1
            self.stats.calls.add(key)
            rng = random.Random(f"{self.seed}:{key}:{asked}")
            kind = rng.choice(self.kinds) if rng.random() < self.share else None
            token = f"ft-{key[:12]}-{asked}"
            if kind is not None:
                self.stats.faults[kind] += 1
            if kind in (None, "slow"):
                (self.stats.judge_tokens if judge else self.stats.act_tokens).add(token)
            over = self.stats.requests >= self.max_requests
        if over:
            threading.Thread(target=self.stop, daemon=True).start()
        return kind, token, judge

    # -- serving -------------------------------------------------------------------------------

    def start(self) -> FaultServer:
        """Listen on a free loopback port in daemon threads; the watchdog stops it after ``lifetime_s``."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # a client that stops sending mid-request is dropped

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY:
                    self.close_connection = True
                    self._send(413, _error(413, "no usable Content-Length, or a request too large"))
                    return
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except (json.JSONDecodeError, UnicodeDecodeError):
                    self._send(400, _error(400, "the request is not JSON"))
                    return
                messages = request.get("messages") if isinstance(request, dict) else None
                if not isinstance(messages, list):
                    self._send(400, _error(400, "no messages"))
                    return
                kind, token, judge = owner.decide(messages)
                good = _completion(_judge_text(messages, token) if judge else _act_text(token))
                with contextlib.suppress(OSError):  # the client gave up (timeout) or the fault closed the socket
                    owner._answer(self, kind, good)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._watchdog = threading.Timer(self.lifetime_s, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def _answer(self, handler: Any, kind: str | None, good: bytes) -> None:
        if kind == "429":
            handler._send(429, _error(429, "rate limited (fault bench)"))
        elif kind == "500":
            handler._send(500, _error(500, "internal error (fault bench)"))
        elif kind == "garbage":
            handler._send(200, b"<html><body>502 upstream hiccup</body></html>", "text/html")
        elif kind == "truncated":
            handler._send(200, good[: len(good) // 2])
        elif kind == "drop":  # headers promise the whole body; half of it comes, then the socket closes
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(good)))
            handler.end_headers()
            handler.wfile.write(good[: len(good) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        else:
            if kind in ("timeout", "slow"):
                self._stopping.wait(self.hang_s if kind == "timeout" else self.slow_s)
            handler._send(200, good)

    def stop(self) -> None:
        """Shut the server down (idempotent; also called by the watchdog and the request cap)."""
        self._stopping.set()
        with self._lock:
            server, self._server = self._server, None
        if self._watchdog is not None:
            self._watchdog.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_judge(messages: list[Any]) -> bool:
    first = messages[0] if messages else None
    return isinstance(first, dict) and str(first.get("content", "")).startswith(JUDGE_MARK)


def _error(status: int, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "fault_bench", "code": status}}).encode()


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30},
        }
    ).encode()


def _act_text(token: str) -> str:
    return json.dumps({"action_type": "speak", "argument": f"Let us keep talking ({token})."})


_RUBRIC_RE = re.compile(r"^- (\w+) \((-?\d+) to (-?\d+)\)", re.MULTILINE)


def _judge_text(messages: list[Any], token: str) -> str:
    """A valid judgement for the dimensions and agents the judge's prompt names, reasoning carrying ``token``."""
    system = str(messages[0].get("content", ""))
    keys = sorted(set(re.findall(r"agent_\d+", system)), key=lambda k: int(k.split("_")[1])) or ["agent_1", "agent_2"]
    rng = random.Random(token)
    block = {
        name: {"reasoning": f"Judged ({token}).", "score": rng.randint(int(low), int(high))}
        for name, low, high in _RUBRIC_RE.findall(system)
    }
    return json.dumps(dict.fromkeys(keys, block))


# -- one run per share -----------------------------------------------------------------------------


@dataclass
class ShareResult:
    """One row of the table."""

    share: float
    planned: int = 0
    finished: int = 0
    failed: int = 0
    fake_acts: int = 0
    fake_judgements: int = 0
    lost: int = 0
    judged_ok: int = 0
    requests: int = 0
    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)
    out: Path | None = None  # the run folder (deleted after the run when no out_dir was given)
    plan: list[str] = field(default_factory=list)
    stats: FaultStats = field(default_factory=FaultStats)

    @property
    def ok(self) -> bool:
        """No fake act, no fake judgement, no lost episode, and the command ended as documented."""
        return not (self.fake_acts or self.fake_judgements or self.lost or self.problems)


def interactive_args(api_base: str, out: Path, *, episodes: int, max_turns: int, seed: int, concurrency: int) -> list[str]:
    """The ``python -m eval.interactive`` arguments of one run: 12 built-in scenarios, one cast each."""
    return [
        "--model", "openai/fake", "--partner", "openai/fake", "--judge", "openai/fake",
        "--api-base", api_base, "--partner-api-base", api_base, "--judge-api-base", api_base,
        "--scenarios", "sotopia", "--limit", str(episodes), "--episodes-per-scenario", "1",
        "--max-turns", str(max_turns), "--seed", str(seed), "--concurrency", str(concurrency),
        "--judge-attempts", "2", "--out", str(out),
    ]  # fmt: skip


def _text(value: str | bytes | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def _reason(error: str) -> str:
    """A short class for a failure text: what the client gave up on, else the first error named in it."""
    gave_up = re.search(r"gave up after (\d+) attempts: (\w+)", error)
    if gave_up:
        return f"{gave_up.group(2)} x{gave_up.group(1)}"
    names = re.findall(r"\b([A-Z]\w+(?:Error|Exception|Timeout))\b", error)
    names = [n for n in names if n not in ("TurnError", "AgentCallError")]
    return names[0] if names else (" ".join(error.split()[:4])[:40] or "?")


def planned_ids(args: list[str]) -> list[str]:
    """The episode ids ``python -m eval.interactive ARGS`` plans (its own planning code, run here)."""
    from eval.interactive import build_judge, build_parser, config_from_args, plan_run

    config = config_from_args(build_parser().parse_args(args))
    return [item.episode_id for item in plan_run(config, build_judge(config))]


def audit(result: ShareResult, out: Path, plan: list[str], stats: FaultStats) -> ShareResult:
    """Count, from the run folder's store, finished, failed-with-a-reason, lost, fake acts and judgements."""
    from envs.types import EpisodeStatus
    from eval.store import EpisodeStore

    seen_tokens: Counter[str] = Counter()
    with EpisodeStore(out, create=False) as store:
        for episode_id in plan:
            episode = store.get(episode_id)
            if episode is None or episode.status is EpisodeStatus.running:
                result.lost += 1
                continue
            if episode.status is EpisodeStatus.failed:
                if not (episode.error or "").strip():
                    result.lost += 1  # failed, but nobody can tell why
                    continue
                result.failed += 1
                result.reasons[_reason(episode.error or "")] += 1
            else:
                result.finished += 1
                evaluation = episode.evaluation or {}
                if evaluation.get("ok"):
                    result.judged_ok += 1
                    tokens = set(TOKEN_RE.findall(str(evaluation.get("raw_text") or "")))
                    if not tokens & stats.judge_tokens:
                        result.fake_judgements += 1
            for turn in episode.turns:
                if turn.error:
                    continue  # a failure, recorded as one
                tokens = TOKEN_RE.findall(turn.action.argument)
                issued = [t for t in tokens if t in stats.act_tokens and t in (turn.raw_text or "")]
                if len(issued) != 1:
                    result.fake_acts += 1
                    continue
                seen_tokens[issued[0]] += 1
    result.fake_acts += sum(n - 1 for n in seen_tokens.values() if n > 1)  # one reply played twice
    return result


def run_share(
    share: float,
    *,
    episodes: int = 12,
    max_turns: int = 4,
    seed: int = 0,
    concurrency: int = 4,
    timeout_s: float = 2.0,
    attempts: int = 4,
    kinds: tuple[str, ...] = FAULTS,
    out_dir: Path | None = None,
    command_timeout_s: float = 600.0,
) -> ShareResult:
    """Run ``eval.interactive`` against a :class:`FaultServer` failing ``share`` of calls; audit its store."""
    result = ShareResult(share=share)
    with contextlib.ExitStack() as stack:
        if out_dir is None:
            out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faults-")))
        out = out_dir / f"share-{round(share * 100):02d}"
        server = stack.enter_context(
            FaultServer(
                share, seed=seed, kinds=kinds, client_timeout_s=timeout_s, lifetime_s=command_timeout_s + 60
            )
        )
        args = interactive_args(
            server.api_base, out, episodes=episodes, max_turns=max_turns, seed=seed, concurrency=concurrency
        )
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-fault-bench-not-a-key",  # never send a real key to the fake server
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "SOCIALGYM_RETRY_ATTEMPTS": str(attempts),
            "SOCIALGYM_RETRY_BASE_DELAY_S": "0.05",
            "SOCIALGYM_RETRY_MAX_DELAY_S": "0.4",
            "SOCIALGYM_LLM_TIMEOUT_S": str(timeout_s),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "eval.interactive", *args],
                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=command_timeout_s,
            )  # fmt: skip
            result.exit_code = done.returncode
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            result.exit_code = -1
            output = f"timed out after {command_timeout_s}s: {_text(exc.stdout)}{_text(exc.stderr)}"
        result.wall_s = time.perf_counter() - started
        server.stop()
        stats = result.stats = server.stats
        result.requests, result.retries, result.faults = stats.requests, stats.retries, stats.faults
        plan = result.plan = planned_ids(args)
        result.planned, result.out = len(plan), out
        if not (out / "episodes.sqlite").exists():
            result.problems.append(f"no store written; exit {result.exit_code}: {output[-2000:]}")
            result.lost = len(plan)
            return result
        audit(result, out, plan, stats)
        expected = 0 if result.finished == result.planned else 1
        if result.exit_code != expected:
            result.problems.append(f"exit {result.exit_code}, expected {expected}: {output[-2000:]}")
    return result


# -- the table -------------------------------------------------------------------------------------

COLUMNS = (
    ("fail share", 10), ("planned", 7), ("finished", 8), ("failed+reason", 13), ("fake acts", 9),
    ("fake judgements", 15), ("lost", 4), ("judged ok", 9), ("requests", 8), ("retries", 7), ("wall s", 7),
)  # fmt: skip


def render(results: list[ShareResult]) -> str:
    """The table, then per share the faults injected and the failure reasons."""
    lines = ["  ".join(f"{name:>{width}}" for name, width in COLUMNS)]
    for r in results:
        values = (
            f"{r.share:.0%}", r.planned, r.finished, r.failed, r.fake_acts, r.fake_judgements, r.lost,
            r.judged_ok, r.requests, r.retries, f"{r.wall_s:.1f}",
        )  # fmt: skip
        lines.append("  ".join(f"{v!s:>{width}}" for v, (_, width) in zip(values, COLUMNS, strict=True)))
    lines.append("")
    for r in results:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(r.faults.items())) or "none"
        reasons = ", ".join(f"{why} {n}" for why, n in r.reasons.most_common()) or "none"
        lines.append(f"{r.share:.0%}: faults injected: {faults}; episode failures: {reasons}")
        lines.extend(f"  PROBLEM: {p}" for p in r.problems)
    return "\n".join(lines)


def _share(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a share is in [0, 1] (or 0%..100%)")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive whole number")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """``python bench/faults.py``: print the table; exit 1 on any fake act, fake judgement or lost episode."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shares", nargs="+", type=_share, default=[0.0, 0.2, 0.5], help="failure shares")
    p.add_argument("--episodes", type=_positive, default=12, help="episodes per share (one per scenario)")
    p.add_argument("--max-turns", type=_positive, default=4, help="turns per episode")
    p.add_argument("--seed", type=int, default=0, help="seed of the faults and the casts")
    p.add_argument("--concurrency", type=_positive, default=4, help="episodes at a time")
    p.add_argument("--timeout", type=float, default=2.0, help="client timeout per call, seconds")
    p.add_argument("--out", type=Path, default=None, help="keep the run folders here (default: a temp dir)")
    args = p.parse_args(argv)
    results = []
    for share in args.shares:
        result = run_share(
            share, episodes=args.episodes, max_turns=args.max_turns, seed=args.seed,
            concurrency=args.concurrency, timeout_s=args.timeout, out_dir=args.out,
        )  # fmt: skip
        results.append(result)
        print(f"share {share:.0%} done in {result.wall_s:.1f}s", file=sys.stderr, flush=True)
    print(render(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
