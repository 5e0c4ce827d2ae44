"""Append-only chat rendering: the one way a policy's multi-turn context becomes text and token ids.

A tokenizer's chat template renders a whole conversation at once, and some templates rewrite
earlier turns when a new one is added (Qwen3-style templates drop the ``<think>`` block of every
assistant turn but the last, and give the last an empty one). A policy trained on whole episodes
must see, at turn k, exactly the tokens it generated at turns < k. So the context is built once
and then only appended to:

    render([system, user_1, assistant_1, user_2, ...]) =
        template([system, user_1]) + generation prompt
        + assistant_1 + turn_suffix(user_2) + assistant_2 + turn_suffix(user_3) + ...

where ``turn_suffix(u)`` is the template's own text between an assistant reply and the opening of
the next reply (end of turn, the user turn ``u``, the assistant header), derived from the template
by rendering a probe. For a template that does not rewrite history (SmolLM2, Llama, ...) this is
exactly ``template(messages)``; for one that does, it is the stable-history rendering TRL uses for
training. The GRPO rollout, the SFT warm-up and the in-process transformers backend all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_USER = "\x00USERTURN\x00"
_REPLY = "\x00REPLY\x00"


class ChatFormatError(ValueError):
    """The tokenizer's chat template cannot be used for multi-turn policy contexts."""


class ChatTokens:
    """Append-only rendering and tokenization of a policy's conversation (see the module docstring)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        probe = [{"role": "user", "content": "u"}, {"role": "assistant", "content": _REPLY}]
        try:
            full = tokenizer.apply_chat_template(
                [*probe, {"role": "user", "content": _USER}], tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:
            raise ChatFormatError(f"the tokenizer's chat template cannot render a conversation: {exc}") from exc
        if _REPLY not in full or _USER not in full or full.index(_REPLY) > full.index(_USER):
            raise ChatFormatError(
                "the tokenizer's chat template drops or reorders an assistant reply followed by a user turn"
            )
        # everything after the reply: end of the assistant turn, the user turn, the next assistant opening
        self._suffix = full[full.index(_REPLY) + len(_REPLY) :]
        eos = tokenizer.eos_token or ""
        self._eos_text = eos if eos and self._suffix.startswith(eos) else ""
        self.eos_ids = {i for i in [tokenizer.eos_token_id] if i is not None}

    def opening(self, messages: Sequence[dict[str, str]]) -> str:
        """The template's text for the conversation's opening (up to the first reply) with the generation prompt."""
        try:
            return str(self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True))
        except Exception as exc:  # jinja2 raises whatever the template raises
            raise ChatFormatError(f"the tokenizer's chat template rejected the conversation: {exc}") from exc

    def turn_suffix(self, user_text: str, previous_ended_with_eos: bool = False) -> str:
        """Text that closes an assistant reply (unless EOS already did), adds a user turn, opens the next reply."""
        rendered = self._suffix.replace(_USER, user_text)
        if previous_ended_with_eos and self._eos_text:
            rendered = rendered[len(self._eos_text) :]
        return rendered

    def render(self, messages: Sequence[dict[str, str]]) -> str:
        """The whole conversation as the policy sees it, ready for its next reply (append-only, see above).

        ``messages`` are system/user turns up to the first assistant reply, then alternating
        assistant and user turns, ending with a user turn.
        """
        messages = list(messages)
        first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), len(messages))
        text = self.opening(messages[:first])
        rest = messages[first:]
        if len(rest) % 2:
            raise ChatFormatError("after the opening, assistant and user turns must alternate, ending with a user turn")
        for reply, user in zip(rest[::2], rest[1::2], strict=True):
            if reply["role"] != "assistant" or user["role"] != "user":
                raise ChatFormatError("after the opening, assistant and user turns must alternate")
            text += reply["content"] + self.turn_suffix(user["content"])
        return text

    def encode(self, text: str) -> list[int]:
        """Token ids of rendered text (the template already holds any special tokens)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Token ids of a conversation opening, ready for the assistant's first turn."""
        return self.encode(self.opening(messages))

    def feedback(self, text: str, previous_ended_with_eos: bool) -> list[int]:
        """Ids that close the assistant turn (unless EOS already did), add a user turn, open the next reply."""
        return self.encode(self.turn_suffix(text, previous_ended_with_eos))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids without special tokens."""
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))


def chat_tokens(tokenizer: Any) -> ChatTokens:
    """The :class:`ChatTokens` of ``tokenizer``, built once per chat template (the probe is not redone per call)."""
    template = getattr(tokenizer, "chat_template", None)
    cached = getattr(tokenizer, "_socialgym_chat_tokens", None)
    if cached is None or cached[0] != template or cached[1].tokenizer is not tokenizer:
        cached = (template, ChatTokens(tokenizer))
        tokenizer._socialgym_chat_tokens = cached
    return cached[1]
