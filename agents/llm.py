"""The LLM agent: any litellm model (or the embedded one) acting in a social episode.

One act is one chat call: the observation becomes a short prompt, the model is asked for a JSON
action (constrained decoding where the endpoint supports it), and the reply is read by a tolerant
parser. Transient failures are retried with backoff by :func:`agents.client.chat`; an empty reply
is retried here; a call that still fails raises :class:`~agents.base.AgentCallError`. No failure
is ever turned into a ``none`` action.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from agents import prompts
from agents.base import AgentCallError
from agents.client import ChatResult, Endpoint, LLMCallError, RetryPolicy, chat, resolve_endpoint
from agents.json_text import fenced_blocks, json_objects, strip_fences
from agents.sip import SIP
from envs.types import ActionType, AgentAction, Observation, Turn
from scenarios.schema import EpisodeSetup

# --------------------------------------------------------------------------------------------------
# Turn records


class AgentTurnRecord(Turn):
    """A :class:`~envs.types.Turn` plus what only the agent knows about how it was produced.

    The extra fields are diagnostics; everything the store and the rewards need is on ``Turn``
    (``raw_text`` holds the full output, so the SIP check can always be recomputed from it).
    """

    attempts: int = Field(1, description="Model calls made for this act (empty replies retried).")
    sip_ok: bool | None = Field(None, description="SIP agents: the output passed agents.sip.SIP.check.")
    sip_problems: list[str] = Field(default_factory=list, description="SIP agents: what SIP.check found.")


# --------------------------------------------------------------------------------------------------
# Reading actions from text


class EmptyOutputError(ValueError):
    """The model's reply held nothing that could be an act."""


def _norm_word(text: str) -> str:
    text = text.strip().strip("\"'`*[](){}<>.:;!").lower()
    if text.startswith("actiontype."):
        text = text[len("actiontype.") :]
    return " ".join(re.sub(r"[-_]+", " ", text).split())


_TYPE_WORDS: dict[str, ActionType] = {
    **dict.fromkeys(
        [
            "speak",
            "speaks",
            "say",
            "says",
            "talk",
            "talks",
            "speech",
            "reply",
            "respond",
            "utterance",
            "dialogue",
        ],
        ActionType.speak,
    ),
    **dict.fromkeys(
        [
            "non verbal communication",
            "non verbal",
            "nonverbal",
            "nonverbal communication",
            "non verbal action",
            "gesture",
            "body language",
            "expression",
        ],
        ActionType.non_verbal,
    ),
    **dict.fromkeys(["action", "act", "physical action", "do"], ActionType.action),
    **dict.fromkeys(["leave", "leaves", "exit", "quit", "end conversation", "goodbye"], ActionType.leave),
    **dict.fromkeys(["none", "nothing", "no action", "pass", "wait", "null"], ActionType.none),
}


def action_type_from_text(word: str) -> ActionType | None:
    """The action type a word or phrase names ("Speak", "say", "non-verbal", "ActionType.leave"), or None."""
    return _TYPE_WORDS.get(_norm_word(word))


def fit_to_available(action: AgentAction, available: list[ActionType]) -> tuple[AgentAction, bool]:
    """Map an act whose type is not available onto one that is; the bool says whether it changed.

    An act with text becomes speech (else a non-verbal act, else a physical action); an act
    without text becomes ``none`` when that is allowed; otherwise the first available type wins.
    """
    if not available or action.action_type in available:
        return action, False
    text = action.argument.strip()
    order = (
        [ActionType.speak, ActionType.non_verbal, ActionType.action]
        if text
        else [ActionType.none, ActionType.leave, ActionType.speak]
    )
    kind = next((k for k in order if k in available), prompts.ordered_actions(available)[0])
    argument = text if kind in (ActionType.speak, ActionType.non_verbal, ActionType.action) else ""
    return AgentAction(action_type=kind, argument=argument), True


_TYPE_KEYS = ("action_type", "actiontype", "action type", "type", "kind", "act", "action")
_ARG_KEYS = (
    "argument",
    "arguments",
    "arg",
    "args",
    "text",
    "content",
    "utterance",
    "message",
    "speech",
    "say",
    "response",
    "reply",
    "dialogue",
    "description",
    "value",
)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        strings = [v for v in value.values() if isinstance(v, str)]
        return strings[0].strip() if len(strings) == 1 else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value).strip()
    return str(value)


@dataclass(frozen=True)
class _Read:
    action: AgentAction
    clean: bool  # True when read from a well-formed action object


def _from_mapping(obj: dict[Any, Any]) -> _Read | None:
    """An act from a decoded JSON/Python object, or None when it does not look like one."""
    lowered = {_norm_word(str(k)).replace(" ", "_"): v for k, v in obj.items()}
    kind: ActionType | None = None
    kind_key = None
    for key in _TYPE_KEYS:
        value = lowered.get(key.replace(" ", "_"))
        if isinstance(value, str) and action_type_from_text(value) is not None:
            kind, kind_key = action_type_from_text(value), key.replace(" ", "_")
            break
    argument = next((_as_text(lowered[k]) for k in _ARG_KEYS if k in lowered and k != kind_key), None)
    if kind is not None:
        return _Read(AgentAction(action_type=kind, argument=argument or ""), clean=True)
    if len(lowered) == 1:  # {"speak": "Hello"}
        ((key, value),) = lowered.items()
        named = action_type_from_text(key)
        if named is not None:
            return _Read(AgentAction(action_type=named, argument=_as_text(value)), clean=True)
    if argument:  # an utterance with no (or an unknown) action type
        return _Read(AgentAction(action_type=ActionType.speak, argument=argument), clean=False)
    return None


_PARTIAL_TYPE_RE = re.compile(
    r"""["']?action[_ ]?type["']?\s*[:=]\s*["']([^"'\n]{1,40})["']?""", re.IGNORECASE
)
_PARTIAL_ARG_RE = re.compile(
    r"""["']?argument["']?\s*[:=]\s*(["'])((?:\\.|(?!\1).)*)""", re.IGNORECASE | re.DOTALL
)


def _from_fragments(text: str) -> AgentAction | None:
    """An act recovered from a broken or cut-off object (``{"action_type": "speak", "argument": "Hel``)."""
    kind_match = _PARTIAL_TYPE_RE.search(text)
    kind = action_type_from_text(kind_match.group(1)) if kind_match else None
    if kind is None:
        return None
    arg_match = _PARTIAL_ARG_RE.search(text)
    argument = ""
    if arg_match:
        raw = arg_match.group(2)
        try:
            argument = json.loads(f'"{raw}"')
        except json.JSONDecodeError:
            argument = raw.replace('\\"', '"')
    return AgentAction(action_type=kind, argument=argument.strip())


def _as_speech(text: str, name: str) -> str:
    """Plain text cleaned into an utterance: no fences, speaker prefix or wrapping quotes."""
    text = strip_fences(text)
    if name:
        text = re.sub(
            rf"^\s*(?:{re.escape(name)}|{re.escape(name.split()[0])})\s*(?:said|says)?\s*:\s*",
            "",
            text,
            flags=re.IGNORECASE,
        )
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def parse_action(
    text: str | None, available: list[ActionType], *, name: str = "", speech_ok: bool = False
) -> tuple[AgentAction, bool]:
    """Read one act from a model's reply; return it and whether a fallback was needed.

    Accepts a JSON object (inside code fences, with text around it, with single quotes or
    trailing commas, with action types in any case or as synonyms such as "say" or
    "nonverbal", with the argument missing). The fallback flag is True when the reply was not
    a well-formed action object (a cut-off object read in part, or plain text used as speech,
    with ``name``'s "Name said:" prefix removed) or when its action type was not available and
    had to be mapped (see :func:`fit_to_available`). With ``speech_ok`` plain text is a valid
    answer (speech), not a fallback. Raises :class:`EmptyOutputError` for a reply with no content.
    """
    stripped = (text or "").strip()
    searchable = [*fenced_blocks(stripped), stripped]
    read: _Read | None = None
    for chunk in searchable:
        for obj in json_objects(chunk, lenient=True):
            candidate = _from_mapping(obj)
            if candidate is not None and (read is None or (candidate.clean and not read.clean)):
                read = candidate
            if read is not None and read.clean:
                break
        if read is not None and read.clean:
            break
    if read is None:
        partial = _from_fragments(stripped)
        if partial is not None:
            read = _Read(partial, clean=False)
    if read is None:
        speech = _as_speech(stripped, name)
        if not speech or not any(ch.isalnum() for ch in speech):
            raise EmptyOutputError("the reply was empty")
        read = _Read(AgentAction(action_type=ActionType.speak, argument=speech), clean=speech_ok)
    action, changed = fit_to_available(read.action, available)
    return action, changed or not read.clean


# --------------------------------------------------------------------------------------------------
# The agent


@dataclass(frozen=True)
class Interpretation:
    """How an agent reads one reply: the act, whether a fallback was needed, any private reasoning."""

    action: AgentAction
    fallback: bool
    reasoning: str | None = None
    sip_ok: bool | None = None
    sip_problems: tuple[str, ...] = ()


class UnusableOutputError(ValueError):
    """A reply that cannot yield an act (empty, or reasoning without an answer): retried like a failed call."""


class LLMAgent:
    """An agent backed by one chat model, reached through litellm.

    ``endpoint_or_spec`` is an :class:`~agents.client.Endpoint` or a model spec (a litellm model
    string, or ``local`` for the embedded model); a spec is resolved on the first act, so
    building an agent never starts a server. ``retry`` governs both transport failures and
    empty replies.
    """

    structured: bool = True
    """Ask for a JSON action (constrained decoding where supported)."""
    default_max_tokens: int = 160
    """Reply budget when ``max_tokens`` is not given (SIP agents need room for their reasoning)."""

    def __init__(
        self,
        endpoint_or_spec: Endpoint | str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.7,
        max_tokens: int | None = None,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
        name: str = "",
    ) -> None:
        self._endpoint = endpoint_or_spec if isinstance(endpoint_or_spec, Endpoint) else None
        self.spec = (
            endpoint_or_spec.label if isinstance(endpoint_or_spec, Endpoint) else endpoint_or_spec.strip()
        )
        if not self.spec:
            raise ValueError("empty model spec: give a litellm model string (e.g. openai/gpt-4o) or 'local'")
        self.api_base = api_base
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens or self.default_max_tokens
        self.retry = retry or RetryPolicy()
        self.seed = seed
        self.name = name
        self.setup: EpisodeSetup | None = None
        self._last: AgentTurnRecord | None = None
        self._resolve_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    async def endpoint(self) -> Endpoint:
        """The resolved endpoint (resolving ``local`` starts the embedded server, off the event loop)."""
        if self._endpoint is None:
            async with self._resolve_lock:
                if self._endpoint is None:
                    self._endpoint = await asyncio.to_thread(
                        resolve_endpoint, self.spec, self.api_base, self.api_key
                    )
        return self._endpoint

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Start a new episode as ``name``."""
        self.setup = setup
        self.name = name
        self._last = None

    def last_turn_record(self) -> AgentTurnRecord | None:
        """The record of the most recent act, or None before the first.

        After a failed act the record describes the failure: ``error`` is set, ``raw_text`` holds
        the last unusable reply (if any), and its ``action`` is a ``none`` placeholder that was
        never played (the act raised :class:`AgentCallError`).
        """
        return self._last

    def messages(self, observation: Observation) -> list[dict[str, str]]:
        """The chat messages for one turn."""
        return prompts.action_messages(observation)

    def prefill_for(self, endpoint: Endpoint) -> str:
        """Text this agent's replies start with, written into the prompt (none for plain agents)."""
        return ""

    def interpret(self, text: str, observation: Observation) -> Interpretation:
        """Read the act from a reply; raise :class:`UnusableOutputError` when there is none.

        A leading ``<think>...</think>`` block (reasoning models) is kept as reasoning, never
        parsed as the act; an unclosed one leaves no act.
        """
        reasoning, rest = SIP.split_reasoning(text)
        try:
            action, fallback = parse_action(
                rest, observation.available_actions, name=self.name or observation.agent
            )
        except EmptyOutputError as exc:
            raise UnusableOutputError(str(exc)) from exc
        return Interpretation(action=action, fallback=fallback, reasoning=reasoning)

    async def act(self, observation: Observation) -> AgentAction:
        """One act: prompt, call (with retries), parse. Raises :class:`AgentCallError` on failure."""
        self._last = None
        results: list[ChatResult] = []
        try:
            endpoint = await self.endpoint()
        except Exception as exc:  # the embedded server could not start, a bad spec, ...
            raise self._failure(observation, results, f"cannot reach the model: {exc}") from exc
        messages = self.messages(observation)
        prefill = self.prefill_for(endpoint)
        schema = prompts.action_schema(observation.available_actions) if self.structured else None

        async def one_reply() -> tuple[ChatResult, Interpretation]:
            """One call (transport retries inside :func:`chat`) and its reading."""
            attempt = len(results) + 1
            try:
                result = await chat(
                    endpoint,
                    messages,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    json_schema=schema,
                    retry=self.retry,
                    seed=None if self.seed is None else self.seed + attempt - 1,
                    prefill=prefill,
                )
            except LLMCallError as exc:
                raise self._failure(observation, results, str(exc), exc.attempts) from exc
            results.append(result)
            try:
                return result, self.interpret(result.text, observation)
            except UnusableOutputError as exc:
                raise UnusableOutputError(f"{exc}: {_snippet(result.text)}") from exc

        try:  # an unusable reply is asked again with backoff; a failed call has already been retried
            result, reading = await self.retry.retrying(_unusable)(one_reply)
        except UnusableOutputError as exc:
            raise self._failure(
                observation, results, f"no usable reply after {len(results)} attempts; last: {exc}"
            ) from exc
        self._last = AgentTurnRecord(
            index=observation.turn,
            agent=observation.agent,
            action=reading.action,
            raw_text=result.text,
            reasoning=reading.reasoning,
            latency_s=sum(r.latency_s for r in results),
            prompt_tokens=_total(r.prompt_tokens for r in results),
            completion_tokens=_total(r.completion_tokens for r in results),
            parse_fallback=reading.fallback,
            attempts=sum(r.attempts for r in results),
            sip_ok=reading.sip_ok,
            sip_problems=list(reading.sip_problems),
        )
        return reading.action

    def _failure(
        self, observation: Observation, results: list[ChatResult], message: str, extra_attempts: int = 0
    ) -> AgentCallError:
        """Record a failed act (see :meth:`last_turn_record`) and build the error to raise."""
        text = f"{self.spec} ({observation.agent}, turn {observation.turn}): {message}"
        self._last = AgentTurnRecord(
            index=observation.turn,
            agent=observation.agent,
            action=AgentAction(action_type=ActionType.none),
            raw_text=results[-1].text if results else None,
            latency_s=sum(r.latency_s for r in results) if results else None,
            prompt_tokens=_total(r.prompt_tokens for r in results),
            completion_tokens=_total(r.completion_tokens for r in results),
            attempts=sum(r.attempts for r in results) + extra_attempts,
            error=text,
        )
        return AgentCallError(text)


def _unusable(exc: BaseException) -> bool:
    return isinstance(exc, UnusableOutputError)


def _total(values: Any) -> int | None:
    numbers = [v for v in values if v is not None]
    return sum(numbers) if numbers else None


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")
