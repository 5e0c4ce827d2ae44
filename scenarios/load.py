"""Load scenario files and folders into a :class:`ScenarioLibrary`, with errors a person can act on.

File format (YAML or JSON): a mapping with any of the top-level keys ``characters``,
``relationships``, ``scenarios`` and ``pairings``, each a list of the matching model
(:mod:`scenarios.schema`). For convenience a file may also be a single scenario (a mapping with
``setting`` and ``goals``) or a list of scenarios. Folders are read recursively (``*.yaml``,
``*.yml``, ``*.json``, sorted by path); a folder holding SOTOPIA's dump
(``environment_profiles.jsonl`` ...) is imported with :mod:`scenarios.sotopia`.

Every problem raises :class:`ScenarioFileError` whose message names the file, the entry and the
field, e.g. ``my.yaml: scenarios[2] (id 'x'): goals -> field required: One private goal per role``.

Limits (hostile or broken files fail fast with a message, never a crash): a file may hold at most
16 MiB, must be UTF-8 (a byte-order mark and CRLF line ends are fine), nest at most 64 levels and
expand YAML aliases to at most 100,000 nodes (:mod:`scenarios.datafiles`); text fields have the
length limits of :mod:`scenarios.schema` (10,000 characters for texts, 200 for names and labels).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scenarios import sotopia
from scenarios.collection import Origin, ScenarioFileError, ScenarioLibrary, display_path
from scenarios.datafiles import (
    MAX_SCENARIO_FILE_BYTES,
    DataFileError,
    FastSafeLoader,
    load_json,
    load_yaml,
    read_text,
)
from scenarios.schema import AgentProfile, Pairing, Relationship, Scenario

SECTIONS: dict[str, type[BaseModel]] = {
    "characters": AgentProfile,
    "relationships": Relationship,
    "scenarios": Scenario,
    "pairings": Pairing,
}
SUFFIXES = (".yaml", ".yml", ".json")


def builtin_library_path() -> Path:
    """The folder of SocialGym's own scenarios, characters and relationships."""
    located = resources.files("scenarios") / "library"
    return Path(str(located))


def load_path(path: str | os.PathLike[str]) -> ScenarioLibrary:
    """Load one file or folder (checks each entry; does not resolve references, see below).

    Call :meth:`ScenarioLibrary.check_references` (or use :func:`load_library`) to check that
    relationships and pairings name known characters and scenarios.
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        if path.suffix == ".jsonl" and path.name in sotopia.DUMP_FILES:
            return sotopia.load_sotopia(path.parent)
        if path.suffix.lower() not in SUFFIXES:
            raise ScenarioFileError(
                f"{display_path(path)}: unsupported file type {path.suffix or '(none)'!r}; expected "
                "a .yaml, .yml or .json scenario file, or a folder"
            )
        return library_from_document(read_document(path), display_path(path))
    raise ScenarioFileError(f"{display_path(path)}: no such file or folder")


def load_library(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
    include_builtin: bool = True,
) -> ScenarioLibrary:
    """The built-in library plus any files or folders given, merged and reference-checked.

    With no arguments this is the built-in library. Custom files may use built-in characters.
    A path that is the built-in folder itself is not loaded twice.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    builtin = builtin_library_path().resolve()
    library = load_path(builtin) if include_builtin else ScenarioLibrary()
    for path in paths or []:
        if include_builtin and Path(path).resolve() == builtin:
            continue
        library = library.merge(load_path(path))
    library.check_references()
    return library


def load_custom(path: str | os.PathLike[str]) -> tuple[ScenarioLibrary, list[str]]:
    """A custom file or folder as the environments play it: merged into the built-in library.

    Returns the merged, reference-checked library and the ids of the scenarios ``path`` defines
    (every built-in scenario when ``path`` is the built-in folder). An id that ``path`` shares
    with the built-in library is an error naming both places.
    """
    path = Path(path).expanduser()
    builtin = load_library()
    if path.resolve() == builtin_library_path().resolve():
        return builtin, list(builtin.scenarios)
    custom = load_path(path)
    library = builtin.merge(custom)
    library.check_references()
    return library, list(custom.scenarios)


# --------------------------------------------------------------------------------- folders


def _load_folder(folder: Path) -> ScenarioLibrary:
    """Every dump and file below ``folder``; the problems of all broken files are reported together."""
    library = ScenarioLibrary()
    problems: list[str] = []
    found = False

    def add(load: Any) -> None:
        nonlocal library
        try:
            library = library.merge(load())
        except ScenarioFileError as exc:
            problems.extend(exc.problems)

    for directory in sorted({folder, *(p for p in folder.rglob("*") if p.is_dir())}):
        if sotopia.is_sotopia_dump(directory):
            add(lambda directory=directory: sotopia.load_sotopia(directory))
            found = True
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    for file in files:
        add(lambda file=file: library_from_document(read_document(file), display_path(file)))
        found = True
    if problems:
        raise ScenarioFileError(problems)
    if not found:
        raise ScenarioFileError(
            f"{display_path(folder)}: no scenario files found (*.yaml, *.yml, *.json) and no SOTOPIA "
            "dump (environment_profiles.jsonl)"
        )
    return library


# --------------------------------------------------------------------------------- parsing


class _UniqueKeyLoader(FastSafeLoader):  # type: ignore[misc, valid-type]
    """A safe YAML loader that rejects a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *defaults', merged by the base loader
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file; syntax errors name the file, line and column.

    The file is read with the limits of :mod:`scenarios.datafiles` (size, UTF-8, nesting, YAML
    aliases); a broken or hostile file is a :class:`ScenarioFileError` naming it.
    """
    shown = display_path(path)
    try:
        text = read_text(path, shown, MAX_SCENARIO_FILE_BYTES, "scenario files")
        if path.suffix.lower() != ".json":
            return load_yaml(text, shown, _UniqueKeyLoader)
        try:
            return load_json(text, shown, object_pairs_hook=_reject_duplicate_json_keys)
        except json.JSONDecodeError as exc:
            raise ScenarioFileError(
                f"{shown}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
            ) from None
    except FileNotFoundError:
        raise ScenarioFileError(f"{shown}: no such file") from None
    except DataFileError as exc:
        raise ScenarioFileError(str(exc)) from None


def library_from_document(document: Any, file: str) -> ScenarioLibrary:
    """Validate a parsed document (see the module docstring for the accepted shapes)."""
    if document is None:
        raise ScenarioFileError(
            f"{file}: the file is empty; expected a mapping with any of {', '.join(SECTIONS)}"
        )
    if isinstance(document, list):
        return _build(file, [("scenarios", Scenario, [(f"[{i}]", item) for i, item in enumerate(document)])])
    if not isinstance(document, dict):
        raise ScenarioFileError(
            f"{file}: expected a mapping with any of the keys {', '.join(SECTIONS)} (or a single scenario, "
            f"or a list of scenarios), got {type(document).__name__}"
        )
    if "setting" in document and "goals" in document:
        return _build(file, [("scenarios", Scenario, [("scenario", document)])])
    unknown = [str(key) for key in document if key not in SECTIONS]
    if unknown:
        raise ScenarioFileError(
            f"{file}: unknown top-level key {unknown[0]!r}; expected any of {', '.join(SECTIONS)} "
            "(or a single scenario with 'setting' and 'goals')"
        )
    sections = []
    for name, model in SECTIONS.items():
        items = document.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            raise ScenarioFileError(
                f"{file}: {name} -> expected a list of {name}, got {_shape(items)}"
            )
        sections.append((name, model, [(f"{name}[{i}]", item) for i, item in enumerate(items)]))
    return _build(file, sections)


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"[:80]


def _build(file: str, sections: list[tuple[str, type[BaseModel], list[tuple[str, Any]]]]) -> ScenarioLibrary:
    """Validate every entry, collecting all problems of the file before raising."""
    library = ScenarioLibrary()
    problems: list[str] = []
    adders = {
        "characters": library.add_character,
        "relationships": library.add_relationship,
        "scenarios": library.add_scenario,
        "pairings": library.add_pairing,
    }
    for name, model, entries in sections:
        for label, item in entries:
            origin = Origin.of(file, label, item.get("id") if isinstance(item, dict) else None)
            if not isinstance(item, dict):
                problems.append(
                    f"{origin}: expected a mapping with fields ({', '.join(model.model_fields)}), "
                    f"got {_shape(item)}"
                )
                continue
            try:
                adders[name](model.model_validate(item), origin)
            except ValidationError as exc:
                problems.extend(ScenarioFileError.from_validation_error(exc, origin, model).problems)
            except ScenarioFileError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ScenarioFileError(problems)
    return library
