"""Append-only chat rendering, with the embedded model's template and with one that rewrites history."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agents.chat_format import ChatFormatError, ChatTokens

# Our own template that behaves like Qwen3's: an assistant turn that is not the last loses its
# <think> block, and the last assistant turn gets an empty one. Rendering a conversation whole
# therefore rewrites earlier turns when a new one is added.
HISTORY_REWRITING_TEMPLATE = (
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'assistant' -%}"
    "{%- set body = m['content'] -%}"
    "{%- if not loop.last and '</think>' in body -%}{%- set body = body.split('</think>')[-1].lstrip() -%}{%- endif -%}"
    "{%- if loop.last -%}{{ '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' + body + '<|im_end|>\\n' }}"
    "{%- else -%}{{ '<|im_start|>assistant\\n' + body + '<|im_end|>\\n' }}{%- endif -%}"
    "{%- else -%}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


@pytest.fixture(scope="module")
def smol() -> Any:
    from transformers import AutoTokenizer

    from agents.local_model import gguf_path

    path = gguf_path()
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def rewriting(tokenizer: Any) -> Any:
    """A copy of ``tokenizer`` with the history-rewriting template."""
    other = copy.deepcopy(tokenizer)
    other.chat_template = HISTORY_REWRITING_TEMPLATE
    return other


CONVERSATION = [
    {"role": "system", "content": "You are Ana."},
    {"role": "user", "content": "Hi, what do you want?"},
    {"role": "assistant", "content": "<think>\n1. Cue Encoding: a greeting.\n</think>\n<Answer>A ride.</Answer>"},
    {"role": "user", "content": 'Leo said: "Sure, when?"'},
    {"role": "assistant", "content": "<think>\n1. Cue Encoding: he agreed.\n</think>\n<Answer>At six.</Answer>"},
    {"role": "user", "content": 'Leo said: "Fine."'},
]


def test_template_rendering_is_append_only_for_the_embedded_model(smol: Any) -> None:
    chat = ChatTokens(smol)
    assert chat.render(CONVERSATION) == smol.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)


def test_a_history_rewriting_template_is_rendered_with_stable_history(smol: Any) -> None:
    tok = rewriting(smol)
    whole = tok.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
    assert "Cue Encoding" not in whole  # rendered whole, earlier replies lose their reasoning
    chat = ChatTokens(tok)
    text = chat.render(CONVERSATION)
    # every earlier context is a prefix of the later one, reasoning kept
    for k in (2, 4):
        assert text.startswith(chat.render(CONVERSATION[:k]))
    assert "Cue Encoding: a greeting" in text and "Cue Encoding: he agreed" in text
    # turn by turn, the way the rollout builds its token stream
    stream = chat.opening(CONVERSATION[:2])
    for reply, user in ((CONVERSATION[2], CONVERSATION[3]), (CONVERSATION[4], CONVERSATION[5])):
        stream += reply["content"] + chat.turn_suffix(user["content"])
    assert stream == text


def test_a_template_that_drops_replies_is_refused(smol: Any) -> None:
    tok = copy.deepcopy(smol)
    tok.chat_template = "{% for m in messages %}{% if m['role'] != 'assistant' %}{{ m['content'] }}{% endif %}{% endfor %}"
    with pytest.raises(ChatFormatError, match="drops or reorders"):
        ChatTokens(tok)


def test_render_refuses_turns_out_of_order(smol: Any) -> None:
    with pytest.raises(ChatFormatError, match="alternate"):
        ChatTokens(smol).render([*CONVERSATION[:3], CONVERSATION[2]])
