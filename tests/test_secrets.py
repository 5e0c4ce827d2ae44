"""API keys never reach disk: a provider that echoes the key in its error message is redacted everywhere."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer, Reply

from agents.client import LLMCallError, redact

ENV_KEY = "sk-live-ENVKEY0123456789abcdef"
GIVEN_KEY = "custom-token-GIVEN9876543210"


def test_redact_removes_given_env_and_key_shaped_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    text = f"bad key {ENV_KEY}; header Bearer abcdefgh12345678; other sk-ant-api03-XYZXYZXYZXYZ and {GIVEN_KEY}"
    clean = redact(text, GIVEN_KEY)
    for secret in (ENV_KEY, "abcdefgh12345678", "sk-ant-api03-XYZXYZXYZXYZ", GIVEN_KEY):
        assert secret not in clean
    assert clean.count("[redacted]") == 4 and clean.startswith("bad key ")
    assert GIVEN_KEY not in str(LLMCallError(f"401: {GIVEN_KEY}", secret=GIVEN_KEY))


def test_echoed_key_reaches_no_file_of_an_evaluation_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eval.interactive import main
    from eval.store import EpisodeStore

    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    out = tmp_path / "run"
    echo = Reply.error(401, f"Incorrect API key provided: {ENV_KEY}. You can find your key at ...")
    with FakeLLMServer(default=echo) as server:
        code = main([
            "--model", "openai/fake", "--api-base", server.api_base, "--partner", "scripted:Hello.|Fine.",
            "--judge", "openai/fake", "--judge-api-base", server.api_base, "--scenarios", "sotopia-hard",
            "--limit", "1", "--out", str(out),
        ])  # fmt: skip
    assert code in (0, 1)
    with EpisodeStore(out, create=False) as store:
        episodes = store.episodes()
    assert episodes and all(e.status.value == "failed" for e in episodes)
    assert "[redacted]" in (episodes[0].error or "")
    from eval.report import main as report_main

    assert report_main([str(out), "-o", str(out / "report.html")]) == 0
    from eval.store import main as store_main

    export = tmp_path / "export.jsonl"
    with open(export, "w") as handle, contextlib.redirect_stdout(handle):
        store_main(["export", str(out)])
    assert ENV_KEY.encode() not in export.read_bytes()
    for path in out.rglob("*"):
        if path.is_file():
            assert ENV_KEY.encode() not in path.read_bytes(), path
    assert ENV_KEY not in json.dumps([e.model_dump(mode="json") for e in episodes])
