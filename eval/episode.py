"""Run agent-vs-agent social episodes from the shell, with a live transcript.

    python -m eval.episode --scenario ID_OR_PATH --agents SPEC SPEC [--episodes N] [--concurrency N]
        [--max-turns N] [--turn-mode round-robin|simultaneous] [--seed S] [--out DIR] [--api-base URL]

``--scenario`` is a built-in scenario id, ``sotopia`` (all built-in scenarios), ``sotopia-hard``,
``sotopia:PATH`` or a path to a scenario file or folder (or a SOTOPIA dump). Casts are drawn with
:func:`scenarios.graph.sample_setups` (``--episodes`` per scenario). Agent specs (one per role, in
role order) are those of :func:`agents.specs.build_agent`: ``local``, ``sip:MODEL``, ``human``,
``scripted:a|b|c`` or a litellm model string. With ``human`` the episodes run one at a time.
Episodes are written to ``OUT/episodes.jsonl``; the exit status is 1 when any episode failed.

The command lives here, above ``envs`` and ``agents``, because it builds agents for the env's
runner; ``python -m envs.episode`` and ``python -m envs`` are the same command under its first name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.specs import build_agent
from envs.registry import UnknownEnvError, resolve_scenario_spec
from envs.runner import run_episodes
from envs.sinks import JSONLSink
from envs.social import TurnMode
from envs.types import ActionType, Episode, EpisodeStatus, Turn
from scenarios.collection import LibraryError, ScenarioFileError
from scenarios.graph import sample_setups
from scenarios.schema import EpisodeSetup

_ACT_STYLE = {
    ActionType.speak: "",
    ActionType.non_verbal: "italic",
    ActionType.action: "italic cyan",
    ActionType.leave: "yellow",
    ActionType.none: "dim",
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m envs.episode",  # the name users know (python -m eval.episode works too)
        description="Run social episodes between agents, with a live transcript.",
    )
    parser.add_argument(
        "--scenario", required=True, help="scenario id, sotopia, sotopia-hard, sotopia:PATH, or a path"
    )
    parser.add_argument(
        "--agents", nargs="+", required=True, metavar="SPEC", help="one agent spec per role, in role order"
    )
    parser.add_argument("--api-base", default=None, help="OpenAI-compatible server for model specs")
    parser.add_argument("--episodes", type=int, default=1, help="episodes per scenario (default 1)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="episodes at a time (default 4; 1 with a human)"
    )
    parser.add_argument("--max-turns", type=int, default=None, help="turn limit (default: the scenario's)")
    parser.add_argument(
        "--max-stale-turns", type=int, default=4, help="steps of only 'none' that end an episode"
    )
    parser.add_argument(
        "--turn-mode", choices=[m.value for m in TurnMode], default=TurnMode.round_robin.value
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for drawing casts (default 0)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default runs/episodes-<timestamp>)"
    )
    parser.add_argument("--act-timeout", type=float, default=None, help="seconds an agent may take per act")
    return parser


def resolve_setups(scenario: str, episodes: int, seed: int) -> list[EpisodeSetup]:
    """The setups to play: ``episodes`` casts of each scenario ``scenario`` names."""
    library, ids = resolve_scenario_spec(scenario)
    return sample_setups(library, ids, n=episodes, seed=seed)


class LiveTranscript:
    """Prints turns as they happen, each line prefixed with its episode number."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.width = len(str(total))
        self.started: set[int] = set()

    def _prefix(self, episode: Episode) -> Text:
        number = (episode.metadata.batch_index or 0) + 1
        return Text(f"[{number:>{self.width}}] ", style="dim")

    def on_turn(self, episode: Episode, turn: Turn) -> None:
        """Print one turn (and the episode header before its first turn)."""
        number = episode.metadata.batch_index or 0
        if number not in self.started:
            self.started.add(number)
            cast = " vs ".join(
                f"{name} ({episode.agent_models.get(name, '?')})" for name in episode.setup.agent_names
            )
            self.console.print(
                self._prefix(episode) + Text(f"{episode.setup.scenario.id}: {cast}", style="bold")
            )
        line = Text(f"#{turn.index} ", style="dim") + Text(
            turn.action.render(turn.agent), style=_ACT_STYLE[turn.action.action_type]
        )
        self.console.print(self._prefix(episode) + line)

    def on_end(self, episode: Episode) -> None:
        """Print how an episode ended."""
        if episode.status is EpisodeStatus.failed:
            self.console.print(self._prefix(episode) + Text(f"FAILED: {episode.error}", style="bold red"))
        else:
            self.console.print(
                self._prefix(episode)
                + Text(
                    f"finished ({episode.termination_reason}) after {len(episode.turns)} acts", style="green"
                )
            )


def summary_table(episodes: Sequence[Episode], wall_s: float, out: Path) -> Table:
    """Counts, turns and wall time of a run."""
    failed = [e for e in episodes if e.status is EpisodeStatus.failed]
    table = Table(title="Episodes", show_header=False)
    table.add_row("written to", str(out / "episodes.jsonl"))
    table.add_row("episodes", str(len(episodes)))
    table.add_row("finished", str(len(episodes) - len(failed)))
    table.add_row("failed", str(len(failed)))
    table.add_row("acts", str(sum(len(e.turns) for e in episodes)))
    table.add_row("wall time", f"{wall_s:.1f} s")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    try:
        setups = resolve_setups(args.scenario, args.episodes, args.seed)
        for spec in args.agents:
            build_agent(spec, api_base=args.api_base)
    except (UnknownEnvError, LibraryError, ScenarioFileError, ValueError) as exc:
        console.print(Text(f"error: {exc}", style="red"))
        return 2
    wrong = sorted({s.scenario.id for s in setups if s.scenario.num_roles != len(args.agents)})
    if wrong:
        console.print(
            Text(
                f"error: {len(args.agents)} agent spec(s) given but scenario(s) {', '.join(wrong)} "
                "need a different number of roles",
                style="red",
            )
        )
        return 2
    concurrency = 1 if "human" in args.agents else max(1, args.concurrency)
    out: Path = args.out or Path("runs") / f"episodes-{datetime.now():%Y%m%d-%H%M%S}"
    sink = JSONLSink(out)
    live = LiveTranscript(console, len(setups))
    env_kwargs: dict[str, Any] = {
        "turn_mode": args.turn_mode,
        "max_turns": args.max_turns,
        "max_stale_turns": args.max_stale_turns,
    }

    def agents_for(setup: EpisodeSetup) -> list[Any]:
        return [build_agent(spec, api_base=args.api_base) for spec in args.agents]

    started = time.perf_counter()
    episodes = asyncio.run(
        run_episodes(
            setups,
            agents_for,
            concurrency=concurrency,
            sink=sink,
            env_kwargs=env_kwargs,
            progress=live.on_end,
            on_turn=live.on_turn,
            act_timeout_s=args.act_timeout,
        )
    )
    console.print(summary_table(episodes, time.perf_counter() - started, out))
    return 1 if any(e.status is EpisodeStatus.failed for e in episodes) else 0


if __name__ == "__main__":
    sys.exit(main())
