"""Shared fixtures: where the shared data lives, an env without network, and the Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Property tests: in CI (CI=true) every run draws the same examples (derandomize), so a red build
# is reproducible and never a lucky draw; a failure prints a blob to replay it with
# @reproduce_failure. Locally ("dev") draws stay random, to keep finding new cases. Neither
# profile sets max_examples (each test keeps its own) and neither has a per-example deadline:
# tests assert no wall-clock bounds. HYPOTHESIS_PROFILE=ci|dev picks one explicitly.
# Both build on Hypothesis' own defaults, not on whatever profile it picked from the environment.
_BASE = settings.get_profile("default")
settings.register_profile("ci", _BASE, derandomize=True, print_blob=True, deadline=None, database=None)
settings.register_profile("dev", _BASE, deadline=None)
_in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _in_ci else "dev"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SOCIALGYM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (../shared/data); tests that need it skip loudly if it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set SOCIALGYM_SHARED_DATA)")
    return SHARED_DATA
