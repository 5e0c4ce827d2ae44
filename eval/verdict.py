"""The judge's verdict format: one pydantic model per dimension set gives both the JSON schema the
judge is asked to follow and the validation of its reply.

A verdict maps ``agent_1``, ``agent_2``, ... to each dimension's ``["reasoning", N]`` (SOTOPIA's
shape, asked for by default) or ``{"reasoning": ..., "score": N}``, N a whole number inside the
dimension's range. Replies are read tolerantly where the meaning is
clear (agents keyed by name, keys in any case, ``[reasoning, score]`` pairs or a bare score,
numeric strings, whole floats) and refused with a message naming the agent and the dimension
otherwise (:class:`JudgementError`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, partial
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from agents.json_text import JSONTextError, json_value
from envs.types import DimensionScore


class Dimension(BaseModel):
    """One judged dimension: its integer range and what it measures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    low: int
    high: int
    description: str


class JudgementError(ValueError):
    """The judge's output is not a valid judgement (bad JSON, missing agent or dimension, out of range)."""


VerdictForm = Literal["pair", "object"]
"""How one dimension's entry is written: ``["reasoning", N]`` (``pair``, SOTOPIA's own shape, and
the shorter: about 8 fewer tokens per entry, 14 entries per two-agent judgement) or
``{"reasoning": "...", "score": N}`` (``object``)."""


def agent_key(index: int) -> str:
    """How the verdict names the agent presented ``index``-th (from 0): ``agent_1``, ``agent_2``, ..."""
    return f"agent_{index + 1}"


def _whole_score(dimension: Dimension, raw: Any) -> int:
    if isinstance(raw, bool):  # JSON true/false is not a score (float(True) == 1.0)
        raise ValueError(f"score {raw!r} is not a number")
    try:
        score = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"score {raw!r} is not a number") from None
    if not score.is_integer() or not dimension.low <= score <= dimension.high:
        raise ValueError(f"score {raw!r} is not an integer in [{dimension.low}, {dimension.high}]")
    return int(score)


class _DimensionVerdict(BaseModel):
    """One dimension's entry; a ``[reasoning, score]`` pair or a bare score reads as the object."""

    @model_validator(mode="before")
    @classmethod
    def _entry(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {"reasoning": value.get("reasoning", ""), "score": value.get("score")}
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"reasoning": value[0], "score": value[1]}
        return {"reasoning": "", "score": value}


class _AgentVerdict(BaseModel):
    """One agent's entries; dimension names are read in any case."""

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k).strip().lower(): v for k, v in value.items()}
        return value


def _as_text(value: Any) -> str:
    return str(value or "")


@cache
def verdict_model(
    dimensions: tuple[Dimension, ...],
    num_agents: int,
    reasoning_chars: int | None = 300,
    form: VerdictForm = "pair",
) -> type[BaseModel]:
    """The verdict model for these dimensions and agents (built once per combination).

    ``reasoning_chars`` caps each reasoning string in the schema only (None: no cap); replies with
    longer reasoning are still read. ``form`` is the entry shape the schema asks for (see
    :data:`VerdictForm`); replies in either shape are read.
    """
    cap = {"maxLength": reasoning_chars} if reasoning_chars is not None else {}
    reasoning = Annotated[str, BeforeValidator(_as_text), WithJsonSchema({"type": "string", **cap})]
    entries: dict[str, Any] = {}
    for d in dimensions:
        # enum too: llama.cpp's schema-to-grammar ignores minimum/maximum but honours enum
        allowed = {"minimum": d.low, "maximum": d.high, "enum": list(range(d.low, d.high + 1))}
        score = Annotated[
            int, BeforeValidator(partial(_whole_score, d)), WithJsonSchema({"type": "integer", **allowed})
        ]
        entry: Any = create_model(
            f"{d.name}_verdict", __base__=_DimensionVerdict, reasoning=reasoning, score=score
        )
        if form == "pair":
            pair = [{"type": "string", **cap}, {"type": "integer", **allowed}]
            entry = Annotated[entry, WithJsonSchema({"type": "array", "prefixItems": pair, "minItems": 2, "maxItems": 2})]
        entries[d.name] = (entry, ...)
    agent = create_model("AgentVerdict", __base__=_AgentVerdict, **entries)
    return create_model("Verdict", **{agent_key(i): (agent, ...) for i in range(num_agents)})


def judgement_schema(
    dimensions: Sequence[Dimension],
    num_agents: int,
    reasoning_chars: int | None = 300,
    form: VerdictForm = "pair",
) -> dict[str, Any]:
    """JSON schema of a verdict (:func:`verdict_model`'s, with its definitions inlined and no titles,
    the form constrained decoders such as llama.cpp read).

    On llama.cpp a reasoning cap becomes a grammar rule per character position, so it costs
    sampling time (``bench/judge_grammar.py``).
    """
    model = verdict_model(tuple(dimensions), num_agents, reasoning_chars, form)
    schema = model.model_json_schema(schema_generator=_InOrder)
    return _inlined(schema, schema.get("$defs", {}))


class _InOrder(GenerateJsonSchema):
    """Keys in the order they are written (pydantic sorts them): request caches key on the exact text."""

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        return value


def _inlined(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        return _inlined(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    return {
        key: {name: _inlined(sub, defs) for name, sub in value.items()}
        if key == "properties"
        else _inlined(value, defs)
        for key, value in node.items()
        if key not in ("title", "$defs")
    }


def parse_judgement(
    text: str, agent_names: Sequence[str], dimensions: Sequence[Dimension]
) -> dict[str, dict[str, DimensionScore]]:
    """Validate the judge's JSON; return agent name -> dimension -> score, or raise JudgementError.

    Agents may be keyed ``agent_1``/``agent_2`` or by their names. Scores must be numbers that are
    whole and inside the dimension's range; numeric strings (``"7"``) are accepted.
    """
    try:
        data = json_value(text)
    except JSONTextError as exc:
        raise JudgementError(str(exc)) from None
    if not isinstance(data, dict):
        raise JudgementError("the judgement must be a JSON object keyed by agent")
    lowered = {str(k).strip().lower(): v for k, v in data.items()}
    blocks: dict[str, Any] = {}
    for index, name in enumerate(agent_names):
        key = agent_key(index)
        block = next((lowered[k] for k in (key, name.lower(), f"{key}_evaluation") if k in lowered), None)
        if not isinstance(block, dict):
            raise JudgementError(f"missing evaluation for {key} ({name})")
        blocks[key] = block
    try:
        verdict = verdict_model(tuple(dimensions), len(agent_names)).model_validate(blocks)
    except ValidationError as exc:
        raise JudgementError(_describe(exc, agent_names)) from None
    result: dict[str, dict[str, DimensionScore]] = {}
    for index, name in enumerate(agent_names):
        agent = getattr(verdict, agent_key(index))
        result[name] = {
            d.name: DimensionScore(
                score=float(getattr(agent, d.name).score), reasoning=getattr(agent, d.name).reasoning
            )
            for d in dimensions
        }
    return result


def _describe(exc: ValidationError, agent_names: Sequence[str]) -> str:
    """The first problem, as ``agent_1 (Name): goal score 11 is not an integer in [0, 10]``."""
    error = exc.errors()[0]
    key, *path = (str(part) for part in error["loc"])
    who = f"{key} ({agent_names[int(key.split('_')[1]) - 1]})"
    if error["type"] == "missing" and len(path) == 1:
        return f"{who}: missing dimension {path[0]!r}"
    cause = error.get("ctx", {}).get("error")
    detail = str(cause) if cause is not None else error["msg"]
    return f"{who}: {path[0]} {detail}" if path else f"{who}: {detail}"
