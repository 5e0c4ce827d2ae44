"""Import SOTOPIA's published JSONL dump into our schema, keeping SOTOPIA's ids.

Files read from one folder (the layout of ``sotopia.database.serialization``; only
``environment_profiles.jsonl`` is required):

- ``environment_profiles.jsonl`` -> :class:`Scenario` (``env_id`` is the id; ``scenario`` is the
  setting; ``relationship`` "0".."5" via :meth:`RelationshipType.from_level`; ``age_constraint``
  such as ``"[(18, 70), (18, 70)]"`` and ``occupation_constraint`` such as ``"[actor, actor]"``
  ("nan" = none) become per-role :class:`RoleConstraint`; tags: ``sotopia``, SOTOPIA's ``source``
  (e.g. ``deal-or-no-deal``) and ``hard`` for the ids in ``env_ids.txt``).
- ``agent_profiles.jsonl`` -> :class:`AgentProfile` (``agent_id`` is the id; ``big_five`` text
  "Openness to Experience - High; ..." -> :class:`BigFive`; value lists stripped of stray spaces;
  ``gender_pronoun`` -> ``pronouns``, lower-cased).
- ``relationship_profiles.jsonl`` -> :class:`Relationship` (``relationship_id``).
- ``env_agent_combo_storages.jsonl`` -> :class:`Pairing` (``combo_id``; agent order = role order).
- ``env_ids.txt`` -> the 14 ``hard`` ids (the line after ``SOTOPIA-HARD:``).

Goals: SOTOPIA writes notes inside goal strings as ``<extra_info>``, ``<strategy_hint>`` and
``<clarification_hint>`` tags (sometimes nested: a hint inside the extra info). We take every tag
out into :class:`Goal` fields, dropping the "Extra information:" / "Hint:" prefixes and the empty
parentheses left behind, so ``Goal.text`` is the clean goal. What each field is for:
``extra_info`` is private knowledge the role always sees (e.g. item values); ``strategy_hint`` is
advice shown to the role unless the environment disables hints; ``clarification_hint`` says what
counts as success and is shown to the judge only. ``Goal.for_agent()`` with hints rebuilds what
SOTOPIA's agents were shown.

Messy but valid dumps import, with a note in ``ScenarioLibrary.notes`` (printed by
``python -m scenarios validate``): a relationship listed twice for the same pair and type, in the
same or the mirrored order (SOTOPIA accepts both; the first record is kept), and a record
repeated exactly (same id, same content) are skipped and named in the note; unknown keys are
ignored; a UTF-8 byte-order mark and CRLF line ends are fine. A repeated id with different
content is still an error (which record is meant?). Files are read with the limits of
:mod:`scenarios.datafiles`; text fields have those of :mod:`scenarios.schema`.

Relationships of a pairing are looked up by pair *and* type: two SOTOPIA pairs have two records of
different types, so a lookup by pair alone picks the wrong record for 10 of the 450 combos (13 if the
first record wins). Looked up by pair and type, every combo of the published dump has a record of its
scenario's type. A combo that does
not (in another dump) is kept as published, and its episode gets a relationship of the scenario's
type with an empty background (:meth:`ScenarioLibrary.setup`); the import records how many such
combos there are in ``ScenarioLibrary.notes``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from scenarios.collection import Origin, ScenarioFileError, ScenarioLibrary, display_path
from scenarios.datafiles import MAX_SCENARIO_FILE_BYTES, DataFileError, load_json, read_text
from scenarios.schema import (
    MAX_LABEL_CHARS,
    MAX_LIST_ITEMS,
    MAX_ROLES,
    MAX_TEXT_CHARS,
    AgentProfile,
    AgeRange,
    BigFive,
    Goal,
    Pairing,
    Personality,
    Relationship,
    RelationshipType,
    RoleConstraint,
    Scenario,
    TraitLevel,
)

ENVIRONMENTS = "environment_profiles.jsonl"
AGENTS = "agent_profiles.jsonl"
RELATIONSHIPS = "relationship_profiles.jsonl"
COMBOS = "env_agent_combo_storages.jsonl"
HARD_IDS = "env_ids.txt"
DUMP_FILES = (ENVIRONMENTS, AGENTS, RELATIONSHIPS, COMBOS)
NOTED_DUPLICATES = 5
"""Skipped duplicates named in a file's note (the rest are counted)."""

_GOAL_TAGS = ("extra_info", "strategy_hint", "clarification_hint")
_INNERMOST_TAG = re.compile(
    r"<(extra_info|strategy_hint|clarification_hint)>"
    r"((?:(?!</?(?:extra_info|strategy_hint|clarification_hint)>).)*)"
    r"</\1>",
    re.DOTALL,
)
_ANY_TAG = re.compile(r"</?(?:extra_info|strategy_hint|clarification_hint)>")
_PREFIXES = {
    "extra_info": re.compile(r"^\s*extra information\s*:\s*", re.IGNORECASE),
    "strategy_hint": re.compile(r"^\s*hint\s*:\s*", re.IGNORECASE),
    "clarification_hint": re.compile(r"^\s*hint\s*:\s*", re.IGNORECASE),
}
_TRAITS = {
    "openness to experience": "openness",
    "openness": "openness",
    "conscientiousness": "conscientiousness",
    "extraversion": "extraversion",
    "agreeableness": "agreeableness",
    "neuroticism": "neuroticism",
}
_LEVELS = {"high": TraitLevel.high, "low": TraitLevel.low, "average": TraitLevel.average,
           "medium": TraitLevel.average, "moderate": TraitLevel.average}
_NONE_WORDS = {"", "nan", "none", "null", "any"}


# --------------------------------------------------------------------------------- SOTOPIA records


class _Record(BaseModel):
    """A SOTOPIA record: extra fields of SOTOPIA's own models (pk, model_id, tag) are ignored.

    Text fields have the limits of :mod:`scenarios.schema`, checked here so that an error names
    SOTOPIA's field (``scenario``, ``background_story``) rather than ours.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


_Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
_Label = Annotated[str, Field(max_length=MAX_LABEL_CHARS)]
_Labels = Annotated[list[_Label], Field(max_length=MAX_LIST_ITEMS)]


def _level_value(value: object) -> object:
    """A relationship level as SOTOPIA writes it (``"3"`` or ``3``); anything else is a one-line error."""
    if isinstance(value, bool) or not isinstance(value, int | str) or len(str(value)) > MAX_LABEL_CHARS:
        shown = repr(value) if isinstance(value, int | str | None) and len(repr(value)) <= 40 else type(value).__name__
        raise ValueError(f"expected a relationship level '0'..'5', got {shown}")
    return value


_Level = Annotated[int | str, BeforeValidator(_level_value)]


class SotopiaEnvironment(_Record):
    """One line of ``environment_profiles.jsonl``."""

    env_id: _Label = Field(validation_alias=AliasChoices("env_id", "pk"), description="The scenario's id.")
    codename: _Label = ""
    source: _Label = ""
    scenario: _Text = Field(description="The setting text.")
    agent_goals: list[_Text] = Field(max_length=MAX_ROLES, description="One goal string per role.")
    relationship: _Level = Field(description="'0'..'5' (0 stranger .. 5 family).")
    age_constraint: _Label | None = None
    occupation_constraint: _Text | None = None
    agent_constraint: _Label | None = None


class SotopiaAgent(_Record):
    """One line of ``agent_profiles.jsonl``."""

    agent_id: _Label = Field(validation_alias=AliasChoices("agent_id", "pk"), description="The character's id.")
    first_name: _Label
    last_name: _Label = ""
    age: int
    occupation: _Label
    gender: _Label
    gender_pronoun: _Label
    public_info: _Text = ""
    big_five: _Text = ""
    moral_values: _Labels = Field(default_factory=list)
    schwartz_personal_values: _Labels = Field(default_factory=list)
    personality_and_values: _Text = ""
    decision_making_style: _Text = ""
    secret: _Text = ""
    mbti: _Label = ""


class SotopiaRelationship(_Record):
    """One line of ``relationship_profiles.jsonl``."""

    relationship_id: _Label = Field(validation_alias=AliasChoices("relationship_id", "pk"))
    agent1_id: _Label
    agent2_id: _Label
    relationship: _Level = Field(description="'0'..'5' (0 stranger .. 5 family).")
    background_story: _Text = ""


class SotopiaCombo(_Record):
    """One line of ``env_agent_combo_storages.jsonl``."""

    combo_id: _Label = Field(validation_alias=AliasChoices("combo_id", "pk"))
    env_id: _Label
    agent_ids: list[_Label] = Field(max_length=MAX_ROLES)


# --------------------------------------------------------------------------------- field parsers


def split_goal(raw: str) -> Goal:
    """Take SOTOPIA's inline tags out of a goal string into :class:`Goal` fields."""
    notes: dict[str, list[str]] = {tag: [] for tag in _GOAL_TAGS}
    text = raw
    while True:
        match = _INNERMOST_TAG.search(text)
        if match is None:
            break
        notes[match.group(1)].append(match.group(2))
        text = text[: match.start()] + " " + text[match.end() :]
    leftover = _ANY_TAG.search(text)
    if leftover is not None:
        raise ValueError(f"unbalanced tag {leftover.group(0)!r}; expected <tag>...</tag> pairs")
    text = re.sub(r"\(\s*\)", " ", text)
    text = " ".join(text.split())
    if not text:
        raise ValueError("the goal has no text outside its tags; expected the goal, then its notes")
    fields = {tag: "\n".join(_clean_note(tag, note) for note in notes[tag] if _clean_note(tag, note))
              for tag in _GOAL_TAGS}
    return Goal(text=text, **fields)


def _clean_note(tag: str, note: str) -> str:
    lines = [line.strip() for line in _PREFIXES[tag].sub("", note, count=1).splitlines()]
    return "\n".join(line for line in lines if line)


def parse_big_five(text: str) -> BigFive:
    """``"Openness to Experience - High; Conscientiousness - Low; ..."`` -> :class:`BigFive`."""
    levels: dict[str, TraitLevel] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, level = part.rpartition("-")
        trait = _TRAITS.get(name.strip().lower())
        value = _LEVELS.get(level.strip().lower())
        if not sep or trait is None or value is None:
            raise ValueError(
                f"cannot read {part!r}; expected 'Trait - High|Average|Low' with a Big Five trait "
                f"({', '.join(sorted(set(_TRAITS.values())))})"
            )
        levels[trait] = value
    return BigFive(**levels)


def parse_age_constraint(text: str | None, roles: int) -> list[AgeRange | None]:
    """``"[(18, 70), (18, 70)]"`` -> one :class:`AgeRange` per role ("nan"/none -> no constraint)."""
    if text is None or text.strip().lower() in _NONE_WORDS:
        return [None] * roles
    pairs = re.findall(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", text)
    if len(pairs) != roles:
        raise ValueError(f"expected {roles} '(min, max)' age ranges, one per role, got {text!r}")
    return [AgeRange(min=int(low), max=int(high)) for low, high in pairs]


def parse_occupation_constraint(text: str | None, roles: int) -> list[list[str] | None]:
    """``"[actor, actor]"`` -> ``[["actor"], ["actor"]]`` ("nan"/none -> no constraint)."""
    if text is None or text.strip().lower() in _NONE_WORDS:
        return [None] * roles
    items = [item.strip().strip("'\"").strip() for item in text.strip().strip("[]").split(",")]
    if len(items) != roles:
        raise ValueError(f"expected {roles} occupations, one per role, got {text!r}")
    return [None if item.lower() in _NONE_WORDS else [item] for item in items]


def parse_hard_ids(text: str) -> list[str]:
    """The quoted ids on the line(s) after ``SOTOPIA-HARD:`` in ``env_ids.txt``."""
    match = re.search(r"SOTOPIA-HARD:(.*?)(?:^\s*SOTOPIA-[A-Z]+:|\Z)", text, re.DOTALL | re.MULTILINE)
    if match is None:
        raise ValueError("no 'SOTOPIA-HARD:' section; expected a line 'SOTOPIA-HARD:' then quoted ids")
    return re.findall(r"[\"']([A-Za-z0-9]+)[\"']", match.group(1))


def _level(value: int | str) -> RelationshipType:
    try:
        return RelationshipType.from_level(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"unknown relationship level {value!r}; expected '0'..'5' (0 stranger, 1 know_by_name, "
            "2 acquaintance, 3 friend, 4 romantic, 5 family)"
        ) from None


# --------------------------------------------------------------------------------- reading


def is_sotopia_dump(folder: Path) -> bool:
    """True when ``folder`` holds SOTOPIA's ``environment_profiles.jsonl``."""
    return (folder / ENVIRONMENTS).is_file()


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; all bad lines are reported together.

    The file is read with the limits of :mod:`scenarios.datafiles` (16 MiB, UTF-8 with or without
    a byte-order mark, LF or CRLF line ends, 64 levels of nesting per line).
    """
    shown = display_path(path)
    try:
        text = read_text(path, shown, MAX_SCENARIO_FILE_BYTES, "SOTOPIA dump files")
    except FileNotFoundError:
        raise ScenarioFileError(f"{shown}: no such file") from None
    except DataFileError as exc:
        raise ScenarioFileError(str(exc)) from None
    records: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            record = load_json(line, shown, f"line {lineno}")
        except json.JSONDecodeError as exc:
            problems.append(f"{shown}: line {lineno}, column {exc.colno}: invalid JSON: {exc.msg}")
            continue
        except DataFileError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(record, dict):
            problems.append(f"{shown}: line {lineno}: expected one JSON object per line, got {type(record).__name__}")
            continue
        records.append((lineno, record))
    if problems:
        raise ScenarioFileError(problems)
    return records


def _records(path: Path, model: type[_Record], id_field: str) -> list[tuple[Origin, Any]]:
    out: list[tuple[Origin, Any]] = []
    problems: list[str] = []
    for lineno, raw in _read_jsonl(path):
        origin = Origin.of(display_path(path), f"line {lineno}", raw.get(id_field, raw.get("pk")))
        try:
            out.append((origin, model.model_validate(raw)))
        except ValidationError as exc:
            problems.extend(ScenarioFileError.from_validation_error(exc, origin, model).problems)
    if problems:
        raise ScenarioFileError(problems)
    return out


def _convert(origin: Origin, build: Any, *args: Any) -> Any:
    """Run one record's conversion; turn any failure into a message naming file, line and field."""
    try:
        return build(*args)
    except _FieldError as exc:
        raise ScenarioFileError(f"{origin}: {exc.field} -> {exc.message}") from None
    except ValidationError as exc:
        raise ScenarioFileError.from_validation_error(exc, origin, _model_of(exc)) from None


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _model_of(exc: ValidationError) -> type[BaseModel]:
    """The schema model a ValidationError came from (by its title), for error messages."""
    models = {m.__name__: m for m in (Scenario, AgentProfile, Relationship, Pairing, Goal, BigFive, AgeRange)}
    return models.get(exc.title, Scenario)


def _field(field: str, parse: Any, *args: Any) -> Any:
    """Run one field's parser; a failure names that SOTOPIA field."""
    try:
        return parse(*args)
    except ValidationError as exc:
        messages = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors(include_url=False)]
        raise _FieldError(field, "; ".join(messages)) from None
    except ValueError as exc:
        raise _FieldError(field, str(exc)) from None


def _scenario(record: SotopiaEnvironment, hard: set[str]) -> Scenario:
    roles = len(record.agent_goals)
    goals = [_field(f"agent_goals[{i}]", split_goal, goal) for i, goal in enumerate(record.agent_goals)]
    ages = _field("age_constraint", parse_age_constraint, record.age_constraint, roles)
    jobs = _field("occupation_constraint", parse_occupation_constraint, record.occupation_constraint, roles)
    if record.agent_constraint and record.agent_constraint.strip().lower() not in _NONE_WORDS:
        raise _FieldError("agent_constraint", f"{record.agent_constraint!r} is not supported; expected 'none'")
    constraints = None
    if any(a is not None for a in ages) or any(j is not None for j in jobs):
        constraints = [RoleConstraint(age=a, occupations=j) for a, j in zip(ages, jobs, strict=True)]
    codename = re.sub(r"[^a-z0-9_]+", "_", record.codename.strip().lower()).strip("_")
    tags = ["sotopia"]
    if record.source:
        tags.append(record.source)
    if record.env_id in hard:
        tags.append("hard")
    return Scenario(
        id=record.env_id,
        codename=codename,
        setting=record.scenario,
        goals=goals,
        relationship=_field("relationship", _level, record.relationship),
        role_constraints=constraints,
        tags=tags,
        source=f"sotopia:{record.source}" if record.source else "sotopia",
    )


def _character(record: SotopiaAgent) -> AgentProfile:
    personality = Personality(
        big_five=_field("big_five", parse_big_five, record.big_five),
        values=[v.strip() for v in record.schwartz_personal_values if v.strip()],
        moral_values=[v.strip() for v in record.moral_values if v.strip()],
        decision_style=record.decision_making_style.strip(),
        mbti=record.mbti.strip() or None,
        summary=record.personality_and_values.strip(),
    )
    return AgentProfile(
        id=record.agent_id,
        first_name=record.first_name,
        last_name=record.last_name,
        age=record.age,
        occupation=record.occupation,
        gender=record.gender,
        pronouns=record.gender_pronoun.strip().lower(),
        public_info=record.public_info,
        personality=personality,
        secret=record.secret,
        tags=["sotopia"],
    )


def _relationship(record: SotopiaRelationship) -> Relationship:
    return Relationship(
        id=record.relationship_id,
        agents=(record.agent1_id, record.agent2_id),
        type=_field("relationship", _level, record.relationship),
        background=record.background_story,
    )


def _pairing(record: SotopiaCombo) -> Pairing:
    return Pairing(id=record.combo_id, scenario=record.env_id, agents=record.agent_ids)


def _hard_ids(folder: Path) -> set[str]:
    path = folder / HARD_IDS
    if not path.is_file():
        return set()
    shown = display_path(path)
    try:
        return set(parse_hard_ids(read_text(path, shown, MAX_SCENARIO_FILE_BYTES, "SOTOPIA dump files")))
    except DataFileError as exc:
        raise ScenarioFileError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ScenarioFileError(f"{shown}: {exc}") from None


def load_sotopia(folder: str | Path) -> ScenarioLibrary:
    """Import a SOTOPIA dump folder (see the module docstring); references are checked."""
    folder = Path(folder)
    if not is_sotopia_dump(folder):
        raise ScenarioFileError(f"{display_path(folder)}: not a SOTOPIA dump: {ENVIRONMENTS} is missing")
    hard = _hard_ids(folder)
    library = ScenarioLibrary()
    problems: list[str] = []

    def add(file: str, model: type[_Record], id_field: str, build: Any, adder: Any, *extra: Any) -> None:
        path = folder / file
        if not path.is_file():
            return
        try:
            records = _records(path, model, id_field)
        except ScenarioFileError as exc:
            problems.extend(exc.problems)
            return
        skipped: list[str] = []
        first_of: dict[str, tuple[Origin, _Record]] = {}
        for origin, record in records:
            first = first_of.setdefault(getattr(record, id_field), (origin, record))
            if first[0] is not origin and first[1] == record:
                skipped.append(f"{origin.entry} repeats {first[0].entry} exactly")
                continue
            try:
                note = adder(_convert(origin, build, record, *extra), origin)
            except ScenarioFileError as exc:
                problems.extend(exc.problems)
                continue
            if note:
                skipped.append(note)
        if skipped:
            shown = "; ".join(skipped[:NOTED_DUPLICATES])
            more = f"; and {len(skipped) - NOTED_DUPLICATES} more" if len(skipped) > NOTED_DUPLICATES else ""
            library.notes.append(
                f"{display_path(path)}: skipped {len(skipped)} duplicate record(s), keeping the first of each "
                f"(SOTOPIA accepts repeats): {shown}{more}"
            )

    pairs: dict[tuple[frozenset[str], RelationshipType], tuple[Origin, Relationship]] = {}

    def add_relationship(relationship: Relationship, origin: Origin) -> str | None:
        """Add a relationship, or say why it is skipped: its pair (either order) has one of its type already."""
        key = (frozenset(relationship.agents), relationship.type)
        if key not in pairs:
            pairs[key] = (origin, relationship)
            library.add_relationship(relationship, origin)
            return None
        first_origin, first = pairs[key]
        a, b = relationship.agents
        how = "the same pair" if first.agents == relationship.agents else "the same pair mirrored"
        differs = ", another background" if first.background != relationship.background else ""
        return (f"{origin.entry} repeats {first_origin.entry}: {how} ({a!r}, {b!r}) as "
                f"{relationship.type.value!r}{differs}")

    def plain(adder: Any) -> Any:
        def call(item: Any, origin: Origin) -> None:
            adder(item, origin)
        return call

    add(ENVIRONMENTS, SotopiaEnvironment, "env_id", _scenario, plain(library.add_scenario), hard)
    add(AGENTS, SotopiaAgent, "agent_id", _character, plain(library.add_character))
    add(RELATIONSHIPS, SotopiaRelationship, "relationship_id", _relationship, add_relationship)
    add(COMBOS, SotopiaCombo, "combo_id", _pairing, plain(library.add_pairing))
    unknown_hard = sorted(hard - set(library.scenarios))
    if unknown_hard:
        problems.append(
            f"{display_path(folder / HARD_IDS)}: SOTOPIA-HARD -> unknown env ids {unknown_hard} "
            f"(not in {ENVIRONMENTS})"
        )
    if problems:
        raise ScenarioFileError(problems)
    library.check_references()
    missing = sum(
        1
        for pairing in library.pairings
        if not any(
            r.type == library.scenarios[pairing.scenario].relationship
            for r in library.relationships_between(pairing.agents[0], pairing.agents[1])
        )
    )
    library.notes.append(
        f"SOTOPIA import ({display_path(folder)}): {len(library.pairings)} pairings, {missing} without a "
        "relationship record of their scenario's type (given one with an empty background)"
    )
    return library
