"""A tiny OpenAI-compatible chat server on loopback whose replies are scripted per request.

Used to test the real litellm path (``openai/fake`` + ``api_base``) against rate limits, server
errors, garbage bodies, slow replies and odd model texts, and to count the requests made::

    with FakeLLMServer() as server:
        server.script(Reply.error(429), Reply.text('{"action_type": "speak", "argument": "Hi"}'))
        ...  # call with api_base=server.api_base
        assert server.count == 2
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted response: an HTTP status, a body (JSON or raw bytes) and a delay."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay_s: float = 0.0

    @classmethod
    def text(
        cls, content: str | None, *, delay_s: float = 0.0, prompt_tokens: int = 11, completion_tokens: int = 7
    ) -> Reply:
        """A successful chat completion whose message content is ``content``."""
        return cls(
            body={
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            delay_s=delay_s,
        )

    @classmethod
    def error(cls, status: int, message: str = "scripted failure") -> Reply:
        """An OpenAI-style error response with this HTTP status."""
        return cls(status=status, body={"error": {"message": message, "type": "fake_error", "code": status}})

    @classmethod
    def garbage(cls, status: int = 200) -> Reply:
        """A body that is not JSON at all."""
        return cls(status=status, raw=b"<html><body>upstream hiccup</body></html>")


@dataclass
class FakeLLMServer:
    """The server: ``script()`` queues replies; when the queue is empty, ``default`` is used."""

    default: Reply = field(default_factory=lambda: Reply.error(500, "script exhausted"))
    requests: list[dict[str, Any]] = field(default_factory=list)
    _queue: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        """The ``/v1`` base URL to hand to litellm."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def count(self) -> int:
        """Chat-completion requests received so far."""
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply) -> FakeLLMServer:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self.default

    def start(self) -> FakeLLMServer:
        """Listen on a free loopback port in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

            def _send(self, reply: Reply) -> None:
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                content_type = "text/html" if reply.raw is not None else "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._send(Reply(body={"object": "list", "data": [{"id": "fake", "object": "model"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    request = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    request = {"unparsed": raw.decode(errors="replace")}
                reply = owner._next(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self._send(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
