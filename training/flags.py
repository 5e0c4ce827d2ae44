"""Command-line flags made from a pydantic model's fields: one flag per field, no second list to keep in step.

``--max-steps 7`` sets ``max_steps``; booleans get ``--lora/--no-lora``; lists take one or more values
(``--mcq generated hi-tom:PATH``, or the flag repeated); ``none`` clears an optional field
(``--judge none``). A flag that is not given leaves no attribute on the namespace
(``argparse.SUPPRESS``), so :func:`given_fields` returns exactly what the user typed, and the
preset and the config file below the flags keep their values.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

NONE_WORD = "none"
"""The value that clears an optional field from the command line."""


def flag_of(field: str) -> str:
    """The flag of a field: ``max_steps`` -> ``--max-steps``."""
    return "--" + field.replace("_", "-")


def add_model_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    parsers: Mapping[str, Callable[[str], Any]] | None = None,
    skip: Collection[str] = (),
) -> None:
    """Add a flag for every field of ``model`` (except ``skip``), its ``dest`` the field name.

    ``aliases`` gives fields extra flags (``{"learning_rate": ["--lr"]}``); a flag an alias claims is
    taken away from the field it would otherwise name, and a field left with no flag gets none (a
    config file still sets it). ``parsers`` replaces the value parser of a field (text -> value).
    """
    aliases = aliases or {}
    parsers = parsers or {}
    claimed = {option for options in aliases.values() for option in options}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        options = [o for o in (flag_of(name),) if o not in claimed or o in aliases.get(name, ())]
        options += [o for o in aliases.get(name, ()) if o not in options]
        if options:
            parser.add_argument(
                *options,
                dest=name,
                default=argparse.SUPPRESS,
                help=_help(info),
                **_value_spec(info, parsers.get(name)),
            )


def given_fields(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields the command line set (``None``: cleared with ``none``), by name."""
    return {name: value for name, value in vars(args).items() if name in model.model_fields}


def _help(info: FieldInfo) -> str:
    return (info.description or "").replace("%", "%%")


def _value_spec(info: FieldInfo, parse: Callable[[str], Any] | None) -> dict[str, Any]:
    """argparse's ``type``/``nargs``/``action``/``choices`` for a field's annotation."""
    kinds, optional = union_members(info.annotation)
    if parse is not None:
        return {"type": parse, "metavar": _METAVARS.get(kinds[0], "VALUE")}
    if kinds == [bool]:
        return {"action": argparse.BooleanOptionalAction}
    if len(kinds) == 1 and get_origin(kinds[0]) is Literal:
        choices = [*get_args(kinds[0]), *([None] if optional else [])]  # "none" is parsed to None first
        return {"choices": choices, "type": _scalar(str, optional)}
    if len(kinds) == 1 and kinds[0] in (int, float, str):
        return {"type": _scalar(kinds[0], optional), "metavar": _METAVARS[kinds[0]]}
    lists = [k for k in kinds if get_origin(k) is list]
    if lists:
        item = (get_args(lists[0]) or (str,))[0]
        action = _OneOrMany if str in kinds else "extend"
        return {
            "nargs": "+",
            "action": action,
            "type": _scalar(item, False),
            "metavar": _METAVARS.get(item, "VALUE"),
        }
    if len(kinds) == 1 and get_origin(kinds[0]) is tuple:
        items = get_args(kinds[0])
        return {
            "nargs": len(items),
            "type": _scalar(items[0], False),
            "metavar": _METAVARS.get(items[0], "VALUE"),
        }
    return {"type": _yaml_value(optional), "metavar": "YAML"}


_METAVARS: dict[Any, str] = {int: "INT", float: "FLOAT", str: "TEXT"}


def union_members(annotation: Any) -> tuple[list[Any], bool]:
    """The non-None members of an annotation's union, and whether None is one of them."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = list(get_args(annotation))
        return [m for m in members if m is not type(None)], type(None) in members
    return [annotation], False


def _scalar(kind: type, optional: bool) -> Callable[[str], Any]:
    """A value parser for ``kind``: argparse reports its ArgumentTypeError after the flag's name."""
    word = {int: "an integer", float: "a number", str: "text"}.get(kind, kind.__name__)

    def parse(text: str) -> Any:
        if optional and text.strip().lower() == NONE_WORD:
            return None
        try:
            return kind(text)
        except ValueError:
            other = f" or {NONE_WORD!r}" if optional else ""
            raise argparse.ArgumentTypeError(f"expected {word}{other}, got {text!r}") from None

    return parse


def _yaml_value(optional: bool) -> Callable[[str], Any]:
    """A parser for structured values (a mapping, for example), written as YAML or JSON."""

    def parse(text: str) -> Any:
        if optional and text.strip().lower() == NONE_WORD:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise argparse.ArgumentTypeError(
                f"expected a YAML or JSON value, got {text!r} ({problem})"
            ) from None

    return parse


class _OneOrMany(argparse.Action):
    """For ``list[str] | str`` fields: one value stays a string (``all-linear``), several are a list."""

    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        setattr(namespace, self.dest, values[0] if len(values) == 1 else list(values))
