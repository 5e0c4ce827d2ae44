"""Replies already received, kept in a JSON-lines file so that a rerun asks the model only what is missing.

The key of a call is a hash of what decides its reply: the model spec, the sampling settings and
the messages. Each successful reply is appended (and flushed) as soon as it arrives; a failed call
is not stored, so a rerun asks again. A last line cut short by a crash is dropped with a warning.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.client import ChatResult

Ask = Callable[[list[dict[str, str]]], Awaitable[str | ChatResult]]
"""Takes chat messages, returns the reply (``eval.mcq.AnswerFn``)."""


class CachedReply(BaseModel):
    """One stored reply."""

    key: str
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0


def call_key(model: str, messages: list[dict[str, str]], **settings: Any) -> str:
    """A stable hash of the model spec, the settings that change a reply and the messages."""
    blob = json.dumps([model, sorted(settings.items()), messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ReplyCache:
    """The replies stored in ``path`` (created on first write), with counts of reuse this session."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.replies: dict[str, CachedReply] = {}
        self.reused = 0
        self.asked = 0
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                reply = CachedReply.model_validate_json(line)
            except ValidationError:
                if number == len(lines) or all(not rest.strip() for rest in lines[number:]):
                    warnings.warn(f"{self.path}: line {number} was cut short (a crash?); it is dropped",
                                  stacklevel=2)  # fmt: skip
                    continue
                raise ValueError(
                    f"{self.path}: line {number} is not a stored reply; delete the file to ask everything again"
                ) from None
            self.replies[reply.key] = reply

    def get(self, key: str) -> CachedReply | None:
        """The stored reply for ``key``, if any."""
        return self.replies.get(key)

    def put(self, key: str, result: ChatResult) -> None:
        """Store a reply (appended to the file at once)."""
        reply = CachedReply(
            key=key, text=result.text, prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens, latency_s=result.latency_s,
        )  # fmt: skip
        self.replies[key] = reply
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(reply.model_dump_json() + "\n")
            handle.flush()

    def wrap(self, ask: Ask, model: str, **settings: Any) -> Ask:
        """``ask`` answering from the cache when it can; new replies are stored."""

        async def cached(messages: list[dict[str, str]]) -> ChatResult:
            key = call_key(model, messages, **settings)
            stored = self.get(key)
            if stored is not None:
                self.reused += 1
                return ChatResult(
                    text=stored.text, prompt_tokens=stored.prompt_tokens,
                    completion_tokens=stored.completion_tokens, latency_s=stored.latency_s,
                )  # fmt: skip
            reply = await ask(messages)
            result = reply if isinstance(reply, ChatResult) else ChatResult(text=reply, latency_s=0.0)
            self.asked += 1
            self.put(key, result)
            return result

        return cached
