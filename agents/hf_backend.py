"""Serve a transformers checkpoint in-process, so a trained policy can act as an agent.

A GRPO run writes ``runs/grpo-*/checkpoint-STEP/`` (config, safetensors weights, tokenizer and
chat template; with LoRA, the adapters and tokenizer only: :mod:`agents.policy_checkpoint` loads
both kinds). :func:`agents.client.resolve_endpoint` turns such a directory (or ``hf:PATH``,
``hf:HUB_ID``, ``transformers:...``) into an :class:`~agents.client.Endpoint` with
``backend="transformers"``, and :func:`agents.client.chat` sends those calls here instead of to
litellm.

How a call is served:

* the model and tokenizer are loaded once per source per process (on CUDA when available, in
  the checkpoint's dtype; else on CPU in float32) and kept;
* the prompt is the tokenizer's chat template applied to the messages (a template that refuses
  a system role gets the system text folded into the first user message);
* generation runs in a worker thread (``asyncio.to_thread``), so the event loop keeps serving
  other agents; generation is serialized process-wide (one model call at a time: CPU cores and
  GPU memory are shared anyway, and seeded sampling stays reproducible because torch's global
  RNG is seeded under the same lock);
* ``temperature == 0`` is greedy decoding; otherwise plain temperature sampling (with the
  checkpoint's own ``top_p``/``top_k`` when its ``generation_config.json`` sets them);
* ``stop`` strings end generation and are cut from the text, as OpenAI-style servers do;
* ``json_schema`` cannot be enforced here and is ignored: callers already parse replies
  tolerantly. ``Endpoint.timeout_s`` is not enforced either: a running generation cannot be
  interrupted, it is bounded by ``max_tokens``.

torch and transformers (``pip install socialgym[train]``) are imported on the first call only.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.client import ChatResult, Endpoint, RetryPolicy, with_retries
from agents.policy_checkpoint import (
    CheckpointError,
    is_policy_checkpoint,
    load_policy_model,
    load_policy_tokenizer,
)

SPEC_PREFIXES = ("hf:", "transformers:")
"""Spec prefixes that name a checkpoint directory or a Hugging Face hub id explicitly."""

MODEL_PREFIX = "transformers/"
"""``Endpoint.model`` of a transformers endpoint is this prefix followed by the source."""


class HFBackendError(RuntimeError):
    """A checkpoint could not be loaded or used (missing files, no chat template, prompt too long)."""


# --------------------------------------------------------------------------------------------------
# Specs


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", ".", "~")) or Path(text).expanduser().exists()


def _checkpoint_dir(text: str, spec: str) -> str:
    """The absolute path of the checkpoint directory ``text`` names; ValueError when it is not one."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"model spec {spec!r}: no checkpoint directory at {path}")
    if not is_policy_checkpoint(path):
        checkpoints = sorted(
            (p for p in path.glob("checkpoint-*") if is_policy_checkpoint(p)),
            key=lambda p: (len(p.name), p.name),
        )
        hint = f"; the latest checkpoint inside is {checkpoints[-1]}" if checkpoints else ""
        raise ValueError(
            f"model spec {spec!r}: {path} is a directory but not a transformers checkpoint "
            f"(no config.json, no adapter_config.json){hint}"
        )
    return str(path.resolve())


def checkpoint_source(spec: str) -> str | None:
    """What a spec asks the transformers backend to load, or None when the spec is not for it.

    ``hf:X`` / ``transformers:X`` name a checkpoint directory (when X looks like a path or
    exists) or a hub id (otherwise); a bare spec that is an existing directory names a
    checkpoint. Directories come back as absolute paths. Raises ValueError for an empty source,
    a missing directory, or a directory with neither ``config.json`` nor ``adapter_config.json``.
    """
    spec = spec.strip()
    for prefix in SPEC_PREFIXES:
        if spec.startswith(prefix):
            source = spec[len(prefix) :].strip()
            if not source:
                raise ValueError(f"model spec {spec!r}: no path or hub id after {prefix!r}")
            return _checkpoint_dir(source, spec) if _looks_like_path(source) else source
    if spec and Path(spec).expanduser().is_dir():
        return _checkpoint_dir(spec, spec)
    return None


def endpoint_for(spec: str, source: str) -> Endpoint:
    """The :class:`~agents.client.Endpoint` that serves ``source`` with this backend."""
    return Endpoint(
        model=f"{MODEL_PREFIX}{source}",
        backend="transformers",
        spec=spec.strip(),
        timeout_s=600.0,
        max_concurrency=1,
    )


def source_of(endpoint: Endpoint) -> str:
    """The checkpoint path or hub id a transformers endpoint serves."""
    if not endpoint.model.startswith(MODEL_PREFIX):
        raise ValueError(f"not a transformers endpoint: {endpoint.model!r}")
    return endpoint.model[len(MODEL_PREFIX) :]


# --------------------------------------------------------------------------------------------------
# Loading


@dataclass
class LoadedModel:
    """A model and its tokenizer, ready to generate."""

    source: str
    model: Any
    tokenizer: Any
    device: str


_models: dict[str, LoadedModel] = {}
_load_lock = threading.Lock()
_generate_lock = threading.Lock()


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load(source: str) -> LoadedModel:
    """The model and tokenizer at ``source`` (a directory or hub id), loaded once per process."""
    cached = _models.get(source)
    if cached is not None:
        return cached
    with _load_lock:
        cached = _models.get(source)
        if cached is not None:
            return cached
        try:
            import torch
            import transformers  # noqa: F401
        except ImportError as exc:
            raise HFBackendError(
                "serving a checkpoint needs torch and transformers: `pip install socialgym[train]`"
            ) from exc
        device = _device()
        try:
            tokenizer = load_policy_tokenizer(source)
        except CheckpointError as exc:
            raise HFBackendError(str(exc)) from None
        if getattr(tokenizer, "chat_template", None) is None:
            raise HFBackendError(
                f"{source} has no chat template: copy the base model's tokenizer files "
                "(tokenizer_config.json, chat_template.jinja) into the checkpoint"
            )
        dtype: Any = "auto" if device == "cuda" else torch.float32
        try:
            model = load_policy_model(source, dtype=dtype)  # an adapter checkpoint comes merged into its base
        except CheckpointError as exc:
            raise HFBackendError(str(exc)) from None
        model.to(device)
        model.eval()
        loaded = LoadedModel(source=source, model=model, tokenizer=tokenizer, device=device)
        _models[source] = loaded
        return loaded


def unload(source: str | None = None) -> None:
    """Drop one cached model (or all of them) so its memory can be freed."""
    with _load_lock:
        if source is None:
            _models.clear()
        else:
            _models.pop(source, None)


# --------------------------------------------------------------------------------------------------
# Generating


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The conversation as text ending with the assistant's turn opening.

    Multi-turn conversations are rendered append-only (:class:`agents.chat_format.ChatTokens`),
    exactly as the GRPO rollout built them in training. A template that rejects the system role
    gets the system text prepended to the first user message instead.
    """
    from agents.chat_format import ChatFormatError, chat_tokens

    try:
        return chat_tokens(tokenizer).render(messages)
    except ChatFormatError:
        if not messages or messages[0].get("role") != "system":
            raise
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    if rest and rest[0].get("role") == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    else:
        rest.insert(0, {"role": "user", "content": system})
    return chat_tokens(tokenizer).render(rest)


def cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """``text`` up to the earliest stop string (excluded), and whether one was found."""
    positions = [i for i in (text.find(s) for s in stop or [] if s) if i >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


def _eos_ids(loaded: LoadedModel) -> list[int]:
    configured = loaded.model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    ids = [i for i in ids if i is not None]
    eos = loaded.tokenizer.eos_token_id
    if eos is not None and eos not in ids:
        ids.append(eos)
    return ids


def _generation_config(loaded: LoadedModel, temperature: float, max_new_tokens: int) -> Any:
    from transformers import GenerationConfig

    eos = _eos_ids(loaded)
    pad = loaded.tokenizer.pad_token_id
    common: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "eos_token_id": eos,
        "pad_token_id": pad if pad is not None else (eos[0] if eos else None),
    }
    if temperature <= 0:
        # Values equal to transformers' defaults, so the checkpoint's sampling settings neither
        # apply nor trigger "ignored flag" warnings.
        return GenerationConfig(do_sample=False, temperature=1.0, top_p=1.0, top_k=50, **common)
    own = loaded.model.generation_config
    return GenerationConfig(
        do_sample=True,
        temperature=temperature,
        top_p=own.top_p if own.top_p is not None else 1.0,
        top_k=own.top_k if own.top_k is not None else 0,
        **common,
    )


def _stop_criteria(loaded: LoadedModel, stop: list[str], prompt_len: int) -> Any:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    tokenizer = loaded.tokenizer

    class _StopOnStrings(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = [
                cut_at_stop(tokenizer.decode(row[prompt_len:], skip_special_tokens=True), stop)[1]
                for row in input_ids
            ]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_StopOnStrings()])


@dataclass(frozen=True)
class Generation:
    """One completion: the text and its token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int


def generate(
    source: str,
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int = 256,
    seed: int | None = None,
    stop: list[str] | None = None,
    prefill: str = "",
) -> Generation:
    """One completion from the checkpoint at ``source`` (blocking; loads the model if needed).

    ``prefill`` is written after the assistant opening and starts the returned text.
    """
    import torch

    loaded = load(source)
    tokenizer = loaded.tokenizer
    prompt = render_prompt(tokenizer, messages) + prefill
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(loaded.device)
    prompt_len = int(inputs["input_ids"].shape[1])
    limit = getattr(loaded.model.config, "max_position_embeddings", None)
    if isinstance(limit, int) and prompt_len >= limit:
        raise HFBackendError(f"the prompt has {prompt_len} tokens; {source} takes at most {limit}")
    max_new = max(1, min(max_tokens, limit - prompt_len) if isinstance(limit, int) else max_tokens)
    config = _generation_config(loaded, temperature, max_new)
    stops = [s for s in stop or [] if s]
    criteria = _stop_criteria(loaded, stops, prompt_len) if stops else None
    with _generate_lock, torch.inference_mode():
        if seed is not None:
            torch.manual_seed(seed)
        output = loaded.model.generate(**inputs, generation_config=config, stopping_criteria=criteria)
    new_tokens = output[0, prompt_len:].tolist()
    ends = {*_eos_ids(loaded), config.pad_token_id}
    while new_tokens and new_tokens[-1] in ends:
        new_tokens.pop()
    text, _ = cut_at_stop(tokenizer.decode(new_tokens, skip_special_tokens=True), stops)
    return Generation(text=prefill + text, prompt_tokens=prompt_len, completion_tokens=len(new_tokens))


_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _loop_lock() -> asyncio.Lock:
    """One lock per event loop, so waiting calls queue on the loop instead of holding worker threads."""
    loop = asyncio.get_running_loop()
    lock = _loop_locks.get(loop)
    if lock is None:
        lock = _loop_locks[loop] = asyncio.Lock()
    return lock


async def chat_transformers(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int = 256,
    retry: RetryPolicy | None = None,
    seed: int | None = None,
    stop: list[str] | None = None,
    prefill: str = "",
) -> ChatResult:
    """:func:`agents.client.chat` for a transformers endpoint: same result and failure semantics.

    Transient failures (:func:`agents.client.is_retryable`) are retried with the policy's
    backoff; anything else, and the last transient one, raises
    :class:`~agents.client.LLMCallError`.
    """
    source = source_of(endpoint)

    async def attempt_once(attempt: int) -> ChatResult:
        async with _loop_lock():
            await asyncio.to_thread(load, source)  # once per process; not part of the latency
            started = time.perf_counter()
            result = await asyncio.to_thread(
                generate,
                source,
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                stop=stop,
                prefill=prefill,
            )
        return ChatResult(
            text=result.text,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            latency_s=time.perf_counter() - started,
            attempts=attempt,
            model=endpoint.model,
        )

    return await with_retries(endpoint, retry or RetryPolicy(), attempt_once)
