"""Faults, measured: interactive evaluation and a GRPO rollout against a server failing a share of calls.

    python bench/faults.py [--shares 0 0.2 0.5] [--episodes 12] [--max-turns 4] [--seed 0]
                           [--rollout-scenarios 8] [--group 2]

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

The second table is a short GRPO rollout under the same server and client settings, in-process:
``training.rollout.TrajectoryRollout`` over ``--rollout-scenarios`` built-in scenarios, each task
twice (a group of ``--group``), with a canned SIP policy (no model; the embedded model's
tokenizer only), an ``openai/fake`` partner per row and an ``openai/fake`` goal judge. Per share:
rows back, scorable rows, unscorable rows with a reason on the row (``rollout_error`` or a failed
episode), rows unscorable because the judge failed (that reason is only in the episode handed to
``on_episode``, i.e. the training run's episode sink), fake partner acts (as above, on the
episodes handed to ``on_episode``), fake goal scores (a row's ``goal_score`` that no judge reply
carrying an issued token gave that role of that task) and lost rows (missing, or with neither a
score nor a reason anywhere).

Exit status 1 when any share of either section has a fake act, a fake judgement or score, or a
lost episode or row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
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

    def decide(self, messages: Any, seed: Any = None) -> tuple[str | None, str, bool]:
        """(fault kind or None, the request's token, whether it is a judge call); records the request.

        A call is its messages and, when the request names one, its sampling seed: two episodes of a
        GRPO group send the same first prompt with different seeds, and neither is a retry of the other.
        """
        identity = messages if seed is None else {"messages": messages, "seed": seed}
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
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
                kind, token, judge = owner.decide(messages, request.get("seed"))
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
                evaluation = episode.evaluation
                if evaluation is not None and evaluation.ok:
                    result.judged_ok += 1
                    tokens = set(TOKEN_RE.findall(evaluation.raw_text or ""))
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


def client_env(timeout_s: float, attempts: int) -> dict[str, str]:
    """The environment both sections run their model clients under: a fake key, short backoff and timeout."""
    return {
        "OPENAI_API_KEY": "sk-fault-bench-not-a-key",  # never send a real key to the fake server
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "SOCIALGYM_RETRY_ATTEMPTS": str(attempts),
        "SOCIALGYM_RETRY_BASE_DELAY_S": "0.05",
        "SOCIALGYM_RETRY_MAX_DELAY_S": "0.4",
        "SOCIALGYM_LLM_TIMEOUT_S": str(timeout_s),
    }


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
            **client_env(timeout_s, attempts),
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


# -- a short GRPO rollout under faults ---------------------------------------------------------------

POLICY_REPLY = (
    "<think>Cue Encoding: they asked. Cue Interpretation: they want help. Goal Clarification: "
    "get my goal. Response Generation: answer kindly.</think><Answer>Happy to talk about it.</Answer>"
)
"""The canned policy's every turn: a well-formed SIP reply, so the policy never fails to act."""


class CannedPolicy:
    """A :class:`training.rollout.PolicyGenerator` that answers every prompt with :data:`POLICY_REPLY`."""

    def __init__(self, tokenizer: Any, text: str = POLICY_REPLY) -> None:
        self.ids = [*tokenizer(text, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        self.calls = 0

    def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
        """One copy of the canned reply per prompt (no log-probs)."""
        self.calls += 1
        return [list(self.ids) for _ in prompt_ids], None


@functools.lru_cache(maxsize=1)
def policy_tokenizer() -> Any:
    """The embedded model's tokenizer, read from its GGUF file (no weights loaded)."""
    from transformers import AutoTokenizer

    from agents.local_model import gguf_path

    path = gguf_path()
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def rollout_tasks(scenarios: int, group: int, seed: int = 0) -> tuple[Any, list[str]]:
    """``scenarios`` built-in two-role scenarios (spread over the sorted library), one cast each
    drawn with ``seed``, the policy in role 0; every key repeated ``group`` times, as TRL's sampler does."""
    from scenarios import load_library
    from scenarios.graph import sample_setups
    from training.tasks import TaskRegistry

    library = load_library()
    ids = sorted(i for i, scenario in library.scenarios.items() if scenario.num_roles == 2)
    picked = ids[:: max(1, len(ids) // scenarios)][:scenarios]
    tasks = TaskRegistry()
    keys = tasks.add_social(sample_setups(library, scenario_id=picked, n=1, seed=seed), roles=(0,))
    return tasks, [key for key in keys for _ in range(group)]


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Any:
    """Set environment variables for the block, then put back what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending on the rollout's loop (litellm's logging worker), then close it."""
    with contextlib.suppress(Exception):
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


@contextlib.contextmanager
def _quiet_litellm() -> Any:
    """No "Give Feedback / Get Help" banner per failed call in the middle of the table (in-process runs)."""
    import litellm

    saved = litellm.suppress_debug_info
    litellm.suppress_debug_info = True
    try:
        yield
    finally:
        litellm.suppress_debug_info = saved


@dataclass
class RolloutResult:
    """One row of the rollout table."""

    share: float
    planned: int = 0
    rows: int = 0
    scorable: int = 0
    unscorable: int = 0  # with a reason: a rollout_error or a failed episode on the row
    judge_failed: int = 0  # finished but unjudged: the row's reason names the judge, the store holds its error
    fake_acts: int = 0
    fake_scores: int = 0
    lost: int = 0
    stored: int = 0
    requests: int = 0
    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # what TrajectoryRollout.run returned
    episodes: list[Any] = field(default_factory=list)  # what it handed to on_episode
    stats: FaultStats = field(default_factory=FaultStats)

    @property
    def ok(self) -> bool:
        """No fake partner act, no fake goal score, no lost row, and no row without a reason."""
        return not (self.fake_acts or self.fake_scores or self.lost or self.problems)


def run_rollout_share(
    share: float,
    *,
    scenarios: int = 8,
    group: int = 2,
    max_turns: int = 4,
    seed: int = 0,
    timeout_s: float = 2.0,
    attempts: int = 4,
    kinds: tuple[str, ...] = FAULTS,
) -> RolloutResult:
    """Run ``training.rollout.TrajectoryRollout`` over ``scenarios`` tasks x ``group``; audit what it returns.

    The policy is canned; the partner (``openai/fake``) and the goal judge are served by a
    :class:`FaultServer` failing ``share`` of calls.
    """
    from agents.specs import build_agent
    from eval.judge import SotopiaJudge
    from training.rollout import TrajectoryRollout

    result = RolloutResult(share=share)
    tokenizer = policy_tokenizer()
    tasks, keys = rollout_tasks(scenarios, group, seed)
    result.keys, result.planned = keys, len(keys)
    partners: list[Any] = []

    def partner_factory(task: Any) -> Any:
        # a seed per row: the two episodes of a group are two calls, not one call and its retry
        row_seed = seed + 1000 * len(partners)
        partner = build_agent("openai/fake", api_base=server.api_base, max_tokens=48, seed=row_seed)
        partners.append(partner)
        return partner

    server = FaultServer(share, seed=seed, kinds=kinds, client_timeout_s=timeout_s)
    with server, _environ(client_env(timeout_s, attempts)), _quiet_litellm():
        judge = SotopiaJudge("openai/fake", api_base=server.api_base, dimensions="goal")
        rollout = TrajectoryRollout(
            tasks, tokenizer, partner_factory,
            evaluator=judge, max_turns=max_turns, on_episode=result.episodes.append,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            result.fields = dict(rollout.run(keys, CannedPolicy(tokenizer)))
        except Exception as exc:  # the rollout must not raise: every failure belongs on its row
            result.problems.append(f"the rollout raised {type(exc).__name__}: {exc}")
        finally:
            result.wall_s = time.perf_counter() - started
            _close_loop(rollout.loop)
        server.stop()
    stats = result.stats = server.stats
    result.requests, result.retries, result.faults = stats.requests, stats.retries, stats.faults
    return audit_rollout(result, judge.dimensions)


def audit_rollout(result: RolloutResult, dimensions: Any) -> RolloutResult:
    """Count scorable rows, unscorable rows with a reason, fake partner acts, fake goal scores, lost rows.

    A goal score is genuine when a stored episode of the same task holds a judge reply that carries
    a token the server issued to a judge call and gives the policy's role that very score. A row
    that is neither scorable nor has a reason (a rollout error, a failed episode, or a stored episode
    of its task whose judgement failed with an error) is lost, and so is a row that never came back.
    """
    from envs.types import EpisodeStatus
    from eval.judge import JudgementError, parse_judgement

    fields, keys, stats = result.fields, result.keys, result.stats
    names = (
        "prompt_ids", "completion_ids", "env_mask", "scorable", "goal_score", "episode_status", "rollout_error",
    )  # fmt: skip
    lengths = {name: len(fields.get(name) or []) for name in names}
    result.rows = min(lengths.values())
    if set(lengths.values()) != {len(keys)}:
        result.problems.append(f"{len(keys)} keys, but row fields of lengths {lengths}")
    result.lost += len(keys) - result.rows
    result.stored = len(result.episodes)

    judged: dict[str, list[float]] = {}  # task key -> goal scores genuinely judged
    unjudged: dict[str, list[str]] = {}  # task key -> errors of judgements that failed
    seen_tokens: Counter[str] = Counter()
    for episode in result.episodes:
        key, learner = episode.metadata.task, episode.metadata.policy
        if episode.status is EpisodeStatus.running:
            result.lost += 1
            result.problems.append(f"episode {episode.id} ({key}) was handed over still running")
        evaluation = episode.evaluation
        raw = (evaluation.raw_text if evaluation is not None else None) or ""
        if evaluation is not None and evaluation.ok and set(TOKEN_RE.findall(raw)) & stats.judge_tokens:
            with contextlib.suppress(JudgementError, KeyError):
                judged.setdefault(key, []).append(
                    parse_judgement(raw, episode.setup.agent_names, dimensions)[learner]["goal"].score
                )
        elif episode.status is EpisodeStatus.finished and evaluation and (evaluation.error or "").strip():
            unjudged.setdefault(key, []).append(str(evaluation.error))
        for turn in episode.turns:
            if turn.agent == learner or turn.error:
                continue  # the canned policy's own turn, or a failure recorded as one
            tokens = TOKEN_RE.findall(turn.action.argument)
            issued = [t for t in tokens if t in stats.act_tokens and t in (turn.raw_text or "")]
            if len(issued) != 1:
                result.fake_acts += 1
                continue
            seen_tokens[issued[0]] += 1
    result.fake_acts += sum(n - 1 for n in seen_tokens.values() if n > 1)  # one reply played twice

    for i in range(result.rows):
        key, goal = keys[i], fields["goal_score"][i]
        error, status = str(fields["rollout_error"][i] or ""), fields["episode_status"][i]
        if goal is not None:
            if goal in judged.get(key, []):
                judged[key].remove(goal)
            else:
                result.fake_scores += 1
        if fields["scorable"][i]:
            if goal is None:
                result.problems.append(f"row {i} ({key}) is scorable without a goal score")
            result.scorable += 1
        elif error.startswith("judge gave no goal score") and unjudged.get(key):
            result.judge_failed += 1  # the row says why, and the store holds that failed judgement
            result.reasons[f"judge: {_reason(unjudged[key].pop())}"] += 1
        elif error.strip() or status == "failed":
            result.unscorable += 1
            result.reasons[_reason(error) if error.strip() else "failed, no text"] += 1
        else:
            result.lost += 1  # no score and no reason on the row
    return result


ROLLOUT_COLUMNS = (
    ("fail share", 10), ("rows", 4), ("scorable", 8), ("unscorable+reason", 17), ("judge failed", 12),
    ("fake acts", 9), ("fake scores", 11), ("lost", 4), ("stored", 6), ("requests", 8), ("retries", 7),
    ("wall s", 7),
)  # fmt: skip


def render_rollout(results: list[RolloutResult]) -> str:
    """The rollout table, then per share the faults injected and why rows are unscorable."""
    lines = ["  ".join(f"{name:>{width}}" for name, width in ROLLOUT_COLUMNS)]
    for r in results:
        values = (
            f"{r.share:.0%}", f"{r.rows}/{r.planned}", r.scorable, r.unscorable, r.judge_failed, r.fake_acts,
            r.fake_scores, r.lost, r.stored, r.requests, r.retries, f"{r.wall_s:.1f}",
        )  # fmt: skip
        cells = zip(values, ROLLOUT_COLUMNS, strict=True)
        lines.append("  ".join(f"{v!s:>{width}}" for v, (_, width) in cells))
    lines.append("")
    for r in results:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(r.faults.items())) or "none"
        reasons = ", ".join(f"{why} {n}" for why, n in r.reasons.most_common()) or "none"
        lines.append(f"{r.share:.0%}: faults injected: {faults}; unscorable rows: {reasons}")
        lines.extend(f"  PROBLEM: {p}" for p in r.problems)
    return "\n".join(lines)


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
    p.add_argument(
        "--rollout-scenarios", type=int, default=8, help="scenarios of the GRPO rollout section (0: skip it)"
    )
    p.add_argument("--group", type=_positive, default=2, help="episodes per rollout task (the GRPO group)")
    args = p.parse_args(argv)
    results = []
    for share in args.shares:
        result = run_share(
            share, episodes=args.episodes, max_turns=args.max_turns, seed=args.seed,
            concurrency=args.concurrency, timeout_s=args.timeout, out_dir=args.out,
        )  # fmt: skip
        results.append(result)
        print(f"share {share:.0%} done in {result.wall_s:.1f}s", file=sys.stderr, flush=True)
    rollouts = []
    for share in args.shares if args.rollout_scenarios > 0 else []:
        rollout = run_rollout_share(
            share, scenarios=args.rollout_scenarios, group=args.group, max_turns=args.max_turns,
            seed=args.seed, timeout_s=args.timeout,
        )  # fmt: skip
        rollouts.append(rollout)
        print(f"rollout share {share:.0%} done in {rollout.wall_s:.1f}s", file=sys.stderr, flush=True)
    print("eval.interactive under faults\n")
    print(render(results))
    if rollouts:
        print("\nGRPO rollout (training.rollout.TrajectoryRollout) under faults\n")
        print(render_rollout(rollouts))
    return 0 if all(r.ok for r in [*results, *rollouts]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
