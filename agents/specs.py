"""Agent specs: the short strings that name an agent on the command line.

Accepted forms:

* ``human`` — play yourself in the terminal (:class:`~agents.human.HumanAgent`);
* ``local`` — the embedded SmolLM2 model (:class:`~agents.llm.LLMAgent`);
* ``sip:MODEL`` — SIP-structured reasoning (:class:`~agents.socialr1.SocialR1Agent`), where
  MODEL is ``local`` or a litellm model string;
* ``scripted:PATH_OR_TEXT`` — a fixed script (:class:`~agents.scripted.ScriptedAgent`): a file
  with one act per line, or acts separated by ``|``;
* ``MODEL`` — any litellm model string (``openai/gpt-4o``, ``anthropic/...``,
  ``hosted_vllm/...``, or ``openai/NAME`` / a bare ``NAME`` with ``api_base``), or a
  transformers checkpoint: a directory (a GRPO run's ``checkpoint-STEP``), ``hf:PATH_OR_HUB_ID``
  or ``transformers:...`` (served in-process by :mod:`agents.hf_backend`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agents.base import Agent
from agents.hf_backend import SPEC_PREFIXES as CHECKPOINT_PREFIXES
from agents.human import HumanAgent
from agents.llm import LLMAgent
from agents.scripted import ScriptedAgent
from agents.socialr1 import SocialR1Agent

ACCEPTED_FORMS = (
    "human",
    "local",
    "sip:MODEL (MODEL = local or a litellm model string)",
    "scripted:PATH_OR_TEXT (a file with one act per line, or acts separated by '|')",
    "MODEL (a litellm model string, e.g. openai/gpt-4o, anthropic/claude-3-5-sonnet-latest, "
    "hosted_vllm/NAME, or openai/NAME with --api-base)",
    "CHECKPOINT (a transformers checkpoint directory, hf:PATH_OR_HUB_ID or transformers:...)",
)

LLM_OPTIONS = frozenset({"api_key", "temperature", "max_tokens", "retry", "seed"})
"""Keyword options that only model-backed agents take; other agents ignore them."""

_PREFIX_RE = re.compile(r"^([A-Za-z_]+):")


class AgentSpecError(ValueError):
    """A malformed agent spec; the message lists the accepted forms."""

    def __init__(self, spec: str, reason: str) -> None:
        forms = "\n".join(f"  {form}" for form in ACCEPTED_FORMS)
        super().__init__(f"bad agent spec {spec!r}: {reason}. Accepted forms:\n{forms}")
        self.spec = spec


def _model_part(spec: str, model: str) -> str:
    model = model.strip()
    if not model:
        raise AgentSpecError(spec, "no model after the prefix")
    if model == "human":
        raise AgentSpecError(spec, "'human' is an agent, not a model")
    if model.startswith(CHECKPOINT_PREFIXES) or Path(model).expanduser().exists():
        return model  # a checkpoint (paths may contain spaces or colons)
    if any(ch.isspace() for ch in model):
        raise AgentSpecError(spec, "a model string has no spaces")
    if _PREFIX_RE.match(model):
        raise AgentSpecError(spec, f"unknown agent kind {model.split(':', 1)[0]!r}")
    return model


def _script_lines(spec: str, body: str) -> list[str]:
    body = body.strip()
    if not body:
        raise AgentSpecError(spec, "no script after 'scripted:'")
    path = Path(body).expanduser()
    if "|" not in body and "\n" not in body and path.is_file():
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
    else:
        lines = [part.strip() for part in body.split("|") if part.strip()]
    if not lines:
        raise AgentSpecError(spec, "the script has no lines")
    return lines


def _without(options: dict[str, Any], ignored: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key not in ignored}


def build_agent(spec: str, *, api_base: str | None = None, **kw: Any) -> Agent:
    """Build the agent a spec names (see the module docstring for the forms).

    ``api_base`` and ``kw`` (``temperature``, ``max_tokens``, ``retry``, ``seed``, ``api_key``,
    ``name``, and per-kind options such as ``stdin`` for ``human`` or ``then`` for ``scripted``)
    are passed to the agent; model options are ignored by ``human`` and ``scripted``.
    Raises :class:`AgentSpecError` for a malformed spec. Nothing is started here: a model is
    reached (and the embedded server started) on the first act.
    """
    raw = spec
    spec = (spec or "").strip()
    if not spec:
        raise AgentSpecError(raw, "the spec is empty")
    if spec == "human":
        return HumanAgent(**_without(kw, LLM_OPTIONS))
    if spec.startswith("scripted:"):
        return ScriptedAgent(_script_lines(raw, spec[len("scripted:") :]), **_without(kw, LLM_OPTIONS))
    if spec.startswith("sip:"):
        return SocialR1Agent(_model_part(raw, spec[len("sip:") :]), api_base=api_base, **kw)
    return LLMAgent(_model_part(raw, spec), api_base=api_base, **kw)
