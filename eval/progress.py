"""The one way our commands draw a rich progress bar (evaluations, benchmarks, suites, training)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(
    label: str | None = None,
    *,
    fields: str | None = None,
    eta: bool = False,
    console: Console | None = None,
    transient: bool = False,
) -> Progress:
    """A bar reading ``label  ━━━━  done/total  fields  elapsed  [ETA remaining]``.

    ``label`` is shown in bold; None shows each task's description instead. ``fields`` is a rich
    format string over the task (``"ok {task.fields[ok]}"``: give those fields to ``add_task``).
    """
    columns: list[ProgressColumn] = [
        TextColumn(f"[bold]{label}" if label is not None else "{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if fields is not None:
        columns.append(TextColumn(fields))
    columns.append(TimeElapsedColumn())
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=transient)
