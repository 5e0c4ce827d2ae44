"""The web app (python -m eval.serve): pages over stored runs, filters, play, safety; and a real headless Chromium.

The fast tests drive the app in-process (Starlette's TestClient); the slow ones start it once for the
module under uvicorn on a free loopback port and drive the system Chromium through Playwright:
browse, filter, open a transcript, play a short episode against a scripted agent (its live
transcript followed in a second tab) and check that markup in scenario, model and player text
never runs.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require, require_module
from starlette.testclient import TestClient
from test_store import make_episode, make_setup

from envs.evaluator import TranscriptStatsEvaluator
from envs.types import EpisodeEvaluation, EpisodeMetadata, EpisodeStatus, Judgement
from eval.serve.__main__ import main as serve_main
from eval.serve.app import create_app
from eval.store import DB_NAME, EpisodeStore
from scenarios.checks import CheckResult

WAIT_MS = 20_000
"""How long one browser step may wait: a page action, or a condition on what the server streams."""
HOSTILE_JS = "window.pwned=1;document.title='PWNED'"
INJECT_SCRIPT = f"<script>{HOSTILE_JS}</script>"
INJECT_IMG = f'<img src=x onerror="{HOSTILE_JS}">'
INJECT_IMG_SQ = INJECT_IMG.replace('"', "'")  # for a double-quoted YAML string
HOSTILE_MODEL = f"</script>{INJECT_SCRIPT}<!--"
SCRIPT = "scripted:Good evening! What can I do for you?|I could drive you on Friday evening instead.|[leave]"
HOSTILE_SCENARIO = f"""
scenarios:
  - id: hostile_markup
    setting: "A trap {INJECT_SCRIPT} and {INJECT_IMG_SQ} ends here."
    relationship: friend
    goals:
      - text: "Win <b onmouseover='{HOSTILE_JS}'>bold</b> {INJECT_IMG_SQ}"
        extra_info: "Privately: </textarea>{INJECT_SCRIPT}"
      - "Lose gracefully <iframe srcdoc='{INJECT_SCRIPT}'></iframe>"
"""


# -- stored runs ---------------------------------------------------------------------------------


def _with_checks(episode: Any) -> Any:
    """A judged episode that also has rule checks and two single judgements (a jury)."""
    evaluation = EpisodeEvaluation.model_validate(episode.evaluation)
    first, second = episode.setup.agent_names
    checks = {
        first: [CheckResult(label="price within limits", kind="deal", role=0, outcome="pass", turn=0,
                            evidence="DEAL: $200 said by both")],
        second: [CheckResult(label="never mentions rent", kind="secret", role=1, outcome="fail", turn=1,
                             evidence="said 'my rent'")],
    }  # fmt: skip
    singles = [
        Judgement(judge="sotopia-eval:judge-one", ok=True, scores=evaluation.scores),
        Judgement(judge="sotopia-eval:judge-two", ok=False, error="judge-two returned invalid JSON"),
    ]
    evaluation = evaluation.model_copy(update={"checks": checks, "judgements": singles})
    return episode.model_copy(update={"evaluation": evaluation, "scores": evaluation.flat_scores()})


def _evaluation_run(run_dir: Path) -> None:
    with EpisodeStore(run_dir) as store:
        store.start_run(config={"partner": "model-b"}, models=["model-a", "model-b"], run_id="eval-1")
        store.put(make_episode("e0", goals=(8, 3)))
        store.put(make_episode("e1", goals=(6, 5)))
        store.put(_with_checks(make_episode("e2", scenario_id="share_flat", goals=(9, 2))))
        store.put(make_episode("e3", scenario_id="lost_keys", status=EpisodeStatus.failed, judged=None))
        store.put(make_episode("e4", judged=False))
        hostile = make_setup("hostile", names=("Eve<b onmouseover=alert(1)>", "Mallory"),
                             setting=f"A trap. {INJECT_SCRIPT} {INJECT_IMG}", secret=INJECT_IMG)  # fmt: skip
        episode = make_episode("h0", setup=hostile, models=(HOSTILE_MODEL, "model-b"), text=f"Hi {INJECT_IMG}",
                               reasoning=f"Cue Encoding: {INJECT_SCRIPT} </details></pre>")  # fmt: skip
        evaluation = episode.evaluation.model_dump(mode="json")
        evaluation["scores"][hostile.agent_names[0]]["goal"]["reasoning"] = (
            f'<iframe srcdoc="{INJECT_SCRIPT}">'
        )
        episode.evaluation = evaluation  # validated into an EpisodeEvaluation
        store.put(episode.model_copy(update={"error": None}))


def _training_run(run_dir: Path) -> None:
    with EpisodeStore(run_dir) as store:
        store.start_run(config={"max_steps": 3}, models=["learner", "local"], run_id="train-1")
        for index, (step, goals) in enumerate([(0, (2, 5)), (0, (4, 5)), (1, (6, 5)), (2, (7, 4))]):
            episode = make_episode(f"t{index}", models=("learner", "local"), goals=goals)
            store.put(
                episode.model_copy(
                    update={"metadata": EpisodeMetadata(training_step=step, policy="Alice Example")}
                )
            )


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two stored runs (one with hostile text), a hostile scenario file and an empty play folder."""
    root = tmp_path_factory.mktemp("serve")
    _evaluation_run(root / "evalrun")
    _training_run(root / "trainrun")
    scenario = root / "hostile.yaml"
    scenario.write_text(HOSTILE_SCENARIO, encoding="utf-8")
    return {"eval": root / "evalrun", "train": root / "trainrun", "scenario": scenario, "play": root / "play"}


def _app(folders: dict[str, Path], play: Path | None = None) -> Any:
    return create_app(
        [folders["eval"], folders["train"]],
        play_dir=play or folders["play"],
        scenarios=["sotopia", str(folders["scenario"])],
        act_timeout_s=120,
    )


@pytest.fixture(scope="module")
def client(folders: dict[str, Path]) -> Iterator[TestClient]:
    """The app in-process, its play folder of its own."""
    with TestClient(
        _app(folders, folders["play"].with_name("play-inprocess")), base_url="http://127.0.0.1"
    ) as c:
        yield c


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr data-episode="([^"]+)"', page)


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name.startswith(DB_NAME)}


# -- in-process --------------------------------------------------------------------------------


def test_pages_render_and_stored_runs_are_never_written(client: TestClient, folders: dict[str, Path]) -> None:
    before = {name: _snapshot(folders[name]) for name in ("eval", "train")}
    runs = client.get("/")
    assert runs.status_code == 200
    assert "evalrun" in runs.text and "trainrun" in runs.text
    assert "kind-training" in runs.text and "kind-evaluation" in runs.text
    assert "0–2" in runs.text  # the training run's GRPO steps
    listing = client.get("/episodes")
    assert listing.status_code == 200 and sorted(_ids(listing.text)) == sorted(
        ["e0", "e1", "e2", "e3", "e4", "h0", "t0", "t1", "t2", "t3"]
    )
    page = client.get("/episode", params={"run": "evalrun", "id": "e2"})
    assert page.status_code == 200
    text = page.text
    assert '<details class="fold"><summary>SIP reasoning</summary>' in text  # folded, not open
    assert "Goal (0..10)" in text and "Believability (0..10)" in text
    assert "price within limits" in text and "outcome-pass" in text and "outcome-fail" in text
    assert "judge-one" in text and "judge-two returned invalid JSON" in text
    trained = client.get("/episode", params={"run": "trainrun", "id": "t3"})
    assert "GRPO step 2" in trained.text
    assert client.get("/play").status_code == 200
    after = {name: _snapshot(folders[name]) for name in ("eval", "train")}
    for name in before:  # the database file is byte-identical; any WAL file is empty
        assert after[name][DB_NAME] == before[name][DB_NAME]
        assert not after[name].get(DB_NAME + "-wal")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"model": "model-a", "min_goal": "7"}, ["e2", "e0"]),
        ({"model": "model-b", "min_goal": "5", "max_goal": "5"}, ["h0", "e1"]),
        ({"status": "failed"}, ["e3"]),
        ({"scenario": "share_flat"}, ["e2"]),
        ({"run": "trainrun", "step": "0"}, ["t1", "t0"]),
        ({"run": "trainrun", "sort": "goal-high", "model": "learner"}, ["t3", "t2", "t1", "t0"]),
        ({"run": "trainrun", "sort": "step"}, ["t0", "t1", "t2", "t3"]),
        ({"run": "evalrun", "min_goal": "", "status": ""}, ["h0", "e4", "e3", "e2", "e1", "e0"]),
    ],
)
def test_episode_filters(client: TestClient, query: dict[str, str], expected: list[str]) -> None:
    page = client.get("/episodes", params=query)
    assert page.status_code == 200
    assert _ids(page.text) == expected


def test_bad_filters_say_which_field(client: TestClient) -> None:
    bad = client.get("/episodes", params={"min_goal": "lots"})
    assert bad.status_code == 400 and "min_goal" in bad.text
    assert client.get("/episodes", params={"status": "exploded"}).status_code == 400
    missing = client.get("/episodes", params={"run": "nope"})
    assert missing.status_code == 404 and "nope" in missing.text
    assert client.get("/episode", params={"run": "evalrun", "id": "zzz"}).status_code == 404


def test_security_headers_hosts_and_cross_site_forms(client: TestClient) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    form = {"scenario": "sg_favor_airport_ride", "partners": "scripted:Hi"}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert client.post("/play", data=form, headers=headers, follow_redirects=False).status_code == 403
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"scenario": "sg_favor_airport_ride", "partners": "nonsense:x"}, "unknown agent kind"),
        ({"scenario": "sg_favor_airport_ride", "partners": " \n "}, "partners: give an agent spec"),
        ({"scenario": "sg_favor_airport_ride", "partners": "human"}, "is you"),
        ({"scenario": "sg_favor_airport_ride", "partners": "local", "role": "3"}, "has 2 roles"),
        ({"scenario": "sg_favor_airport_ride", "partners": "local\nlocal"}, "2 specs given"),
        ({"scenario": "no_such_scenario", "partners": "local"}, "not offered"),
        ({"scenario": "sg_favor_airport_ride", "partners": "local", "max_turns": "0"}, "max_turns"),
        ({"scenario": "sg_favor_airport_ride", "partners": "local", "judge": "scripted:x"}, "not a model"),
    ],
)
def test_play_form_errors_name_the_field(client: TestClient, form: dict[str, str], message: str) -> None:
    page = client.post("/play", data=form, follow_redirects=False)
    assert page.status_code == 400
    assert message in page.text.replace("&#39;", "'")


def _until(check: Callable[[], Any], what: str) -> Any:
    for _ in range(200):  # a bounded wait for the episode task, never a timing assert
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def _page_with(client: TestClient, url: str, marker: str) -> str:
    def check() -> str | None:
        text = client.get(url).text
        return text if marker in text else None

    return _until(check, repr(marker))


def test_play_in_process_saves_the_episode(client: TestClient, folders: dict[str, Path]) -> None:
    started = client.post(
        "/play",
        data={"scenario": "sg_favor_airport_ride", "role": "2", "partners": SCRIPT, "seed": "5"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    url = started.headers["location"]
    page = _page_with(client, url, 'id="act-form"')
    assert "Good evening! What can I do for you?" in page and "Your goal" in page
    turn = re.search(r'name="turn" value="(\d+)"', page)
    assert turn is not None and turn.group(1) == "1"
    stale = client.post(f"{url}/act", data={"turn": "0", "action_type": "speak", "text": "late"})
    assert stale.status_code == 409 and "turn 0" in stale.text
    empty = client.post(f"{url}/act", data={"turn": "1", "action_type": "speak", "text": "  "})
    assert empty.status_code == 409
    sent = client.post(
        f"{url}/act", data={"turn": "1", "action_type": "speak", "text": "A lift on Saturday?"}
    )
    assert sent.status_code == 200  # followed the redirect back to the page
    _page_with(client, url, 'name="turn" value="3"')
    client.post(f"{url}/act", data={"turn": "3", "action_type": "leave"})
    ended = _page_with(client, url, 'id="saved-link"')
    assert "The episode ended" in ended
    with EpisodeStore(folders["play"].with_name("play-inprocess"), read_only=True) as store:
        (episode,) = store.episodes()
    assert episode.status is EpisodeStatus.finished
    assert [t.action.argument for t in episode.turns][:3] == [
        "Good evening! What can I do for you?", "A lift on Saturday?", "I could drive you on Friday evening instead."
    ]  # fmt: skip
    human = episode.setup.agent_names[1]
    assert episode.agent_models[human] == "human" and episode.metadata.human == human
    listing = client.get("/episodes", params={"run": "play-inprocess"})
    assert _ids(listing.text) == [episode.id]


def test_a_played_episode_is_judged_before_it_is_saved(
    folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(folders, tmp_path / "play")
    # A model-free evaluator stands in for the judge model: what is tested is that the judge named on
    # the form is run on the finished episode and its verdict is on the saved record.
    monkeypatch.setattr(app.state.pages.play, "_judge", lambda spec: TranscriptStatsEvaluator())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = {"scenario": "sg_favor_airport_ride", "partners": "scripted:Hello.", "judge": "local"}
        url = client.post("/play", data=form, follow_redirects=False).headers["location"]
        _page_with(client, url, 'id="act-form"')
        client.post(f"{url}/act", data={"turn": "0", "action_type": "speak", "text": "Hi, one two three."})
        _page_with(client, url, 'id="act-form"')
        client.post(f"{url}/act", data={"turn": "2", "action_type": "leave"})
        _page_with(client, url, 'id="saved-link"')
    with EpisodeStore(tmp_path / "play", read_only=True) as store:
        (episode,) = store.episodes()
    human = episode.setup.agent_names[0]
    assert episode.evaluation is not None and episode.evaluation.evaluator == "transcript-stats"
    assert episode.scores[human]["words"] == 4 and episode.scores[human]["left"] == 1


def test_play_a_group_episode_in_one_seat_of_three(folders: dict[str, Path], tmp_path: Path) -> None:
    with TestClient(_app(folders, tmp_path / "play"), base_url="http://127.0.0.1") as client:
        form = {
            "scenario": "sg_group_dying_tree",
            "role": "2",
            "partners": "scripted:Hello, neighbours.|Any ideas?",  # one spec plays both other seats
            "turn_mode": "random",
            "seed": "1",
        }
        url = client.post("/play", data=form, follow_redirects=False).headers["location"]
        page = _page_with(client, url, 'id="act-form"')
        assert "Your goal" in page and page.count("What you know about") == 2
        turn = re.search(r'name="turn" value="(\d+)"', page)
        assert turn is not None
        client.post(f"{url}/act", data={"turn": turn.group(1), "action_type": "leave"})
        _page_with(client, url, 'id="saved-link"')
    with EpisodeStore(tmp_path / "play", read_only=True) as store:
        (episode,) = store.episodes()
    names = episode.setup.agent_names
    assert len(names) == 3 and episode.metadata.human == names[1]
    assert episode.agent_models[names[1]] == "human"
    assert episode.metadata.env.turn_mode == "random"
    # after the person left, the other two went on until their scripts ended
    human_left = next(t.index for t in episode.turns if t.agent == names[1])
    assert {t.agent for t in episode.turns[human_left + 1 :]} == {names[0], names[2]}


def test_cli_refuses_bad_folders(
    tmp_path: Path, folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve_main([str(tmp_path / "missing")]) == 2
    assert "no episode store" in capsys.readouterr().err
    assert serve_main([str(folders["eval"]), "--play-dir", str(folders["eval"])]) == 2
    assert "folder of its own" in capsys.readouterr().err


# -- a real server and a real browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(folders: dict[str, Path]) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, for the whole module; its base URL."""
    uvicorn = require_module("uvicorn", "the web app's server")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(_app(folders), log_level="warning", timeout_graceful_shutdown=2)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _until(lambda: running.started, "the server to start")
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system Chromium driven by Playwright (no browser download)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require("Chromium", binary is not None, "apt-get install -y chromium — the browser tests need it")
    sync_api = require_module("playwright.sync_api", "drives Chromium in the web app's tests")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=binary, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


def expect(target: Any) -> Any:
    """Playwright's web-first assertion on ``target``: retried until it holds (pass ``timeout=WAIT_MS``).

    Conditions on the page are awaited this way, never with ``wait_for_function`` and a string: Playwright
    re-evaluates such a string with ``eval`` inside the page on each poll, which the app's
    Content-Security-Policy (no 'unsafe-eval') refuses, so that wait fails (EvalError) whenever the
    condition does not already hold when it starts, i.e. whenever the event stream is slower than the test.
    """
    return require_module("playwright.sync_api", "drives Chromium in the web app's tests").expect(target)


class Watched:
    """A browser page with everything that would reveal injected markup: console, errors, dialogs."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def page(self) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("console", lambda m: self.console.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        return page

    def assert_inert(self, page: Any) -> None:
        """No injected script ran, no injected element exists, nothing was blocked (nothing tried)."""
        assert page.evaluate("() => window.pwned") is None
        assert "PWNED" not in page.title()
        assert page.locator("img, iframe, b[onmouseover]").count() == 0
        assert page.locator("script").count() == 1  # only the app's own /static/serve.js
        assert not [m for m in self.console if "Content Security Policy" in m or "Refused" in m]
        assert self.dialogs == [] and self.errors == []


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh browser context, closed after the test."""
    context = Watched(browser)
    yield context
    context.context.close()


@pytest.mark.slow
def test_browse_filter_and_open_a_transcript(server: str, watched: Watched) -> None:
    page = watched.page()
    page.goto(server + "/")
    assert page.locator("section.run").count() == 2
    training = page.locator("section.run[data-run='trainrun']")
    assert training.locator(".badge.kind-training").count() == 1
    training.get_by_role("link", name="Browse its episodes").click()
    page.wait_for_url(re.compile(r"/episodes\?run=trainrun"))
    assert page.locator("tr[data-episode]").count() == 4
    # A select applies the filter at once (the page's script submits the form).
    page.select_option("select[name=step]", "1")
    page.wait_for_url(re.compile(r"step=1"))
    assert [r.get_attribute("data-episode") for r in page.locator("tr[data-episode]").all()] == ["t2"]
    page.goto(server + "/episodes")
    page.select_option("select[name=model]", "model-a")
    page.wait_for_url(re.compile(r"model=model-a"))
    page.fill("input[name=min_goal]", "7")
    page.click("#apply")
    page.wait_for_url(re.compile(r"min_goal=7"))
    assert [r.get_attribute("data-episode") for r in page.locator("tr[data-episode]").all()] == ["e2", "e0"]
    page.locator("tr[data-episode='e2'] a.open").click()
    page.wait_for_url(re.compile(r"/episode\?run=evalrun&id=e2"))
    reasoning = page.locator("details.fold", has_text="SIP reasoning").first
    assert reasoning.get_attribute("open") is None
    assert not reasoning.locator("pre").is_visible()
    reasoning.locator("summary").click()
    expect(reasoning.locator("pre")).to_be_visible(timeout=WAIT_MS)
    assert "Cue Encoding" in reasoning.locator("pre").inner_text()
    judge = page.locator("table.judge").first
    assert "Goal (0..10)" in judge.inner_text()
    assert page.locator("td.outcome-pass").count() == 1 and page.locator("td.outcome-fail").count() == 1
    watched.assert_inert(page)


@pytest.mark.slow
def test_play_against_a_scripted_agent(server: str, watched: Watched, folders: dict[str, Path]) -> None:
    page = watched.page()
    page.goto(server + "/play")
    page.select_option("select[name=scenario]", "sg_favor_airport_ride")
    page.fill("textarea[name=partners]", SCRIPT)
    page.fill("input[name=seed]", "3")
    page.click("#start")
    page.wait_for_selector("#act-form")
    assert page.locator("#act-form input[name=turn]").get_attribute("value") == "0"
    assert page.locator("#briefing h3", has_text="Your goal").count() == 1
    assert page.locator("#briefing h3", has_text="What you know about").count() == 1
    # A second tab follows the game through the event stream only (it never reloads).
    follower = watched.page()
    follower.goto(page.url)
    follower.wait_for_selector("#act-form")
    page.fill("#act-text", "Hi! Could you drive me to the airport on Saturday?")
    with page.expect_navigation():  # the form posts; the page comes back from the server
        page.click("#send")
    expect(page.locator("#act-form input[name=turn]")).to_have_value("2", timeout=WAIT_MS)
    expect(follower.locator("#transcript li")).to_have_count(2, timeout=WAIT_MS)
    page.fill("#act-text", "It is at 4:30 in the morning, I know.")
    with page.expect_navigation():
        page.click("#send")
    expect(page.locator("#act-form input[name=turn]")).to_have_value("4", timeout=WAIT_MS)
    expect(follower.locator("#transcript li")).to_have_count(4, timeout=WAIT_MS)
    lines = follower.locator("#transcript li").all_inner_texts()
    assert "Could you drive me to the airport on Saturday?" in lines[0] and "(you)" in lines[0]
    assert "Good evening! What can I do for you?" in lines[1] and "(you)" not in lines[1]
    assert "4:30 in the morning" in lines[2] and "Friday evening instead" in lines[3]
    page.select_option("#action-type", "leave")
    with page.expect_navigation():
        page.click("#send")
    page.wait_for_selector("#outcome")
    follower.wait_for_selector("#outcome")
    assert "The episode ended" in follower.locator("#outcome").inner_text()
    page.click("#saved-link")
    page.wait_for_url(re.compile(r"/episode\?run=play&id="))
    assert page.locator(".agent-card").count() == 2  # the full record: everyone's goal
    assert "Could you drive me to the airport on Saturday?" in page.locator("ol.turns").inner_text()
    with EpisodeStore(folders["play"], read_only=True) as store:
        assert len(store.episodes()) == 1
    watched.assert_inert(page)
    watched.assert_inert(follower)


@pytest.mark.slow
def test_markup_in_scenario_model_and_player_text_never_runs(server: str, watched: Watched) -> None:
    page = watched.page()
    for path in ("/", "/episodes", "/episode?run=evalrun&id=h0", "/play"):
        page.goto(server + path)
        watched.assert_inert(page)
    page.goto(server + "/episode?run=evalrun&id=h0")
    page.locator("details.fold summary", has_text="SIP reasoning").first.click()
    body = page.locator("main").inner_text()
    assert INJECT_SCRIPT in body and INJECT_IMG in body  # shown as text
    watched.assert_inert(page)
    page.goto(server + "/play")
    page.select_option("select[name=scenario]", "hostile_markup")
    page.fill("textarea[name=partners]", "scripted:" + INJECT_IMG.replace("|", "") + "|[leave]")
    page.click("#start")
    page.wait_for_selector("#act-form")
    briefing = page.locator("#briefing").inner_text()
    assert INJECT_SCRIPT in briefing and "</textarea>" in briefing
    follower = watched.page()
    follower.goto(page.url)
    follower.wait_for_selector("#act-form")
    page.fill("#act-text", f"{INJECT_SCRIPT} {INJECT_IMG}")
    with page.expect_navigation():  # the page is checked below: it must be the one the server sent back
        page.click("#send")
    # Turn 0 (the player's) and turn 1 (the partner's image tag); then it is the player's turn again.
    expect(follower.locator("#transcript li")).to_have_count(2, timeout=WAIT_MS)
    assert INJECT_SCRIPT in follower.locator("#transcript").inner_text()  # arrived through the event stream
    watched.assert_inert(page)
    watched.assert_inert(follower)
