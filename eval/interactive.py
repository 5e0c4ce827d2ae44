"""Interactive evaluation: model(s) x partner(s) x scenario set, played, judged, stored, summarised.

    python -m eval.interactive --model sip:local --partner local --judge local \\
        --scenarios sotopia-hard --episodes-per-scenario 2 --concurrency 4 --out runs/demo

Planning. ``--scenarios`` names the set (``sotopia``, ``sotopia-hard``, ``sotopia:PATH`` or one
scenario id); ``--limit K`` keeps its first K scenarios sorted by id. Each scenario gets
``--episodes-per-scenario N`` casts: its first N fixed pairings when it has any (a SOTOPIA dump's
env-agent combos, reused in order when N exceeds them), else N casts drawn by
:func:`scenarios.graph.sample_setups` with ``--seed``. Every cast is played by every (model,
partner) pair with the test model on the ``--test-side`` (``first`` = role 0, the default, to keep
runs short; ``second`` = role 1; ``both`` plays each cast twice, sides swapped, as SOTOPIA does).
In a group scenario (``sotopia-group``: 3-4 roles) the partner spec plays every other seat, one
agent per seat; ``--turn-mode`` sets who speaks when (``round-robin``, ``random`` or
``simultaneous``), and the judge scores every agent.

Resume. Each planned episode has a deterministic id, a hash of (model, partner, side, setup id,
replica index, max turns, judge, judge dimensions): rerunning the same command into the same
``--out`` skips the finished ones and retries failed and missing ones; the store keeps replaced
versions. ``--rejudge-failed`` also judges again the finished episodes whose judgement failed,
without replaying them (the failed version stays in the store's history). Ctrl-C or SIGTERM
stores the episodes in flight as failed (``interrupted``) so their turns are kept; exit 130.

Judging. ``--judge`` may be repeated (a jury: per-dimension mean of the judges, Krippendorff's
alpha between them); ``--judge-repeats K`` asks each judge K times (spread per dimension);
``--judge-order both`` also judges with the agents in swapped order (order effect). Each
judgement is stored on its own beside the aggregate (``evaluation.judgements``). Judge calls are
cached by their exact request (``--judge-cache``), so re-judging is free and repeatable. Before
the start, a judge sharing a model family with a tested model is warned about, and paid judges'
estimated cost is printed. Scenarios with rule checks (``sotopia-verifiable``) are checked by code
too: outcomes per kind, and their agreement with the judge's goal score, are in the summary.
The run card (scenario set and hashes, models and sampling, seeds, turn caps, side, packages) is
stored with the run and in ``summary.json``.

Output. ``OUT/episodes.sqlite`` (:class:`eval.store.EpisodeStore`) gets every episode as it ends;
at the end a summary per (model, partner) over this command's planned episodes, the test model's
side only (mean and 95% t-interval per dimension, episode counts, failed episodes, failed
judgements), is printed and written to ``OUT/summary.json`` and to the store's run record.
Exit status: 0 all planned episodes finished, 1 some failed, 2 bad flags or input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from agents.client import ResponseCache, default_response_cache_dir
from agents.local_model import use_local_prompt_cache
from agents.specs import AgentSpecError, build_agent
from envs.evaluator import aevaluate_safely
from envs.outcome import apply_evaluation
from envs.pacing import ConcurrencyTuner
from envs.registry import UnknownEnvError, resolve_scenario_spec
from envs.runner import run_episodes
from envs.social import TurnMode
from envs.types import Episode, EpisodeMetadata, EpisodeStatus, InteractivePlay, Turn
from eval.judge import SotopiaJudge
from eval.jury import ORDERS, JudgePanel, describe_costs, estimate_cost, family_warnings
from eval.progress import progress_bar
from eval.reliability import CheckCounts, Reliability, check_counts, reliability
from eval.runcard import ModelEntry, RunCard, package_versions, scenario_hashes
from eval.stats import MeanCI, episode_judgement, mean_ci
from eval.store import EpisodeStore, StoreError, git_revision
from eval.verdict import VerdictForm
from scenarios.collection import LibraryError, ScenarioFileError, ScenarioLibrary
from scenarios.graph import sample_setups
from scenarios.schema import EpisodeSetup

Side = Literal["first", "second"]
SIDES: dict[str, tuple[Side, ...]] = {"first": ("first",), "second": ("second",), "both": ("first", "second")}
SIDE_ROLE: dict[Side, int] = {"first": 0, "second": 1}
SUMMARY_FILE = "summary.json"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """A bad flag or input; the message names the flag and the fix (exit status 2)."""


AUTO_START = 4
"""Episodes in flight that ``--concurrency auto`` starts from (enough for one single-slot server)."""

DEFAULT_LOCAL_PROMPT_CACHE_MB = 256
"""The embedded server's prompt cache during evaluation (bench/eval_throughput.py measures it)."""


class InteractiveConfig(BaseModel):
    """Everything one ``python -m eval.interactive`` invocation was asked to do (stored on the run)."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    partners: list[str] = Field(min_length=1)
    judges: list[str] = Field(
        default_factory=lambda: ["local"], min_length=1, description="One judge, or a jury."
    )
    scenarios: str = "sotopia-hard"
    limit: int | None = Field(None, ge=1)
    episodes_per_scenario: int = Field(1, ge=1)
    max_turns: int | None = Field(None, ge=1)
    test_side: Literal["first", "second", "both"] = "first"
    turn_mode: TurnMode = Field(
        TurnMode.round_robin, description="Who speaks when: round-robin, random (groups) or simultaneous."
    )
    seed: int = 0
    concurrency: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        4, description="Episodes at a time, or auto: doubled while the turn rate grows (envs.pacing)."
    )
    api_base: str | None = None
    partner_api_base: str | None = None
    judge_api_base: str | None = None
    judge_dimensions: str = "all"
    judge_attempts: int = Field(3, ge=1)
    judge_repeats: int = Field(1, ge=1, description="Judgements per judge and agent order (repeat spread).")
    judge_order: Literal["given", "swapped", "both"] = Field(
        "given", description="Agent order in the judge's prompt; both judges each episode in both orders."
    )
    judge_temperature: float = Field(0.0, ge=0.0)
    judge_form: VerdictForm = Field(
        "pair", description='Entry shape the judge is asked for: ["reasoning", N] (pair) or {"reasoning", "score"}.'
    )
    judge_cache: str | None = Field(
        "",
        description="Judge cache folder: '' the default ($SOCIALGYM_JUDGE_CACHE or the user cache), None off.",
    )
    act_timeout_s: float | None = Field(None, gt=0)
    rejudge_failed: bool = False
    local_prompt_cache_mb: int = Field(
        DEFAULT_LOCAL_PROMPT_CACHE_MB,
        ge=0,
        description="Prompt cache of the embedded server this run starts, in MiB (0: off).",
    )
    out: str

    @model_validator(mode="before")
    @classmethod
    def _one_judge(cls, data: Any) -> Any:
        # ``judge="model"`` (one judge, as before juries) is still accepted
        if isinstance(data, dict) and "judge" in data:
            data = dict(data)
            judge = data.pop("judge")
            data.setdefault("judges", [judge] if isinstance(judge, str) else list(judge))
        return data

    @property
    def judge(self) -> str:
        """The first judge (the only one unless a jury was asked for)."""
        return self.judges[0]


class PlannedEpisode(BaseModel):
    """One episode to play: who plays which role of which setup, and its deterministic id."""

    episode_id: str
    model: str
    partner: str
    side: Side
    replica: int = Field(ge=0, description="Index among plays of the same setup for one scenario.")
    max_turns: int | None = None
    setup: EpisodeSetup

    @property
    def test_role(self) -> int:
        """The role index the test model plays."""
        return SIDE_ROLE[self.side]

    @property
    def test_agent(self) -> str:
        """The test model's character name in the episode."""
        return self.setup.agent_names[self.test_role]

    def specs(self) -> list[str]:
        """The agent spec of every role, in role order (the partner plays every other role)."""
        return [
            self.model if role == self.test_role else self.partner for role in range(len(self.setup.agents))
        ]


def episode_id(
    model: str,
    partner: str,
    side: Side,
    setup_id: str,
    replica: int,
    max_turns: int | None,
    judge: str = "",
    turn_mode: str = TurnMode.round_robin,
) -> str:
    """Deterministic episode id: the same inputs give the same id, across processes and machines."""
    parts: list[Any] = [model, partner, side, setup_id, replica, max_turns, judge]
    if turn_mode != TurnMode.round_robin:  # round-robin ids stay as they were before turn orders
        parts.append(str(turn_mode))
    key = json.dumps(parts, separators=(",", ":"))
    return "ia-" + hashlib.sha256(key.encode()).hexdigest()[:24]


# -- planning ----------------------------------------------------------------------------------


def select_scenarios(spec: str, limit: int | None = None) -> tuple[ScenarioLibrary, list[str]]:
    """The library and the scenario ids ``--scenarios`` names, sorted by id, the first ``limit`` kept."""
    spec = spec.strip()
    try:
        library, ids = resolve_scenario_spec(spec)
    except (UnknownEnvError, LibraryError, ScenarioFileError) as exc:
        raise UsageError(
            f"--scenarios {spec!r}: {exc}\nuse sotopia, sotopia-hard, sotopia-verifiable, sotopia-group, sotopia:PATH (a scenario file/folder "
            "or a SOTOPIA dump) or a scenario id (python -m scenarios list)"
        ) from exc
    ids = sorted(ids)
    return library, ids[:limit] if limit is not None else ids


def plan_setups(
    library: ScenarioLibrary, scenario_ids: Sequence[str], per_scenario: int, seed: int = 0
) -> list[tuple[EpisodeSetup, int]]:
    """``per_scenario`` setups of each scenario with their replica index (0 unless a cast repeats).

    A scenario with fixed pairings (a SOTOPIA dump) uses its first ``per_scenario`` pairings in file
    order, cycling when it has fewer; others get casts drawn by :func:`sample_setups` with ``seed``.
    """
    planned: list[tuple[EpisodeSetup, int]] = []
    for scenario_id in scenario_ids:
        pairings = library.fixed_pairings(scenario_id)
        if pairings:
            setups = []
            for j in range(per_scenario):
                rng = random.Random(f"{seed}:{scenario_id}:{j}")
                cast = pairings[j % len(pairings)].agents
                setups.append(library.setup(scenario_id, cast, seed=rng.randrange(2**31)))
        else:
            setups = sample_setups(library, scenario_id, n=per_scenario, seed=seed)
        seen: Counter[str] = Counter()
        for setup in setups:
            planned.append((setup, seen[setup.id]))
            seen[setup.id] += 1
    return planned


def plan_episodes(
    setups: Sequence[tuple[EpisodeSetup, int]],
    models: Sequence[str],
    partners: Sequence[str],
    test_side: str = "first",
    max_turns: int | None = None,
    judge: str = "",
    turn_mode: str = TurnMode.round_robin,
) -> list[PlannedEpisode]:
    """Every (model, partner, side, setup) episode, in that nesting order, with unique ids."""
    if test_side not in SIDES:
        raise UsageError(f"--test-side {test_side!r}: use one of {', '.join(SIDES)}")
    plan: list[PlannedEpisode] = []
    for model in dict.fromkeys(models):
        for partner in dict.fromkeys(partners):
            for side in SIDES[test_side]:
                for setup, replica in setups:
                    plan.append(
                        PlannedEpisode(
                            episode_id=episode_id(
                                model, partner, side, setup.id, replica, max_turns, judge, turn_mode
                            ),
                            model=model,
                            partner=partner,
                            side=side,
                            replica=replica,
                            max_turns=max_turns,
                            setup=setup,
                        )
                    )
    duplicates = [key for key, count in Counter(p.episode_id for p in plan).items() if count > 1]
    if duplicates:
        raise AssertionError(f"planned episode ids are not unique: {duplicates[:3]}")
    return plan


Judge = SotopiaJudge | JudgePanel


def judge_key(judge: Judge) -> str:
    """What the episode ids depend on about the judge: its model(s), dimensions, and any repeats or temperature."""
    key = f"{judge.name}|{','.join(d.name for d in judge.dimensions)}"
    temperature = judge.judges[0].temperature if isinstance(judge, JudgePanel) else judge.temperature
    return key + (f"|t={temperature:g}" if temperature else "")


# -- summary -----------------------------------------------------------------------------------


class Failure(BaseModel):
    """One failed episode or failed judgement of the summary."""

    episode_id: str
    scenario_id: str
    kind: Literal["episode", "judgement", "missing"]
    error: str


class PairSummary(BaseModel):
    """Scores of one (model, partner) pair, the test model's side only."""

    model: str
    partner: str
    planned: int
    finished: int = 0
    failed: int = Field(0, description="Episodes that ended with an error (not judged).")
    missing: int = Field(0, description="Planned episodes not in the store (not run yet, or lost to a kill).")
    judged_ok: int = 0
    judgement_failed: int = 0
    unjudged: int = Field(0, description="Finished episodes without any judgement.")
    dimensions: dict[str, MeanCI] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """The summary of one invocation: per pair, plus every failure."""

    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    run_id: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    wall_s: float | None = None
    ran: int = Field(0, description="Episodes played by this invocation.")
    skipped: int = Field(0, description="Planned episodes already finished before this invocation.")
    rejudged: int = Field(0, description="Finished episodes judged again (--rejudge-failed).")
    pairs: list[PairSummary] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    checks: list[CheckCounts] = Field(
        default_factory=list, description="Rule-check outcomes of the test side."
    )
    reliability: Reliability | None = Field(
        None, description="Judge spread and agreement (eval.reliability)."
    )
    run_card: RunCard | None = None
    concurrency_trace: list[tuple[int, float]] = Field(
        default_factory=list,
        description="--concurrency auto: (episodes in flight, agent turns per second) per measured window.",
    )

    @property
    def all_finished(self) -> bool:
        """True when every planned episode finished."""
        return all(p.finished == p.planned for p in self.pairs)


def summarize(
    plan: Sequence[PlannedEpisode], stored: dict[str, Episode], dimensions: Sequence[str] = ()
) -> RunSummary:
    """Per (model, partner): counts and, over ok judgements, mean ± 95% CI of the test side's scores.

    ``stored`` maps episode id -> stored episode. Failed judgements are counted, never scored.
    """
    summary = RunSummary()
    pairs: dict[tuple[str, str], PairSummary] = {}
    values: dict[tuple[str, str], dict[str, list[float]]] = {}
    for item in plan:
        key = (item.model, item.partner)
        if key not in pairs:
            pairs[key] = PairSummary(model=item.model, partner=item.partner, planned=0)
            values[key] = {name: [] for name in dimensions}
        pair = pairs[key]
        pair.planned += 1
        scenario_id = item.setup.scenario.id
        episode = stored.get(item.episode_id)
        if episode is None or episode.status is EpisodeStatus.running:
            pair.missing += 1
            summary.failures.append(
                Failure(
                    episode_id=item.episode_id,
                    scenario_id=scenario_id,
                    kind="missing",
                    error="not played yet",
                )
            )
            continue
        if episode.status is EpisodeStatus.failed:
            pair.failed += 1
            summary.failures.append(
                Failure(
                    episode_id=item.episode_id,
                    scenario_id=scenario_id,
                    kind="episode",
                    error=episode.error or "failed",
                )
            )
            continue
        pair.finished += 1
        judgement = episode_judgement(episode)
        if judgement is None:
            pair.unjudged += 1
            continue
        if not judgement.ok:
            pair.judgement_failed += 1
            summary.failures.append(
                Failure(
                    episode_id=item.episode_id,
                    scenario_id=scenario_id,
                    kind="judgement",
                    error=judgement.error or "judgement failed",
                )
            )
            continue
        pair.judged_ok += 1
        for dimension, entry in judgement.scores.get(item.test_agent, {}).items():
            values[key].setdefault(dimension, []).append(entry.score)
    for key, pair in pairs.items():
        pair.dimensions = {name: mean_ci(scores) for name, scores in values[key].items()}
    summary.pairs = list(pairs.values())
    played = [stored[i.episode_id] for i in plan if i.episode_id in stored]
    summary.checks = check_counts(played, [(i.episode_id, i.test_agent) for i in plan])
    found = reliability(played)
    summary.reliability = None if found.empty else found
    return summary


def render_summary(summary: RunSummary, console: Console) -> None:
    """Print one table per (model, partner) and the failures."""
    for pair in summary.pairs:
        title = (
            f"{pair.model} (test) vs {pair.partner}: {pair.planned} planned, {pair.finished} finished, "
            f"{pair.failed} failed, {pair.missing} missing; judgements {pair.judged_ok} ok, "
            f"{pair.judgement_failed} failed, {pair.unjudged} none"
        )
        console.print(title, markup=False, highlight=False)
        table = Table()
        table.add_column("dimension")
        table.add_column("mean", justify="right")
        table.add_column("95% CI", justify="right")
        table.add_column("n", justify="right")
        for name, stats in pair.dimensions.items():
            mean = f"{stats.mean:.2f}" if stats.mean is not None else "–"
            interval = f"[{stats.low:.2f}, {stats.high:.2f}]" if stats.low is not None else "–"
            table.add_row(name, mean, interval, str(stats.n))
        console.print(table)
    if summary.checks:
        table = Table(title="rule checks (test side)")
        for column in ("kind", "pass", "fail", "undecidable"):
            table.add_column(column, justify="left" if column == "kind" else "right")
        for row in summary.checks:
            table.add_row(row.kind, str(row.passed), str(row.failed), str(row.undecidable))
        console.print(table)
    if summary.reliability is not None:
        render_reliability(summary.reliability, console)
    if summary.failures:
        counts = Counter(f.kind for f in summary.failures)
        console.print("failures: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
        for failure in summary.failures[:20]:
            console.print(
                f"  {failure.kind:<9} {failure.episode_id} {failure.scenario_id}: {failure.error[:200]}",
                markup=False,
                highlight=False,
            )
        if len(summary.failures) > 20:
            console.print(f"  ... {len(summary.failures) - 20} more in {SUMMARY_FILE}")


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_reliability(found: Reliability, console: Console) -> None:
    """Print the judge-reliability tables (both sides of every episode)."""
    console.print(
        f"judge reliability: {found.judgements} judgements stored ({found.cached} from the cache)",
        highlight=False,
    )
    if found.jury:
        table = Table(title="jury agreement (Krippendorff's alpha, interval; judges x (episode, agent))")
        for column in ("dimension", "judges", "units", "alpha", "jury mean"):
            table.add_column(column, justify="left" if column == "dimension" else "right")
        for row in found.jury:
            table.add_row(row.dimension, str(row.judges), str(row.units), _num(row.alpha), row.mean.format())
        console.print(table)
    if found.repeats:
        table = Table(title="repeat spread (one judge, same episode)")
        for column in ("judge", "dimension", "units", "mean sd", "alpha"):
            table.add_column(column, justify="left" if column in ("judge", "dimension") else "right")
        for row in found.repeats:
            table.add_row(row.judge, row.dimension, str(row.units), _num(row.mean_sd), _num(row.alpha))
        console.print(table)
    if found.order:
        table = Table(title="order effect (given - swapped agent order)")
        for column in ("judge", "dimension", "mean difference"):
            table.add_column(column, justify="left" if column != "mean difference" else "right")
        for row in found.order:
            table.add_row(row.judge, row.dimension, row.difference.format())
        console.print(table)
    if found.rules is not None:
        rules = found.rules
        console.print(
            f"rule checks vs judge goal ({rules.n} agents): Pearson r {_num(rules.pearson_r)}, AUC {_num(rules.auc)}; "
            f"goal when all checks passed {rules.goal_when_all_passed.format()}, when one failed "
            f"{rules.goal_when_some_failed.format()}",
            highlight=False,
        )


def write_summary(summary: BaseModel, out: Path) -> Path:
    """Write ``OUT/summary.json`` atomically (a crash never leaves half a file); the suite's too."""
    path = out / SUMMARY_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- running -----------------------------------------------------------------------------------


def stamp(episode: Episode, item: PlannedEpisode) -> Episode:
    """Give a played episode its planned id, the specs as written, and the plan's details."""
    episode.id = item.episode_id
    episode.agent_models = dict(zip(episode.setup.agent_names, item.specs(), strict=True))
    episode.metadata.interactive = InteractivePlay(
        model=item.model,
        partner=item.partner,
        side=item.side,
        test_agent=item.test_agent,
        replica=item.replica,
        max_turns=item.max_turns,
    )
    return episode


def _batch_index(episode: Episode) -> int:
    index = episode.metadata.batch_index
    if index is None:  # run_episodes numbers every episode it plays
        raise RuntimeError(f"episode {episode.id} has no batch_index: it was not played by run_episodes")
    return index


class _PlanSink:
    """Stamps each finished episode with its plan entry, then writes it to the store."""

    def __init__(self, store: EpisodeStore, todo: Sequence[PlannedEpisode]) -> None:
        self.store = store
        self.todo = todo
        self.live: dict[int, Episode] = {}
        self.sinking: set[int] = set()
        self.writes: set[asyncio.Future[None]] = set()

    def on_turn(self, episode: Episode, turn: Turn) -> None:
        """Remember episodes in flight, so an interruption can keep their turns."""
        self.live[_batch_index(episode)] = episode

    async def write(self, episode: Episode) -> None:
        """Store one ended episode under its planned id."""
        index = _batch_index(episode)
        self.sinking.add(index)
        self.live.pop(index, None)
        write = asyncio.ensure_future(self.store.write(stamp(episode, self.todo[index])))
        self.writes.add(write)
        write.add_done_callback(self.writes.discard)
        await asyncio.shield(write)  # a cancelled run still finishes writing what has ended

    async def drain(self) -> None:
        """Wait for the writes already under way (after an interruption)."""
        if self.writes:
            await asyncio.gather(*self.writes, return_exceptions=True)

    def keep_interrupted(self) -> int:
        """Store every episode still in flight as failed (``interrupted``); returns how many."""
        kept = 0
        for index, episode in list(self.live.items()):
            if index in self.sinking:
                continue
            episode.status = EpisodeStatus.failed
            episode.error = f"interrupted after {len(episode.turns)} turns; rerun the command to retry it"
            episode.finished_at = datetime.now(UTC)
            self.store.put(stamp(episode, self.todo[index]))
            kept += 1
        return kept


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C or SIGTERM); finished episodes are stored."""


def build_judge(config: InteractiveConfig) -> Judge:
    """The judge the config names: one :class:`SotopiaJudge`, or a :class:`JudgePanel` for a jury,
    repeats or swapped orders (``UsageError`` for a spec that is not a model)."""
    cache = None
    if config.judge_cache is not None:
        cache = ResponseCache(
            Path(config.judge_cache) if config.judge_cache else default_response_cache_dir()
        )
    judges = []
    for raw in dict.fromkeys(config.judges):
        spec = raw.strip()
        if not spec or spec == "human" or spec.startswith(("scripted:", "sip:")):
            raise UsageError(f"--judge {raw!r}: the judge must be a model: 'local' or a litellm model string")
        try:
            judges.append(
                SotopiaJudge(
                    spec,
                    api_base=config.judge_api_base,
                    dimensions=config.judge_dimensions,
                    max_attempts=config.judge_attempts,
                    temperature=config.judge_temperature,
                    verdict_form=config.judge_form,
                    cache=cache,
                )
            )
        except ValueError as exc:
            raise UsageError(f"--judge-dimensions {config.judge_dimensions!r}: {exc}") from exc
    if len(judges) == 1 and config.judge_repeats == 1 and config.judge_order == "given":
        return judges[0]
    return JudgePanel(judges, repeats=config.judge_repeats, orders=ORDERS[config.judge_order])


def judges_of(judge: Judge) -> list[SotopiaJudge]:
    """The single judges of a judge or panel."""
    return judge.judges if isinstance(judge, JudgePanel) else [judge]


def build_run_card(
    config: InteractiveConfig,
    plan: Sequence[PlannedEpisode],
    judge: Judge,
    warnings: Sequence[str],
    costs: Any,
) -> RunCard:
    """The run card of a planned run (see :mod:`eval.runcard`)."""
    unique = list({item.setup.id + f"#{item.replica}": item.setup for item in plan}.values())
    ids, scenarios_hash, setups_hash = scenario_hashes(unique)
    models: list[ModelEntry] = []
    for role, specs, base in (
        ("test", config.models, config.api_base),
        ("partner", config.partners, config.partner_api_base),
    ):
        for spec in dict.fromkeys(specs):
            agent = build_agent(spec, api_base=base)
            models.append(
                ModelEntry(
                    role=role,
                    spec=spec,
                    api_base=base,
                    temperature=getattr(agent, "temperature", None),
                    max_tokens=getattr(agent, "max_tokens", None),
                    seed="episode setup seed + role index",
                )
            )
    for single in judges_of(judge):
        models.append(
            ModelEntry(
                role="judge",
                spec=single.spec,
                api_base=config.judge_api_base,
                temperature=single.temperature,
                max_tokens=single.max_tokens,
                seed=None,
            )
        )
    cache = judges_of(judge)[0].cache
    return RunCard(
        scenario_set=config.scenarios,
        scenario_ids=ids,
        scenarios_sha256=scenarios_hash,
        setups_sha256=setups_hash,
        episodes=len(plan),
        models=models,
        judge_repeats=config.judge_repeats,
        judge_orders=list(ORDERS[config.judge_order]),
        judge_dimensions=[d.name for d in judge.dimensions],
        judge_cache=str(cache.directory) if cache is not None else None,
        seed=config.seed,
        max_turns=config.max_turns,
        scenario_max_turns={s.scenario.id: s.scenario.max_turns for s in unique},
        test_side=config.test_side,
        packages=package_versions(),
        git_revision=git_revision(),
        warnings=list(warnings),
        cost=[c.model_dump() for c in costs],
    )


def check_agent_specs(config: InteractiveConfig) -> None:
    """Build each model and partner spec once (nothing starts), so a bad one fails before any episode."""
    for flag, specs in (("--model", config.models), ("--partner", config.partners)):
        for spec in specs:
            if spec.strip() == "human":
                raise UsageError(
                    f"{flag} human: batch evaluation cannot ask a person; play with python -m envs.episode"
                )
            try:
                build_agent(spec)
            except (AgentSpecError, ValueError) as exc:
                raise UsageError(f"{flag} {spec!r}: {exc}") from exc


def plan_run(config: InteractiveConfig, judge: Judge) -> list[PlannedEpisode]:
    """The full plan of a config (``UsageError`` for scenario problems)."""
    library, ids = select_scenarios(config.scenarios, config.limit)
    try:
        setups = plan_setups(library, ids, config.episodes_per_scenario, config.seed)
    except LibraryError as exc:
        raise UsageError(f"--scenarios {config.scenarios!r}: {exc}") from exc
    return plan_episodes(
        setups,
        config.models,
        config.partners,
        config.test_side,
        config.max_turns,
        judge_key(judge),
        config.turn_mode,
    )


def _progress(label: str, console: Console) -> Progress:
    counts = "ok {task.fields[ok]} · failed {task.fields[failed]} · judge failed {task.fields[jfailed]}"
    return progress_bar(label, fields=counts, eta=True, console=console)


async def play(
    config: InteractiveConfig,
    todo: Sequence[PlannedEpisode],
    store: EpisodeStore,
    judge: Judge,
    console: Console | None = None,
    concurrency: int | ConcurrencyTuner | None = None,
) -> list[Episode]:
    """Play and judge ``todo`` concurrently, storing each episode as it ends, with a progress bar.

    ``concurrency`` overrides ``config.concurrency`` (a tuner for ``auto``, see :func:`episode_concurrency`).

    Ctrl-C / SIGTERM: the episodes in flight are stored as failed and :class:`Interrupted` is raised.
    """
    if not todo:
        return []
    console = console or Console(stderr=True)
    sink = _PlanSink(store, todo)
    setups = [item.setup.model_copy() for item in todo]  # one object per entry: the factory finds its entry
    by_identity = {id(setup): item for setup, item in zip(setups, todo, strict=True)}

    def agents_for(setup: EpisodeSetup) -> list[Any]:
        item = by_identity[id(setup)]
        seed = setup.seed
        return [
            build_agent(
                spec,
                api_base=config.api_base if role == item.test_role else config.partner_api_base,
                seed=None if seed is None else seed + role,
            )
            for role, spec in enumerate(item.specs())
        ]

    counts = Counter[str]()
    with _progress("episodes", console) as progress:
        task = progress.add_task("episodes", total=len(todo), ok=0, failed=0, jfailed=0)

        def advance(episode: Episode) -> None:
            judgement = episode_judgement(episode)
            if episode.status is not EpisodeStatus.finished:
                counts["failed"] += 1
                line = f" {episode.id} {episode.setup.scenario.id}: {(episode.error or '')[:200]}"
                progress.console.print(Text.assemble(("failed", "red"), line))
            elif judgement is not None and not judgement.ok:
                counts["jfailed"] += 1
            else:
                counts["ok"] += 1
            progress.update(
                task, advance=1, ok=counts["ok"], failed=counts["failed"], jfailed=counts["jfailed"]
            )

        env_kwargs: dict[str, Any] = {"turn_mode": config.turn_mode}
        if config.max_turns:
            env_kwargs["max_turns"] = config.max_turns
        runner = asyncio.ensure_future(
            run_episodes(
                setups,
                agents_for,
                concurrency=episode_concurrency(config) if concurrency is None else concurrency,
                sink=sink,
                evaluator=judge,
                env_kwargs=env_kwargs,
                progress=advance,
                on_turn=sink.on_turn,
                act_timeout_s=config.act_timeout_s,
            )
        )
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, runner.cancel)
        try:
            return await runner
        except asyncio.CancelledError:
            await sink.drain()
            kept = sink.keep_interrupted()
            raise Interrupted(f"{kept} episodes in flight stored as interrupted") from None
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)


def _fixed(concurrency: int | ConcurrencyTuner) -> int:
    return concurrency.limit if isinstance(concurrency, ConcurrencyTuner) else concurrency


def episode_concurrency(config: InteractiveConfig) -> int | ConcurrencyTuner:
    """``config.concurrency`` for the runner: the number, or a fresh tuner for ``auto``."""
    return ConcurrencyTuner(start=AUTO_START) if config.concurrency == "auto" else config.concurrency


def needs_judgement(episode: Episode | None) -> bool:
    """True for a finished episode whose judgement failed or is missing."""
    if episode is None or episode.status is not EpisodeStatus.finished:
        return False
    judgement = episode_judgement(episode)
    return judgement is None or not judgement.ok


async def rejudge(
    episodes: Sequence[Episode], store: EpisodeStore, judge: Judge, concurrency: int, console: Console
) -> Counter[str]:
    """Judge finished episodes again without replaying them; each is stored as it is judged.

    The earlier version (with its failed judgement) stays in the store's history.
    """
    gate = asyncio.Semaphore(concurrency)
    counts = Counter[str]()
    with _progress("rejudged", console) as progress:
        task = progress.add_task("rejudge", total=len(episodes), ok=0, failed=0, jfailed=0)

        async def one(episode: Episode) -> None:
            async with gate:
                evaluation = await aevaluate_safely(judge, episode)
            apply_evaluation(episode, evaluation)
            store.put(episode)  # synchronous with the line above: an interruption cannot split them
            counts["ok" if evaluation.ok else "jfailed"] += 1
            progress.update(task, advance=1, ok=counts["ok"], jfailed=counts["jfailed"])

        await asyncio.gather(*(one(episode) for episode in episodes))
    return counts


def _stored(store: EpisodeStore, plan: Iterable[PlannedEpisode]) -> dict[str, Episode]:
    return {item.episode_id: ep for item in plan if (ep := store.get(item.episode_id)) is not None}


async def evaluate(config: InteractiveConfig, console: Console | None = None) -> RunSummary:
    """Plan, skip what is finished, play and judge the rest, store, and summarise (see the module doc)."""
    started = time.perf_counter()
    console = console or Console(stderr=True)
    use_local_prompt_cache(config.local_prompt_cache_mb)
    check_agent_specs(config)
    judge = build_judge(config)
    plan = plan_run(config, judge)
    warnings = family_warnings(config.models, config.judges)
    for warning in warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False, style="yellow")
    if config.judge_repeats > 1 and config.judge_temperature == 0:
        console.print(
            "note: --judge-repeats at --judge-temperature 0 measures only the provider's own nondeterminism",
            highlight=False,
        )
    out = Path(config.out)
    try:
        store = EpisodeStore(out)
    except StoreError as exc:
        raise UsageError(f"--out {config.out}: {exc}") from exc
    try:
        done = store.finished_keys()
        todo = [item for item in plan if item.episode_id not in done]
        calls = (judge.repeats * len(judge.orders)) if isinstance(judge, JudgePanel) else 1
        pending = [
            Episode(id=i.episode_id, setup=i.setup, metadata=EpisodeMetadata(max_turns=i.max_turns))
            for i in todo
        ]
        costs = estimate_cost(judges_of(judge), pending, calls)
        priced = describe_costs(costs)
        if priced:
            console.print(priced, markup=False, highlight=False)
        card = build_run_card(config, plan, judge, warnings, costs)
        info = store.start_run(config, models=[*config.models, *config.partners, *config.judges], card=card)
        console.print(
            f"{len(plan)} episodes planned ({len(plan) - len(todo)} already finished, {len(todo)} to play) "
            f"into {store.path}",
            highlight=False,
        )
        concurrency = episode_concurrency(config)
        await play(config, todo, store, judge, console, concurrency)
        again: list[Episode] = []
        if config.rejudge_failed:
            earlier = _stored(store, [item for item in plan if item.episode_id in done])
            again = [episode for episode in earlier.values() if needs_judgement(episode)]
        if again:
            console.print(
                f"judging again {len(again)} finished episodes whose judgement failed", highlight=False
            )
            await rejudge(again, store, judge, _fixed(concurrency), console)
        summary = summarize(plan, _stored(store, plan), [d.name for d in judge.dimensions])
        summary.run_card = card
        summary.run_id = info.run_id
        summary.config = config.model_dump(mode="json")
        summary.wall_s = time.perf_counter() - started
        summary.ran, summary.skipped, summary.rejudged = len(todo), len(plan) - len(todo), len(again)
        if isinstance(concurrency, ConcurrencyTuner):
            summary.concurrency_trace = list(concurrency.history)
        write_summary(summary, out)
        store.finish_run(summary)
        return summary
    finally:
        store.close()


# -- command line ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that names the fix: errors exit 2 with the message and a usage hint."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = _Parser(prog="python -m eval.interactive", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="SPEC",
        help="test agent spec (repeatable): local, sip:MODEL, a litellm model string, scripted:...",
    )
    p.add_argument(
        "--partner", action="append", required=True, metavar="SPEC", help="partner agent spec (repeatable)"
    )
    p.add_argument(
        "--judge",
        action="append",
        metavar="MODEL",
        help="judge model: local (default) or a litellm model string; repeat for a jury (per-dimension mean "
        "and Krippendorff's alpha)",
    )
    p.add_argument(
        "--scenarios",
        default="sotopia-hard",
        help="sotopia, sotopia-hard (default), sotopia-verifiable, sotopia-group (3-4 roles), sotopia:PATH or a scenario id",
    )
    p.add_argument(
        "--limit", type=int, default=None, help="keep the first K scenarios of the set (sorted by id)"
    )
    p.add_argument("--episodes-per-scenario", type=int, default=1, help="casts per scenario (default 1)")
    p.add_argument("--max-turns", type=int, default=None, help="turn limit (default: each scenario's)")
    p.add_argument(
        "--turn-mode",
        choices=[m.value for m in TurnMode],
        default=TurnMode.round_robin.value,
        help="who speaks when: round-robin (default; seat order), random (one speaker a step, never "
        "the same twice running; for groups) or simultaneous (everyone every step)",
    )
    p.add_argument(
        "--test-side",
        choices=list(SIDES),
        default="first",
        help="role the test model plays: first (default), second, or both (doubles the episodes)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for drawing casts (default 0)")
    p.add_argument(
        "--concurrency",
        type=_concurrency_flag,
        default=4,
        metavar="N|auto",
        help="episodes at a time (default 4), or auto: start at 4 and double while the rate of finished "
        "turns grows (servers with many slots: vLLM, providers)",
    )
    p.add_argument("--api-base", default=None, help="OpenAI-compatible server of the test model(s)")
    p.add_argument("--partner-api-base", default=None, help="OpenAI-compatible server of the partner(s)")
    p.add_argument("--judge-api-base", default=None, help="OpenAI-compatible server of the judge")
    p.add_argument(
        "--judge-dimensions", default="all", help="all (default), goal, or a comma list of dimensions"
    )
    p.add_argument("--judge-attempts", type=int, default=3, help="judge tries per episode on invalid output")
    p.add_argument(
        "--judge-repeats", type=int, default=1, help="judgements per judge and order (per-dimension spread)"
    )
    p.add_argument(
        "--judge-order",
        choices=list(ORDERS),
        default="given",
        help="agent order in the judge's prompt: given (default), swapped, or both (order effect)",
    )
    p.add_argument(
        "--judge-temperature", type=float, default=0.0, help="judge sampling temperature (default 0)"
    )
    p.add_argument(
        "--judge-form",
        choices=list(get_args(VerdictForm)),
        default="pair",
        help='judge entry shape: pair ["reasoning", N], SOTOPIA\'s and the shorter (default), or object '
        '{"reasoning": ..., "score": N}',
    )
    p.add_argument(
        "--judge-cache",
        default="",
        metavar="DIR",
        help="judge cache folder (default $SOCIALGYM_JUDGE_CACHE or ~/.cache/socialgym/judge-cache); 'none' for no cache",
    )
    p.add_argument("--act-timeout", type=float, default=None, help="seconds an agent may take per act")
    p.add_argument(
        "--local-prompt-cache",
        type=int,
        default=DEFAULT_LOCAL_PROMPT_CACHE_MB,
        metavar="MIB",
        help="prompt cache of the embedded server (local model, partner or judge) in MiB: a turn that "
        f"extends an earlier prompt evaluates only its new tokens (default {DEFAULT_LOCAL_PROMPT_CACHE_MB}; 0 off)",
    )
    p.add_argument(
        "--rejudge-failed",
        action="store_true",
        help="judge again finished episodes whose judgement failed, without replaying them",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="run folder (episodes.sqlite, summary.json); rerun into it to resume",
    )
    return p


def _concurrency_flag(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a number of episodes or auto, got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> InteractiveConfig:
    """Validate parsed flags into a config (``UsageError`` naming the flag)."""
    for flag, value in (
        ("--limit", args.limit),
        ("--episodes-per-scenario", args.episodes_per_scenario),
        ("--max-turns", args.max_turns),
        ("--concurrency", None if args.concurrency == "auto" else args.concurrency),
        ("--judge-attempts", args.judge_attempts),
        ("--judge-repeats", args.judge_repeats),
    ):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.act_timeout is not None and args.act_timeout <= 0:
        raise UsageError(f"--act-timeout must be positive seconds, got {args.act_timeout}")
    if args.judge_temperature < 0:
        raise UsageError(f"--judge-temperature must be 0 or more, got {args.judge_temperature}")
    if args.local_prompt_cache < 0:
        raise UsageError(f"--local-prompt-cache must be 0 (off) or more MiB, got {args.local_prompt_cache}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a folder; give a run folder")
    return InteractiveConfig(
        models=args.model,
        partners=args.partner,
        judges=args.judge or ["local"],
        scenarios=args.scenarios,
        limit=args.limit,
        episodes_per_scenario=args.episodes_per_scenario,
        max_turns=args.max_turns,
        test_side=args.test_side,
        turn_mode=args.turn_mode,
        seed=args.seed,
        concurrency=args.concurrency,
        api_base=args.api_base,
        partner_api_base=args.partner_api_base,
        judge_api_base=args.judge_api_base,
        judge_dimensions=args.judge_dimensions,
        judge_attempts=args.judge_attempts,
        judge_repeats=args.judge_repeats,
        judge_order=args.judge_order,
        judge_temperature=args.judge_temperature,
        judge_form=args.judge_form,
        judge_cache=None if args.judge_cache.strip().lower() == "none" else args.judge_cache,
        act_timeout_s=args.act_timeout,
        rejudge_failed=args.rejudge_failed,
        local_prompt_cache_mb=args.local_prompt_cache,
        out=str(args.out),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.interactive``: returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, message already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    err = Console(stderr=True)
    out = Console()
    try:
        config = config_from_args(args)
        summary = asyncio.run(evaluate(config, err))
    except UsageError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return EXIT_USAGE
    except (Interrupted, KeyboardInterrupt, asyncio.CancelledError) as exc:
        detail = f": {exc}" if isinstance(exc, Interrupted) else ""
        err.print(
            f"interrupted{detail}. Finished episodes are stored in {args.out}; rerun the same command to "
            "resume.",
            markup=False,
            highlight=False,
        )
        return EXIT_INTERRUPTED
    render_summary(summary, out)
    out.print(
        f"ran {summary.ran}, skipped {summary.skipped} already finished; wall time {summary.wall_s:.1f}s; "
        f"summary: {Path(config.out) / SUMMARY_FILE}",
        highlight=False,
    )
    return EXIT_OK if summary.all_finished else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
