"""One way to call any chat model: litellm, with retries, backoff and honest failures.

Model strings are litellm's (``openai/gpt-4o``, ``anthropic/...``, ``hosted_vllm/...``,
``openai/NAME`` + ``api_base`` for any OpenAI-compatible server). The word ``local`` means the
embedded SmolLM2 model, served on loopback by :mod:`agents.local_model`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's background logger warns whenever a new event loop starts (each asyncio.run): noise here.
logging.getLogger("LiteLLM").setLevel(logging.ERROR)

LOCAL_SPEC = "local"


_SECRET_SHAPES = re.compile(
    r"(?:sk|pk|rk|sess|key)-[A-Za-z0-9_\-]{8,}"  # OpenAI/Anthropic-style keys (sk-..., sk-ant-...)
    r"|(?<=Bearer )[A-Za-z0-9._\-]{8,}"  # a bearer token echoed from a header
    r"|AIza[0-9A-Za-z_\-]{20,}"  # Google API keys
)
_SECRET_NAMES = re.compile(r"(?:KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with API keys removed: the given ``secrets``, the values of secret-named environment
    variables (``*_API_KEY``, ``*_TOKEN``, ...), and strings shaped like provider keys.

    Error texts end up in episode records, summaries and reports; a provider that echoes the key in
    its error message must not put it on disk.
    """
    values = {s for s in secrets if s and len(s) >= 6}
    values |= {v for k, v in os.environ.items() if _SECRET_NAMES.search(k) and v and len(v) >= 8}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return _SECRET_SHAPES.sub("[redacted]", text)


class LLMCallError(RuntimeError):
    """A model call failed for good (after retries, or with an error that retrying cannot fix).

    Its message never holds an API key (:func:`redact`).
    """

    def __init__(
        self, message: str, *, attempts: int = 1, retryable: bool = False, secret: str | None = None
    ) -> None:
        super().__init__(redact(message, secret))
        self.attempts = attempts
        self.retryable = retryable


def env_number(name: str, default: float) -> float:
    """A number from the environment variable ``name`` (``default`` when unset or empty).

    The retry and timeout defaults below read these, so a command line (``python -m
    eval.interactive`` ...) can be given short backoff and timeouts without a flag of its own:
    ``SOCIALGYM_RETRY_ATTEMPTS``, ``SOCIALGYM_RETRY_BASE_DELAY_S``, ``SOCIALGYM_RETRY_MAX_DELAY_S``,
    ``SOCIALGYM_LLM_TIMEOUT_S``.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter for transient failures (429, 5xx, timeouts, dropped connections).

    Defaults: 4 attempts, 0.5 s base delay, 20 s ceiling; each can be set by an environment
    variable (:func:`env_number`) for the policies built without arguments. :meth:`retrying` turns
    it into a tenacity loop.
    """

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default_factory=lambda: int(env_number("SOCIALGYM_RETRY_ATTEMPTS", 4)), ge=1)
    base_delay_s: float = Field(default_factory=lambda: env_number("SOCIALGYM_RETRY_BASE_DELAY_S", 0.5), ge=0)
    max_delay_s: float = Field(default_factory=lambda: env_number("SOCIALGYM_RETRY_MAX_DELAY_S", 20.0), ge=0)

    def retrying(self, retry: Callable[[BaseException], bool]) -> AsyncRetrying:
        """A tenacity loop: up to ``max_attempts`` attempts, retrying the errors ``retry`` accepts after a
        random wait up to ``base_delay_s * 2**(attempt - 1)`` (at most ``max_delay_s``); the last
        error is re-raised, as is any error ``retry`` refuses."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_random_exponential(multiplier=self.base_delay_s, max=self.max_delay_s),
            retry=retry_if_exception(retry),
            reraise=True,
        )


class Endpoint(BaseModel):
    """Where and how to reach one model."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="litellm model string")
    api_base: str | None = None
    api_key: str | None = None
    local: bool = Field(False, description="The embedded llama.cpp server (uses its JSON-schema mode).")
    backend: Literal["litellm", "transformers"] = Field(
        "litellm", description="Who serves calls: litellm, or agents.hf_backend (a checkpoint in-process)."
    )
    spec: str = Field("", description="What the user wrote (for logs and the store).")
    timeout_s: float = Field(
        default_factory=lambda: env_number("SOCIALGYM_LLM_TIMEOUT_S", 120.0),
        gt=0,
        description="Seconds one call may take (env SOCIALGYM_LLM_TIMEOUT_S; the embedded server: 600).",
    )
    max_concurrency: int | None = Field(
        None, description="Client-side cap on calls in flight (the embedded server has one slot)."
    )

    @property
    def label(self) -> str:
        """Short display name."""
        return self.spec or self.model


class ChatResult(BaseModel):
    """A successful completion."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float
    attempts: int = 1
    model: str = ""
    cached: bool = Field(False, description="Read from a ResponseCache: no call was made.")


_CACHE_KEY_FIELDS = ("model", "messages", "temperature", "max_tokens", "response_format", "seed", "stop")


Ask = Callable[[list[dict[str, str]]], Awaitable[str | ChatResult]]
"""Takes chat messages, returns the reply (an answer function such as ``eval.mcq.AnswerFn``)."""


class ResponseCache:
    """Replies stored by their exact request, on disk: litellm's ``Cache(type="disk")`` used directly.

    The one reply cache: the judge's (shared across runs, :func:`default_response_cache_dir`) and a
    benchmark run's (in its output folder, so a rerun asks only what is missing). The key is
    litellm's hash of the request's model, messages and sampling settings (:data:`_CACHE_KEY_FIELDS`)
    under a namespace: for :meth:`get`/:meth:`put` the caller's ``tag`` and the server (the embedded
    model counts as one server whatever port it has); for :meth:`wrap` the other settings that
    decide a reply. Callers decide what is worth keeping (a judge keeps only replies that parse as
    a judgement), so a rerun asks again for the rest; a reply is written when it arrives. litellm's
    own ``caching=True`` path is not used: it stores every reply, writes in the background after
    the call returns (lost if the process ends first) and, in litellm 1.106, imports its proxy
    server on a cache hit.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        import litellm

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._cache = litellm.Cache(type="disk", disk_cache_dir=str(self.directory))
        self.hits = 0
        self.misses = 0
        self.stored = 0

    def _key(self, endpoint: Endpoint, request: dict[str, Any], tag: str) -> dict[str, Any]:
        server = "embedded" if endpoint.local else endpoint.api_base or "provider"
        return _cache_key(request, f"{tag}|{server}")

    def _get(self, key: dict[str, Any]) -> ChatResult | None:
        found = self._cache.get_cache(**key)
        if not isinstance(found, dict):
            self.misses += 1
            return None
        self.hits += 1
        return ChatResult.model_validate({**found, "cached": True})

    def _put(self, key: dict[str, Any], result: ChatResult) -> None:
        self._cache.add_cache(result.model_dump_json(exclude={"cached"}), **key)
        self.stored += 1

    def get(self, endpoint: Endpoint, request: dict[str, Any], tag: str = "") -> ChatResult | None:
        """The stored reply to this request, or None."""
        return self._get(self._key(endpoint, request, tag))

    def put(self, endpoint: Endpoint, request: dict[str, Any], result: ChatResult, tag: str = "") -> None:
        """Store the reply to this request."""
        self._put(self._key(endpoint, request, tag), result)

    def wrap(self, ask: Ask, model: str, **settings: Any) -> Ask:
        """``ask`` answering from the cache when it can; every new reply is stored.

        ``model`` and ``settings`` must decide the reply together with the messages (no secrets:
        settings that litellm does not key on are written into the namespace in clear).
        """
        others = {k: v for k, v in settings.items() if k not in _CACHE_KEY_FIELDS}
        namespace = "answers|" + json.dumps(others, sort_keys=True, default=str)

        async def cached(messages: list[dict[str, str]]) -> ChatResult:
            key = _cache_key({"model": model, "messages": messages, **settings}, namespace)
            stored = self._get(key)
            if stored is not None:
                return stored
            reply = await ask(messages)
            result = reply if isinstance(reply, ChatResult) else ChatResult(text=reply, latency_s=0.0)
            self._put(key, result)
            return result

        return cached


def _cache_key(request: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {**{k: request[k] for k in _CACHE_KEY_FIELDS if k in request}, "cache": {"namespace": namespace}}


def default_response_cache_dir() -> Path:
    """``$SOCIALGYM_JUDGE_CACHE``, else ``judge-cache`` in the user cache (``~/.cache/socialgym``)."""
    from agents.local_model import default_cache_dir

    return Path(os.environ.get("SOCIALGYM_JUDGE_CACHE") or default_cache_dir() / "judge-cache")


def resolve_endpoint(spec: str, api_base: str | None = None, api_key: str | None = None) -> Endpoint:
    """Turn a model spec into an :class:`Endpoint`.

    ``local`` starts (or reuses) the embedded server; a transformers checkpoint directory (or
    ``hf:PATH_OR_HUB_ID`` / ``transformers:...``) is served in-process by :mod:`agents.hf_backend`;
    anything else is passed to litellm as is. A bare model name with ``api_base`` and no provider
    prefix is treated as an OpenAI-compatible server (``openai/NAME``).
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("empty model spec: give a litellm model string (e.g. openai/gpt-4o) or 'local'")
    if spec == LOCAL_SPEC:
        from agents.local_model import LOCAL_MODEL_ALIAS, local_api_base

        return Endpoint(
            model=f"openai/{LOCAL_MODEL_ALIAS}",
            api_base=local_api_base(),
            api_key="sk-local",
            local=True,
            spec=spec,
            timeout_s=600.0,
            max_concurrency=1,
        )
    from agents import hf_backend

    source = hf_backend.checkpoint_source(spec)
    if source is not None:
        return hf_backend.endpoint_for(spec, source)
    model = spec
    if api_base and "/" not in spec:
        model = f"openai/{spec}"
    key = api_key
    if api_base and key is None and model.startswith(("openai/", "hosted_vllm/")):
        key = os.environ.get("OPENAI_API_KEY", "sk-none")  # local OpenAI-compatible servers need any key
    return Endpoint(model=model, api_base=api_base, api_key=key, spec=spec)


def is_retryable(exc: BaseException) -> bool:
    """True for failures that may pass on retry: rate limits, server errors, timeouts, connections
    (litellm's exception types for them, Python's timeout and connection errors, and any error
    carrying an HTTP status of 429 or 5xx)."""
    if isinstance(exc, LLMCallError):
        return False  # already final
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    litellm = sys.modules.get("litellm")  # not imported yet: nothing raised can be one of its errors
    if litellm is not None and isinstance(
        exc,
        litellm.RateLimitError
        | litellm.APIConnectionError
        | litellm.Timeout
        | litellm.InternalServerError
        | litellm.ServiceUnavailableError
        | litellm.BadGatewayError,
    ):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


_semaphores: dict[tuple[int, str], asyncio.Semaphore] = {}


def _limiter(endpoint: Endpoint) -> asyncio.Semaphore | None:
    if not endpoint.max_concurrency:
        return None
    key = (id(asyncio.get_running_loop()), f"{endpoint.api_base}|{endpoint.model}")
    if key not in _semaphores:
        _semaphores[key] = asyncio.Semaphore(endpoint.max_concurrency)
    return _semaphores[key]


def response_format_for(
    endpoint: Endpoint, json_schema: dict[str, Any] | None, name: str = "response"
) -> Any:
    """The ``response_format`` that constrains output to ``json_schema`` on this endpoint, if any.

    llama-cpp-python's server rejects OpenAI's ``json_schema`` type but constrains decoding with
    ``{"type": "json_object", "schema": ...}``; providers that support structured output get the
    standard form; others get none (callers parse plain text tolerantly).
    """
    if json_schema is None:
        return None
    if endpoint.local:
        return {"type": "json_object", "schema": json_schema}
    try:
        import litellm

        supported = litellm.supports_response_schema(model=endpoint.model)
    except Exception:
        supported = False
    if supported:
        return {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema}}
    return None


async def chat(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int = 256,
    json_schema: dict[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    seed: int | None = None,
    stop: list[str] | None = None,
    prefill: str = "",
    cache: ResponseCache | None = None,
    cache_tag: str = "",
    keep: Callable[[ChatResult], bool] | None = None,
) -> ChatResult:
    """Call the model; retry transient failures with backoff; raise :class:`LLMCallError` otherwise.

    ``prefill`` is text the reply starts with, written after the chat template's assistant
    opening (the result's text begins with it); only the in-process transformers backend can
    continue a begun reply, so other endpoints refuse a non-empty prefill.

    With ``cache``, a request made before (same ``cache_tag``) is answered from it (``cached``
    True, no call); a new reply is stored when ``keep(result)`` is True (always without ``keep``).
    The in-process transformers backend is never cached.
    """
    if endpoint.backend == "transformers":  # json_schema cannot be enforced there: callers parse tolerantly
        from agents.hf_backend import chat_transformers

        return await chat_transformers(
            endpoint,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            retry=retry,
            seed=seed,
            stop=stop,
            prefill=prefill,
        )
    if prefill:
        raise ValueError(f"{endpoint.label}: a reply prefill needs a transformers checkpoint endpoint")
    import litellm

    policy = retry or RetryPolicy()
    kwargs: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "timeout": endpoint.timeout_s,
        "num_retries": 0,
    }
    if endpoint.api_base:
        kwargs["api_base"] = endpoint.api_base
    if endpoint.api_key:
        kwargs["api_key"] = endpoint.api_key
    if seed is not None:
        kwargs["seed"] = seed
    if stop:
        kwargs["stop"] = stop
    response_format = response_format_for(endpoint, json_schema)
    if response_format is not None:
        kwargs["response_format"] = response_format
    if cache is not None:
        hit = cache.get(endpoint, kwargs, cache_tag)
        if hit is not None:
            return hit
    limiter = _limiter(endpoint)

    async def attempt_once(attempt: int) -> ChatResult:
        if limiter is not None:
            async with limiter:
                started = time.perf_counter()
                response = await litellm.acompletion(**kwargs)
        else:
            started = time.perf_counter()
            response = await litellm.acompletion(**kwargs)
        text = _full_text(response.choices[0].message)
        if text is None:
            raise LLMCallError(f"{endpoint.label}: the model returned no text", attempts=attempt)
        usage = getattr(response, "usage", None)
        return ChatResult(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            latency_s=time.perf_counter() - started,
            attempts=attempt,
            model=endpoint.model,
        )

    result = await with_retries(endpoint, policy, attempt_once)
    if cache is not None and (keep is None or keep(result)):
        cache.put(endpoint, kwargs, result, cache_tag)
    return result


async def with_retries(
    endpoint: Endpoint, policy: RetryPolicy, attempt_once: Callable[[int], Awaitable[ChatResult]]
) -> ChatResult:
    """Run ``attempt_once(attempt)`` until it succeeds, backing off on transient errors (:func:`is_retryable`).

    :class:`LLMCallError` raised by the attempt passes through; a non-transient error becomes
    one at once; the last transient one becomes one after ``policy.max_attempts``.
    """
    retrying = policy.retrying(is_retryable)

    def attempts() -> int:
        return int(retrying.statistics.get("attempt_number", 1))

    async def attempt() -> ChatResult:
        return await attempt_once(attempts())

    try:
        return await retrying(attempt)
    except LLMCallError:
        raise
    except Exception as exc:  # providers raise many types: transient ones were retried above
        if not is_retryable(exc):
            raise LLMCallError(
                f"{endpoint.label}: {type(exc).__name__}: {_short(exc)}",
                attempts=attempts(),
                secret=endpoint.api_key,
            ) from exc
        raise LLMCallError(
            f"{endpoint.label}: gave up after {attempts()} attempts: {type(exc).__name__}: {_short(exc)}",
            attempts=attempts(),
            secret=endpoint.api_key,
            retryable=True,
        ) from exc


def _full_text(message: Any) -> str | None:
    """The reply as the model wrote it.

    litellm moves a leading ``<think>...</think>`` block into ``reasoning_content``; SIP agents
    and the rewards need the whole text, so the block is put back in front of the content.
    """
    content = getattr(message, "content", None)
    reasoning = getattr(message, "reasoning_content", None)
    if reasoning and (content is None or "<think>" not in content.lower()):
        return f"<think>{reasoning}</think>{content or ''}"
    return content


def _short(exc: BaseException | None, limit: int = 300) -> str:
    text = str(exc) if exc is not None else ""
    return text if len(text) <= limit else text[:limit] + "..."
