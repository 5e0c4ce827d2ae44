"""The HTML report: content, escaping of hostile model text, the CLI, and a real headless browser."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import pytest
from conftest import require
from test_store import make_episode, make_setup

from envs.types import EpisodeStatus
from eval.report import render_report, script_json, write_report
from eval.store import EpisodeStore

REPO_ROOT = Path(__file__).resolve().parents[1]
TITLE = "SocialGym test report"
INJECT_SCRIPT = "<script>document.title='PWNED'</script>"
INJECT_IMG = "<img src=x onerror=\"document.title='PWNED'\">"
HOSTILE_MODEL = "</script><script>document.title='PWNED'</script><!--"


def _baseline(run_dir: Path) -> None:
    with EpisodeStore(run_dir) as store:
        store.start_run(
            config={"partner": "model-b", "turns": 20}, models=["model-a", "model-b"], run_id="base-1"
        )
        for i, goals in enumerate([(8, 3), (6, 5), (9, 2), (7, 4)]):
            store.put(
                make_episode(f"base-{i}", goals=goals, scenario_id="borrow_car" if i < 2 else "share_flat")
            )
        store.put(make_episode("base-judge-failed", judged=False))
        store.put(
            make_episode("base-crashed", scenario_id="lost_keys", status=EpisodeStatus.failed, judged=None)
        )


def _hostile(run_dir: Path) -> None:
    setup = make_setup(
        "hostile",
        names=("Eve<b onmouseover=alert(1)>", "Mallory"),
        setting=f"A trap. {INJECT_SCRIPT} {INJECT_IMG} <!-- {{{{ 7*7 }}}}",
        secret=INJECT_IMG,
    )
    with EpisodeStore(run_dir) as store:
        store.start_run(config={"note": INJECT_SCRIPT}, run_id="hostile-1")
        episode = make_episode(
            "hostile-0",
            setup=setup,
            models=(HOSTILE_MODEL, "model-b"),
            text=f"Hello {INJECT_IMG}",
            reasoning=f"Cue Encoding: {INJECT_SCRIPT} </details></pre> <!--",
        )
        evaluation = episode.evaluation.model_dump(mode="json")
        evaluation["scores"][setup.agent_names[0]]["goal"]["reasoning"] = f'<iframe srcdoc="{INJECT_SCRIPT}">'
        episode.evaluation = evaluation  # validated into an EpisodeEvaluation
        store.put(episode)
        crashed = make_episode("hostile-1", setup=setup, models=(HOSTILE_MODEL, "model-b"),
                               status=EpisodeStatus.failed, judged=None)  # fmt: skip
        store.put(crashed.model_copy(update={"error": f"crash {INJECT_SCRIPT}"}))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report over two runs, one of them full of injection attempts."""
    root = tmp_path_factory.mktemp("runs")
    _baseline(root / "baseline")
    _hostile(root / "hostile")
    return write_report([root / "baseline", root / "hostile"], root / "out" / "report.html", title=TITLE)


class _Collector(HTMLParser):
    """Every start tag with its attributes, the content of each script, and the title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._current = tag
        if tag == "script":
            self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        self._current = None

    def handle_data(self, data: str) -> None:
        if self._current == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._current == "title":
            self.title += data


def _parse(path: Path) -> tuple[str, _Collector]:
    text = path.read_text(encoding="utf-8")
    collector = _Collector()
    collector.feed(text)
    return text, collector


def test_script_json_cannot_close_a_script_element() -> None:
    value = {"label": "</script><script>alert(1)</script><!-- & \u2028"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_hostile_text_is_escaped_everywhere(report: Path) -> None:
    text, page = _parse(report)
    assert page.title == TITLE
    # Exactly our three scripts: plotly and the report code (with the CSP nonce) and the chart data.
    csp = next(
        a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    nonce = re.search(r"'nonce-([^']+)'", csp or "")
    assert nonce is not None and "default-src 'none'" in (csp or "")
    kinds = [(a.get("nonce"), a.get("type"), a.get("id")) for a, _ in page.scripts]
    assert kinds == [
        (nonce.group(1), None, None),
        (None, "application/json", "chart-data"),
        (nonce.group(1), None, None),
    ]
    # No element came from model text: no event handlers, images, iframes or bold tags.
    assert not [(t, k) for t, a in page.tags for k in a if k.startswith("on")]
    assert not [t for t, _ in page.tags if t in {"img", "iframe"}]
    assert all(a == {} for t, a in page.tags if t == "b")  # our own <b>s have no attributes
    # The text shows as text.
    assert str(markupsafe.escape(INJECT_SCRIPT)) in text
    assert str(markupsafe.escape(INJECT_IMG)) in text
    assert INJECT_SCRIPT not in text and INJECT_IMG not in text
    assert "{{ 7*7 }}" in text
    # The chart data parses back and carries the hostile model name as inert, HTML-escaped label text.
    chart_data = json.loads(page.scripts[1][1])
    names = [trace["name"] for trace in chart_data["dimensions"]["data"]]
    assert f"hostile · {html.escape(HOSTILE_MODEL)}" in names
    assert "</" not in page.scripts[1][1] and "<!--" not in page.scripts[1][1]


def test_report_content(report: Path) -> None:
    text, page = _parse(report)
    for section in ("runs", "scores", "goals", "models", "scenarios", "failures", "transcripts"):
        assert f'id="{section}"' in text
    assert 'id="chart-dimensions"' in text and 'id="chart-goals"' in text
    # Every episode is there, with its SIP reasoning folded under the turn.
    assert text.count('<details class="episode"') == 8
    assert text.count("<summary>SIP reasoning</summary>") == 8
    assert "Cue Encoding: Bob looks relaxed." in text
    # Failure counts of the baseline run: 6 episodes, 1 failed, 1 failed judgement.
    baseline = text[text.index('id="failures"') :]
    stats = re.findall(r'<div class="v">(\d+)</div><div class="k">([^<]+)</div>', baseline)
    first_run = dict((k, int(v)) for v, k in stats[:10])
    assert first_run["Episodes"] == 6 and first_run["Episodes failed"] == 1
    assert first_run["Judgements failed"] == 1 and first_run["Judged"] == 4
    assert "judge returned invalid JSON" in baseline
    # Goal mean of model-a in the baseline run: (8 + 6 + 9 + 7) / 4 = 7.50.
    chart_data = json.loads(page.scripts[1][1])
    trace = next(t for t in chart_data["dimensions"]["data"] if t["name"] == "baseline · model-a")
    goal_index = [x.split(" (")[0] for x in trace["x"]].index("Goal")
    assert trace["y"][goal_index] == pytest.approx(7.5)
    # The per-scenario table is sortable and carries numeric sort keys.
    assert '<table class="sortable" id="scenario-table">' in text
    assert 'data-sort="7.000000"' in text  # model-a on borrow_car: (8 + 6) / 2


def test_report_cli(tmp_path: Path) -> None:
    _baseline(tmp_path / "run")
    out = tmp_path / "r.html"
    done = subprocess.run(
        [sys.executable, "-m", "eval.report", str(tmp_path / "run"), "-o", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "wrote" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "eval.report", str(tmp_path / "absent"), "-o", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert missing.returncode == 2 and "no episode store at" in missing.stderr


def test_empty_run_renders(tmp_path: Path) -> None:
    EpisodeStore(tmp_path / "empty").close()
    from eval.report import load_run

    page = render_report([load_run(tmp_path / "empty")], title=TITLE)
    assert "No judged episodes yet." in page and "No episodes stored." in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            *args,
        ],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


@pytest.mark.slow
def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    binary = _chromium()
    require("Chromium", binary is not None, "apt-get install -y chromium — the browser check needs it")
    done = _run_chromium(binary, tmp_path / "profile", "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-3000:]
    dom = done.stdout
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], "\n".join(console)
    assert "Content Security Policy" not in done.stderr and "Refused to" not in done.stderr
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None and title.group(1) == TITLE  # the injected scripts never ran
    assert "<img" not in dom and "<iframe" not in dom and dom.count("<script") == 3
    assert dom.count('class="main-svg"') >= 4  # plotly drew both charts (two svg layers each)
    assert "8 of 8 shown" in dom  # the report's own script ran
    # Clicking a header sorts the scenario table (a probe script with the page's nonce reads the order).
    page = report.read_text(encoding="utf-8")
    nonce = re.search(r"'nonce-([^']+)'", page)
    assert nonce is not None
    probe = (
        f'<script nonce="{nonce.group(1)}">'
        "var t = document.getElementById('scenario-table'), h = t.tHead.rows[0].cells, goal = h[h.length - 1];"
        "function col() { return [].map.call(t.tBodies[0].rows, function (r) {"
        " return r.cells[r.cells.length - 1].getAttribute('data-sort'); }).join(','); }"
        "goal.click(); var up = col(); goal.click(); document.title = 'SORTED ' + up + ' / ' + col();"
        "</script></body>"
    )
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</body>", probe), encoding="utf-8")
    sorted_run = _run_chromium(binary, tmp_path / "profile3", "--dump-dom", probed.as_uri())
    title = re.search(r"<title>SORTED (.*?) / (.*?)</title>", sorted_run.stdout)
    assert title is not None, sorted_run.stderr[-3000:]
    ascending, descending = ([float(v) if v else None for v in part.split(",")] for part in title.groups())
    values = [v for v in ascending if v is not None]
    assert values == sorted(values) and len(values) >= 4
    assert [v for v in descending if v is not None] == sorted(values, reverse=True)
    assert ascending[-1] is None and descending[-1] is None  # a row without goal scores sorts last both ways
    shot = tmp_path / "report.png"
    pictured = _run_chromium(binary, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,2000",
                             "--hide-scrollbars", report.as_uri())  # fmt: skip
    assert pictured.returncode == 0, pictured.stderr[-3000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
