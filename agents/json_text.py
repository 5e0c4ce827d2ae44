"""Pulling JSON out of model text: the one reader that agents, judges and reward judges share.

Models wrap JSON in code fences, put prose around it, nest objects, cut it off, or write Python
literals (single quotes, ``True``, trailing commas). :func:`json_value` reads the one value a reply
is meant to be (the judge's verdict, a reward judge's score); :func:`json_objects` finds every
object written anywhere in a reply, nested ones included (an agent's act may sit inside a wrapper).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON|javascript|python)?[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
"""A code fence (closed, or cut off at the end of the text); group 1 is its body."""

_FENCE_MARK_RE = re.compile(r"```[a-zA-Z]*")


_DECODER = json.JSONDecoder(strict=False)
"""Raw control characters (a newline) inside strings are accepted: llama.cpp's JSON grammars let
models write them, and the text is still unambiguous."""


class JSONTextError(ValueError):
    """The text holds no JSON value that can be read; the message says what was wrong."""


def fenced_blocks(text: str) -> list[str]:
    """The non-empty bodies of the code fences in ``text``, in order."""
    return [body for m in FENCE_RE.finditer(text) if (body := m.group(1).strip())]


def strip_fences(text: str) -> str:
    """``text`` without code-fence markers (```` ``` ```` and ```` ```json ````), stripped."""
    return _FENCE_MARK_RE.sub("", text).strip()


def json_value(text: str) -> Any:
    """The JSON value a reply holds: the whole reply (fences removed) when it is JSON, else the
    object that starts at its first ``{`` (prose around it is ignored).

    Raises :class:`JSONTextError`: ``no JSON object ...`` when there is no ``{``, ``malformed JSON:
    <reason> at position <n>`` when the object there does not decode.
    """
    cleaned = strip_fences(text or "")
    try:
        return _DECODER.decode(cleaned)
    except json.JSONDecodeError:
        pass
    start = cleaned.find("{")
    if start == -1:
        raise JSONTextError("no JSON object in the text")
    try:
        value, _ = _DECODER.raw_decode(cleaned, start)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"malformed JSON: {exc.msg} at position {exc.pos}") from None
    return value


def json_objects(text: str, *, lenient: bool = False) -> list[dict[Any, Any]]:
    """Every object literal in ``text`` that decodes, in order of where it starts (an enclosing
    object before the ones nested in it).

    With ``lenient``, an object that is not strict JSON is also read as a Python literal (single
    quotes, trailing commas, ``True``/``None``, JSON's ``true``/``null`` inside Python syntax).
    """
    found: list[dict[Any, Any]] = []
    for match in re.finditer(r"\{", text):
        start = match.start()
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            value = _python_object(text, start) if lenient else None
        if isinstance(value, dict):
            found.append(value)
    return found


def _python_object(text: str, start: int) -> Any:
    """The ``{...}`` at ``start`` read as a Python literal (or as JSON once trailing commas go), or None."""
    chunk = _balanced_object(text, start)
    if chunk is None:
        return None
    relaxed = re.sub(r",\s*([}\]])", r"\1", chunk)
    for candidate in (relaxed, re.sub(r"\btrue\b|\bfalse\b|\bnull\b", _py_literal, relaxed)):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
    try:
        return _DECODER.decode(relaxed)
    except json.JSONDecodeError:
        return None


def _balanced_object(text: str, start: int) -> str | None:
    """The ``{...}`` starting at ``start``, matching braces outside quoted strings."""
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _py_literal(match: re.Match[str]) -> str:
    return {"true": "True", "false": "False", "null": "None"}[match.group(0)]
