"""Command line: ``python -m scenarios list|show|validate``.

- ``list [PATH] [--tag TAG]``: one line per scenario: id, relationship, tags, start of the setting.
- ``show ID [--path PATH]``: a card for one scenario: setting, each role's goal, relationship,
  constraints, and how many casts fit (with examples).
- ``validate [PATH]``: the summary line of what PATH holds, or the error and exit code 2; PATH is
  checked as the environments play it (merged into the built-in library, every scenario castable).

PATH is a scenario file, a folder, or a SOTOPIA dump folder; without PATH the built-in library is
used. Files may use built-in characters: references are resolved against the built-in library
when PATH alone does not define them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from scenarios.collection import LibraryError, ScenarioFileError, ScenarioLibrary, describe_constraint
from scenarios.graph import eligible_casts, relationship_graph, scenario_casts, uncastable
from scenarios.load import builtin_library_path, load_custom, load_library, load_path
from scenarios.schema import Scenario

EXIT_ERROR = 2


def open_path(path: str | None) -> tuple[ScenarioLibrary, ScenarioLibrary | None]:
    """The library at ``path`` (built-in when None) and, when it needs it, the built-in pool.

    The pool is returned when PATH refers to characters or scenarios it does not define itself;
    it supplies those (and their relationships) for checking and casting.
    """
    if path is None:
        return load_library(), None
    library = load_path(path)
    try:
        library.check_references()
        return library, None
    except ScenarioFileError as own_error:
        try:
            builtin = load_library()
        except LibraryError:
            raise own_error from None
        library.check_references(context=builtin)
        return library, builtin


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3].rstrip() + "..."


def cmd_list(path: str | None, tag: str | None) -> int:
    """Print one line per scenario (optionally only those tagged ``tag``)."""
    library, _ = open_path(path)
    ids = library.by_tag(tag) if tag else list(library.scenarios)
    width = max((len(i) for i in ids), default=0)
    tag_width = min(36, max((len(",".join(library.scenarios[i].tags)) for i in ids), default=1))
    for scenario_id in ids:
        scenario = library.scenarios[scenario_id]
        tags = ",".join(scenario.tags) or "-"
        setting = _one_line(scenario.setting, 70)
        print(f"{scenario_id:<{width}}  {scenario.relationship.value:<12}  {tags:<{tag_width}}  {setting}")
    if not ids:
        print(f"no scenarios{f' tagged {tag!r}' if tag else ''}", file=sys.stderr)
    return 0


def _cast_rows(library: ScenarioLibrary, scenario: Scenario, cast: Sequence[str]) -> tuple[str, str]:
    """Who plays (names, ages, occupations) and their shared background, for the card."""
    people = [library.characters[agent_id] for agent_id in cast]
    names = " & ".join(f"{p.name} ({p.age}, {p.occupation})" for p in people)
    setup = library.setup(scenario.id, list(cast))
    records = setup.relationships or [setup.relationship]  # a group: every pair's history
    background = " ".join(r.background for r in records if r.background)
    return names, _one_line(background, 200) if background else "(no shared background recorded)"


def cmd_show(scenario_id: str, path: str | None) -> int:
    """Print a readable card for one scenario."""
    library, pool = open_path(path)
    if pool is not None:
        library = pool.merge(library)
    scenario = library.scenario(scenario_id)

    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    parts: list = []
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("relationship", scenario.relationship.value)
    for pair in scenario.pair_relationships:
        header.add_row("", f"roles {pair.roles[0] + 1} and {pair.roles[1] + 1}: {pair.type.value}")
    header.add_row("tags", ", ".join(scenario.tags) or "-")
    header.add_row("source", scenario.source)
    header.add_row("max turns", str(scenario.max_turns))
    parts += [header, Text(""), Text("Setting", style="bold"), Text(scenario.setting), Text("")]
    for role, goal in enumerate(scenario.goals):
        parts.append(Text(f"Role {role + 1} goal (private)", style="bold"))
        parts.append(Text(goal.text))
        details = Table.grid(padding=(0, 2))
        details.add_column(style="dim")
        details.add_column()
        if goal.extra_info:
            details.add_row("knows", goal.extra_info)
        if goal.strategy_hint:
            details.add_row("hint", goal.strategy_hint)
        if goal.clarification_hint:
            details.add_row("judge note", goal.clarification_hint)
        for check in goal.checks:
            settings = check.model_dump(exclude={"kind", "label"}, exclude_defaults=True)
            details.add_row("rule check", f"{check.name} ({check.kind}: {settings})")
        details.add_row("who may play", describe_constraint(scenario, role))
        parts += [details, Text("")]
    graph = relationship_graph(library)
    fixed = library.fixed_pairings(scenario.id)
    eligible = eligible_casts(library, scenario, graph=graph)
    parts.append(Text(f"Eligible casts: {len(eligible)}", style="bold"))
    if fixed:
        parts.append(Text(f"Fixed pairings: {len(fixed)} (the sampler uses these)", style="bold"))
    elif not eligible:
        parts.append(Text("no characters fit: this scenario cannot be sampled", style="red"))
    casts = scenario_casts(library, scenario, graph)
    examples = Table.grid(padding=(0, 2))
    examples.add_column(style="dim")
    examples.add_column()
    for cast in casts[:2]:
        names, background = _cast_rows(library, scenario, cast)
        examples.add_row("e.g.", names)
        examples.add_row("", Text(background, style="italic"))
    parts.append(examples)
    title = f"{scenario.id}" + (f" · {scenario.codename}" if scenario.codename else "")
    Console().print(Panel(Group(*parts), title=Text(title, style="bold"), title_align="left"))
    return 0


def cmd_validate(path: str | None) -> int:
    """Print the summary line (and importer notes) of what ``path`` holds; fail on uncastable scenarios.

    ``path`` is checked as the environments will play it: merged into the built-in library (so
    its scenarios may be cast with built-in characters, and an id it shares with the built-in
    library is an error), with every scenario needing at least one cast.
    """
    library, _ = open_path(path)
    if path is None or Path(path).expanduser().resolve() == builtin_library_path().resolve():
        played, scenario_ids, pool = library, list(library.scenarios), None
    else:
        played, scenario_ids = load_custom(path)
        pool = load_library()
    print(library.summary(pool))
    for note in library.notes:
        print(f"note: {note}")
    problems = uncastable(played, scenario_ids)
    if problems:
        raise ScenarioFileError(problems)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m scenarios``."""
    parser = argparse.ArgumentParser(
        prog="python -m scenarios", description="Browse and check scenario libraries."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="one line per scenario")
    listing.add_argument("path", nargs="?", help="file or folder (default: the built-in library)")
    listing.add_argument("--tag", help="only scenarios with this tag, e.g. hard")
    show = commands.add_parser("show", help="a card for one scenario")
    show.add_argument("id", help="scenario id")
    show.add_argument("--path", help="file or folder holding the scenario (default: the built-in library)")
    validate = commands.add_parser("validate", help="check a file or folder and print its summary")
    validate.add_argument("path", nargs="?", help="file or folder (default: the built-in library)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors in the data print one clear message and return 2."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(args.path, args.tag)
        if args.command == "show":
            return cmd_show(args.id, args.path)
        return cmd_validate(args.path)
    except LibraryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except RecursionError:  # the loaders check nesting first (scenarios.datafiles); this is a last resort
        print(
            "error: the input is nested too deeply to read; see the limits in scenarios/datafiles.py",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
