"""The scenario library: scenarios, characters, relationships and fixed pairings, by id.

A :class:`ScenarioLibrary` is what the loaders build and what the sampler and the environments
read. Every id (scenario, character, relationship, pairing) is unique across the whole library and
remembers where it was defined (:class:`Origin`), so that any problem can be reported as
``file: entry (id 'x'): field -> what is wrong and what is expected``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from scenarios.schema import (
    AgentProfile,
    EpisodeSetup,
    Goal,
    Pairing,
    Relationship,
    RelationshipType,
    Scenario,
)


class LibraryError(ValueError):
    """A library cannot do what was asked (unknown id, a cast that does not fit a scenario)."""


class ScenarioFileError(LibraryError):
    """Invalid scenario data; each problem names the file, the entry and the field.

    ``problems`` holds one line per problem; the message is those lines joined by newlines.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    @classmethod
    def from_validation_error(
        cls, error: ValidationError, origin: Origin, model: type[BaseModel]
    ) -> ScenarioFileError:
        """Turn pydantic's error list into one readable line per invalid field."""
        details = [_describe_error(err, model) for err in error.errors(include_url=False)]
        return cls([f"{origin}: {detail}" for detail in details])


def display_path(path: Path) -> str:
    """A path as shown in messages: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Origin:
    """Where an entry was defined: a file (as displayed) and the entry inside it."""

    file: str
    entry: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}"

    @classmethod
    def of(cls, file: str, entry: str, entry_id: object = None) -> Origin:
        """An origin whose entry label carries the entry's id when it has one."""
        if isinstance(entry_id, str | int) and str(entry_id):
            entry = f"{entry} (id {str(entry_id)!r})"
        return cls(file, entry)


@dataclass
class ScenarioLibrary:
    """Scenarios, characters, relationships and fixed pairings, with where each came from.

    ``sources`` maps every id to its :class:`Origin`; relationships and pairings may have no id,
    so their origins are also kept in ``relationship_origins`` / ``pairing_origins`` (same order
    as the lists). ``notes`` holds remarks from importers (for example how many SOTOPIA pairings
    had no relationship record of their scenario's type).
    """

    scenarios: dict[str, Scenario] = field(default_factory=dict)
    characters: dict[str, AgentProfile] = field(default_factory=dict)
    relationships: list[Relationship] = field(default_factory=list)
    pairings: list[Pairing] = field(default_factory=list)
    sources: dict[str, Origin] = field(default_factory=dict)
    relationship_origins: list[Origin] = field(default_factory=list)
    pairing_origins: list[Origin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------------------- building

    def _claim(self, item_id: str, origin: Origin) -> None:
        previous = self.sources.get(item_id)
        if previous is not None:
            raise ScenarioFileError(
                f"{origin}: id -> duplicate id {item_id!r}, already defined at {previous}; "
                "ids must be unique across scenarios, characters, relationships and pairings"
            )
        self.sources[item_id] = origin

    def add_scenario(self, scenario: Scenario, origin: Origin) -> None:
        """Add one scenario (its id must be new)."""
        self._claim(scenario.id, origin)
        self.scenarios[scenario.id] = scenario

    def add_character(self, character: AgentProfile, origin: Origin) -> None:
        """Add one character (its id must be new)."""
        self._claim(character.id, origin)
        self.characters[character.id] = character

    def add_relationship(self, relationship: Relationship, origin: Origin) -> None:
        """Add one relationship (its id, if any, must be new)."""
        if relationship.id is not None:
            self._claim(relationship.id, origin)
        self.relationships.append(relationship)
        self.relationship_origins.append(origin)

    def add_pairing(self, pairing: Pairing, origin: Origin) -> None:
        """Add one fixed pairing (its id, if any, must be new)."""
        if pairing.id is not None:
            self._claim(pairing.id, origin)
        self.pairings.append(pairing)
        self.pairing_origins.append(origin)

    def merge(self, other: ScenarioLibrary) -> ScenarioLibrary:
        """A new library holding both; a duplicate id is an error naming both places."""
        merged = ScenarioLibrary()
        problems: list[str] = []

        def attempt(add: Any, item: Any, origin: Origin) -> None:
            try:
                add(item, origin)
            except ScenarioFileError as exc:
                problems.extend(exc.problems)

        for library in (self, other):
            for scenario_id, scenario in library.scenarios.items():
                attempt(merged.add_scenario, scenario, library.origin_of(scenario_id))
            for agent_id, character in library.characters.items():
                attempt(merged.add_character, character, library.origin_of(agent_id))
            for relationship, origin in library.relationship_entries():
                attempt(merged.add_relationship, relationship, origin)
            for pairing, origin in library.pairing_entries():
                attempt(merged.add_pairing, pairing, origin)
            merged.notes.extend(library.notes)
        if problems:
            raise ScenarioFileError(problems)
        return merged

    def origin_of(self, item_id: str) -> Origin:
        """Where an id was defined (``<unknown>`` for items added without an origin)."""
        return self.sources.get(item_id, Origin("<unknown>", f"id {item_id!r}"))

    def relationship_entries(self) -> list[tuple[Relationship, Origin]]:
        """Each relationship with where it was defined."""
        return _with_origins(self.relationships, self.relationship_origins, "relationships")

    def pairing_entries(self) -> list[tuple[Pairing, Origin]]:
        """Each fixed pairing with where it was defined."""
        return _with_origins(self.pairings, self.pairing_origins, "pairings")

    # ----------------------------------------------------------------------------- checking

    def check_references(self, context: ScenarioLibrary | None = None) -> None:
        """Raise :class:`ScenarioFileError` listing every dangling or inconsistent reference.

        Relationships must name two known characters, and one pair may hold at most one record of
        each type; pairings must name a known scenario and as many distinct known characters as it
        has roles. Ids are also looked up in ``context`` (for example the built-in library when
        checking a user's file that uses built-in characters).
        """
        characters = dict(context.characters) if context else {}
        characters.update(self.characters)
        scenarios = dict(context.scenarios) if context else {}
        scenarios.update(self.scenarios)
        problems: list[str] = []
        seen: dict[tuple[frozenset[str], RelationshipType], Origin] = {}
        for relationship, origin in self.relationship_entries():
            for i, agent_id in enumerate(relationship.agents):
                if agent_id not in characters:
                    problems.append(f"{origin}: agents[{i}] -> {_unknown('character', agent_id, characters)}")
            key = (frozenset(relationship.agents), relationship.type)
            if key in seen:
                problems.append(
                    f"{origin}: type -> {relationship.agents[0]!r} and {relationship.agents[1]!r} already "
                    f"have a {relationship.type.value!r} relationship at {seen[key]}; give one record per "
                    "pair and type"
                )
            else:
                seen[key] = origin
        for pairing, origin in self.pairing_entries():
            scenario = scenarios.get(pairing.scenario)
            if scenario is None:
                problems.append(f"{origin}: scenario -> {_unknown('scenario', pairing.scenario, scenarios)}")
            elif len(pairing.agents) != scenario.num_roles:
                problems.append(
                    f"{origin}: agents -> scenario {scenario.id!r} has {scenario.num_roles} roles but "
                    f"{len(pairing.agents)} characters are listed; give one character per role, in role order"
                )
            for i, agent_id in enumerate(pairing.agents):
                if agent_id not in characters:
                    problems.append(f"{origin}: agents[{i}] -> {_unknown('character', agent_id, characters)}")
            if len(set(pairing.agents)) != len(pairing.agents):
                problems.append(f"{origin}: agents -> the same character is listed twice: {pairing.agents}")
        if problems:
            raise ScenarioFileError(problems)

    # ----------------------------------------------------------------------------- queries

    def scenario(self, scenario_id: str) -> Scenario:
        """The scenario with this id, or a :class:`LibraryError` suggesting close ids."""
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            raise LibraryError(_unknown("scenario", scenario_id, self.scenarios)) from None

    def character(self, agent_id: str) -> AgentProfile:
        """The character with this id, or a :class:`LibraryError` suggesting close ids."""
        try:
            return self.characters[agent_id]
        except KeyError:
            raise LibraryError(_unknown("character", agent_id, self.characters)) from None

    def by_tag(self, tag: str) -> list[str]:
        """Ids of the scenarios carrying ``tag``, in library order."""
        return [scenario_id for scenario_id, scenario in self.scenarios.items() if tag in scenario.tags]

    def hard(self) -> list[str]:
        """Ids of the scenarios tagged ``hard``."""
        return self.by_tag("hard")

    def relationships_between(self, a: str, b: str) -> list[Relationship]:
        """Every recorded relationship between two characters (either order)."""
        pair = {a, b}
        return [r for r in self.relationships if set(r.agents) == pair]

    def fixed_pairings(self, scenario_id: str) -> list[Pairing]:
        """The fixed casts recorded for one scenario (SOTOPIA's env-agent combos), in file order."""
        return [p for p in self.pairings if p.scenario == scenario_id]

    # ----------------------------------------------------------------------------- episodes

    def setup(self, scenario_id: str, agent_ids: Sequence[str], seed: int | None = None) -> EpisodeSetup:
        """Everything an environment needs for one episode of ``scenario_id`` with this cast.

        ``agent_ids`` is in role order. A fixed pairing of the library is trusted as published (its
        pairing id is recorded); any other cast must satisfy the role constraints and have the
        relationship type the scenario requires of each pair. Each pair's relationship is the recorded
        one of that type; when there is none, a stranger pair (or a fixed pairing) gets a
        synthesised one with an empty background. A group (3+ roles) carries every pair's in
        ``relationships``; ``relationship`` is always the first two roles'.
        """
        scenario = self.scenario(scenario_id)
        agents = [self.character(agent_id) for agent_id in agent_ids]
        if len(agents) != scenario.num_roles:
            raise LibraryError(
                f"scenario {scenario.id!r} has {scenario.num_roles} roles but {len(agents)} characters "
                "were given; give one character per role, in role order"
            )
        if len({a.id for a in agents}) != len(agents):
            raise LibraryError(f"the same character appears twice in one cast: {list(agent_ids)}")
        pairing = next((p for p in self.fixed_pairings(scenario.id) if p.agents == list(agent_ids)), None)
        if pairing is None:
            for role, agent in enumerate(agents):
                if not scenario.admits(role, agent):
                    raise LibraryError(
                        f"character {agent.id!r} ({agent.age}, {agent.occupation}) may not play role "
                        f"{role} of scenario {scenario.id!r}: {describe_constraint(scenario, role)}"
                    )
        relationships = self._relationships_for(scenario, [a.id for a in agents], fixed=pairing is not None)
        return EpisodeSetup(
            scenario=scenario,
            agents=agents,
            relationship=relationships[0],
            relationships=relationships if len(agents) > 2 else [],
            pairing_id=pairing.id if pairing else None,
            seed=seed,
        )

    def _relationships_for(self, scenario: Scenario, cast: list[str], fixed: bool) -> list[Relationship]:
        """One relationship per pair of roles, in pair order ((0, 1), (0, 2), ..., (1, 2), ...).

        Each is the recorded one of the type the scenario requires of that pair; when there is
        none, a stranger pair (or a fixed pairing) gets a synthesised one with an empty background.
        """
        relationships: list[Relationship] = []
        for i, a in enumerate(cast):
            for j in range(i + 1, len(cast)):
                b = cast[j]
                wanted = scenario.relationship_of(i, j)
                recorded = self.relationships_between(a, b)
                record = next((r for r in recorded if r.type == wanted), None)
                if (
                    record is None
                    and not fixed
                    and not (wanted is RelationshipType.stranger and not recorded)
                ):
                    have = ", ".join(sorted(r.type.value for r in recorded)) or "none recorded"
                    roles = f" (roles {i} and {j})" if len(cast) > 2 else ""
                    raise LibraryError(
                        f"scenario {scenario.id!r} needs a {wanted.value!r} relationship but {a!r} and {b!r}"
                        f"{roles} have: {have}"
                    )
                if record is None:
                    relationships.append(Relationship(agents=(a, b), type=wanted, background=""))
                else:
                    relationships.append(
                        Relationship(
                            id=record.id, agents=(a, b), type=record.type, background=record.background
                        )
                    )
        return relationships

    # ----------------------------------------------------------------------------- summary

    def count_setups(self, pool: ScenarioLibrary | None = None) -> int:
        """How many distinct (scenario, cast) setups the sampler can produce.

        Per scenario: its fixed pairings when it has any (SOTOPIA: 5 each, 450 in all), otherwise
        its eligible casts (see :func:`scenarios.graph.scenario_casts`). ``pool`` adds characters
        and relationships (e.g. the built-in ones) that this library's scenarios may be cast from.
        """
        # graph.py imports this module (errors, constraint text), so import it at call time
        from scenarios.graph import relationship_graph, scenario_casts

        view = self if pool is None else self._with_pool(pool)
        graph = relationship_graph(view)
        return sum(len(scenario_casts(view, scenario, graph)) for scenario in view.scenarios.values())

    def _with_pool(self, pool: ScenarioLibrary) -> ScenarioLibrary:
        characters = {**pool.characters, **self.characters}
        return ScenarioLibrary(
            scenarios=dict(self.scenarios),
            characters=characters,
            relationships=[*pool.relationships, *self.relationships],
            pairings=list(self.pairings),
        )

    def summary(self, pool: ScenarioLibrary | None = None) -> str:
        """One line of counts, e.g. ``42 scenarios, 28 characters, 70 relationships, 210 pairings, 12 hard``.

        "pairings" counts the setups the sampler can produce (:meth:`count_setups`): the fixed
        pairings of scenarios that have them, the eligible casts of the others.
        """
        return (
            f"{len(self.scenarios)} scenarios, {len(self.characters)} characters, "
            f"{len(self.relationships)} relationships, {self.count_setups(pool)} pairings, "
            f"{len(self.hard())} hard"
        )


def _with_origins(items: list[Any], origins: list[Origin], section: str) -> list[tuple[Any, Origin]]:
    """Pair items with their origins; items added without one get a placeholder."""
    return [
        (item, origins[i] if i < len(origins) else Origin("<unknown>", f"{section}[{i}]"))
        for i, item in enumerate(items)
    ]


def describe_constraint(scenario: Scenario, role: int) -> str:
    """Who may play one role, in words (``any character`` when unconstrained)."""
    if not scenario.role_constraints:
        return "any character"
    constraint = scenario.role_constraints[role]
    parts = []
    age = constraint.age
    if age is not None and (age.min, age.max) != (0, 130):
        if age.max == 130:
            parts.append(f"age {age.min}+")
        elif age.min == 0:
            parts.append(f"age up to {age.max}")
        else:
            parts.append(f"age {age.min}-{age.max}")
    if constraint.occupations:
        parts.append("occupation " + " or ".join(constraint.occupations))
    return ", ".join(parts) or "any character"


def _unknown(kind: str, item_id: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(item_id, list(known), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} {item_id!r} (not defined in any loaded file){hint}"


# --------------------------------------------------------------------------------- pydantic errors


def _describe_error(err: Any, model: type[BaseModel]) -> str:
    loc = tuple(err.get("loc", ()))
    where = _format_loc(loc)
    kind = err.get("type", "")
    message = str(err.get("msg", "invalid value"))
    value = err.get("input")
    info, annotation = _field_at(model, loc)
    description = (info.description or "").rstrip(".") if info is not None else ""
    if kind == "missing":
        expected = description or _friendly_type(annotation)
        text = f"field required: {expected}" if expected else "field required"
    elif kind == "extra_forbidden":
        parent, _ = _model_at(model, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else ""
        text = f"unknown field; expected one of: {allowed}" if allowed else "unknown field"
    elif kind == "enum":
        options = _enum_options(annotation)
        label = "relationship type" if _is_enum(annotation, RelationshipType) else "value"
        text = f"unknown {label} {value!r}; expected one of: {options}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        target, _ = _model_at(model, loc)
        fields = ", ".join(target.model_fields) if target else ""
        plain = "a text or " if target is Goal else ""
        text = f"expected {plain}a mapping with fields ({fields}), got {_kind_of(value)}"
    elif kind == "string_pattern_mismatch":
        text = f"invalid value {value!r}: expected {description or message}"
    elif kind == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length")
        size = f"{len(value):,} characters" if isinstance(value, str) else "too long"
        text = (
            f"text of {size} is over the {limit:,}-character limit; shorten it (limits: scenarios/schema.py)"
        )
    elif kind == "too_long":
        limit = (err.get("ctx") or {}).get("max_length")
        size = f"{len(value):,} entries" if isinstance(value, list | tuple) else "too many entries"
        text = f"{size}, over the limit of {limit:,}; give fewer (limits: scenarios/schema.py)"
    elif kind == "value_error":
        text = message.removeprefix("Value error, ")
    else:
        text = f"{message[:1].lower()}{message[1:]} (got {_kind_of(value)})"
    return f"{where} -> {text}" if where else text


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def _unwrap(annotation: Any) -> tuple[Any, FieldInfo | None]:
    """Strip Annotated/Optional wrappers; keep a FieldInfo found in Annotated metadata."""
    info = None
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            info = next((m for m in args[1:] if isinstance(m, FieldInfo)), info)
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation, info
            annotation = options[0]
        else:
            return annotation, info


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[FieldInfo | None, Any]:
    """The FieldInfo (with description) and annotation that ``loc`` points at, when resolvable."""
    annotation: Any = model
    info: FieldInfo | None = None
    for part in loc:
        annotation, inner = _unwrap(annotation)
        if isinstance(part, str):
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return None, None
            info = annotation.model_fields.get(part)
            if info is None:
                return None, None
            annotation = info.annotation
            annotation, inner = _unwrap(annotation)
            if inner is not None and inner.description and not info.description:
                info = inner
        else:
            args = typing.get_args(annotation)
            if not args:
                return None, None
            annotation = (
                args[part] if typing.get_origin(annotation) is tuple and part < len(args) else args[0]
            )
            annotation, inner = _unwrap(annotation)
            info = inner
    return info, annotation


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    if not loc:
        return model, model
    _, annotation = _field_at(model, loc)
    annotation, _ = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, annotation
    return None, annotation


def _friendly_type(annotation: Any) -> str:
    annotation, _ = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if annotation is str:
        return "expected text"
    if annotation is int:
        return "expected an integer"
    if origin in (list, tuple):
        return "expected a list"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f"expected one of: {_enum_options(annotation)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"expected a mapping with fields ({', '.join(annotation.model_fields)})"
    return ""


def _is_enum(annotation: Any, enum: type[Enum]) -> bool:
    annotation, _ = _unwrap(annotation)
    return annotation is enum


def _enum_options(annotation: Any) -> str:
    annotation, _ = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return ", ".join(str(member.value) for member in annotation)
    return ""
