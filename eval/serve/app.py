"""The Starlette app: pages over stored runs and the play pages, all rendered on the server.

Pages: ``/`` (runs), ``/episodes`` (filterable list), ``/episode?run=&id=`` (one transcript with
SIP reasoning folded, judge scores, rule checks and single judgements: the report's own
``episode_block``), ``/play`` (start an episode), ``/play/{id}`` (play it; ``/play/{id}/events``
streams the live part as server-sent events). Templates are the report's jinja2 environment
(autoescaping on) with this package's templates searched first.

Safety: stored runs are opened read-only; every response carries a Content-Security-Policy that
allows only this app's own script and styles (no inline script, no other origin), so markup that
somehow got through escaping still could not run; requests must name an allowed host (against DNS
rebinding) and a form posted from another site is refused, so no web page can start episodes with
the user's model keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from agents import prompts
from agents.human import ActRejected
from eval.report import DIMENSION_RANGES, TEMPLATES, episode_view, template_environment
from eval.serve.catalog import PAGE_SIZE, SORTS, EpisodeFilter, RunCatalog
from eval.serve.play import PlayError, PlayManager, PlayRequest, PlaySession, ScenarioBook

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
EVENT_WAIT_S = 15.0

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]
]


class SameOriginAndHeaders:
    """ASGI middleware: security headers on every response; a POST from another site is refused (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] == "POST" and not _same_origin(headers):
            await PlainTextResponse("cross-site form refused", status_code=403)(
                scope, receive, _with_headers(send)
            )
            return
        await self.app(scope, receive, _with_headers(send))


def _same_origin(headers: dict[str, str]) -> bool:
    """Whether a POST comes from this app's own pages: browsers say where a request comes from
    (``Sec-Fetch-Site``, else ``Origin``, which is ``null`` under our no-referrer policy); other
    clients send neither and are let through (the host check still applies)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == headers.get("host")


def _with_headers(send: Any) -> Any:
    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return wrapped


class Pages:
    """The route handlers, over one catalog and one play manager."""

    def __init__(self, catalog: RunCatalog, play: PlayManager) -> None:
        self.catalog = catalog
        self.play = play
        env = template_environment(HERE / "templates")
        env.globals.update(sorts=SORTS, page_size=PAGE_SIZE)
        self.templates = Jinja2Templates(env=env)

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        """A page from this package's templates (or the report's)."""
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def error(self, request: Request, status_code: int, message: str) -> Response:
        """An error page that says what was wrong."""
        return self.render(request, "error.html.j2", status_code, message=message)

    # -- stored runs -------------------------------------------------------------------------

    def _runs_view(self) -> list[dict[str, Any]]:
        views = []
        for folder in self.catalog.runs():
            rows = self.catalog.rows(folder.label)
            steps = sorted({r.training_step for r in rows if r.training_step is not None})
            views.append(
                {
                    "folder": folder,
                    "kind": self.catalog.kind(folder.label),
                    "summary": self.catalog.summary(folder.label),
                    "steps": (steps[0], steps[-1]) if steps else None,
                }
            )
        return views

    async def runs(self, request: Request) -> Response:
        """The run folders, with counts and each invocation."""
        views = await run_in_threadpool(self._runs_view)
        return self.render(request, "runs.html.j2", runs=views, live=self.play.live())

    async def episodes(self, request: Request) -> Response:
        """The episode list, filtered by the query string."""
        try:
            query = EpisodeFilter.model_validate(dict(request.query_params))
        except ValidationError as exc:
            return self.error(request, 400, _validation_text(exc, "filter"))
        labels = [f.label for f in self.catalog.runs()]
        if query.run is not None and query.run not in labels:
            return self.error(request, 404, f"run: no run folder labelled {query.run!r} is served here")
        everything = await run_in_threadpool(self.catalog.listed, query.run)
        found = query.apply(everything)
        pages = max(1, -(-len(found) // PAGE_SIZE))
        page = min(query.page, pages)
        shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return self.render(
            request,
            "episodes.html.j2",
            query=query,
            labels=labels,
            facets=self.catalog.facets(everything),
            episodes=shown,
            total=len(found),
            all_count=len(everything),
            page=page,
            pages=pages,
            first=(page - 1) * PAGE_SIZE + 1,
        )

    async def episode(self, request: Request) -> Response:
        """One stored episode: setting, cast, transcript, judgement, rule checks."""
        run, episode_id = request.query_params.get("run", ""), request.query_params.get("id", "")
        try:
            self.catalog.folder(run)
        except KeyError:
            return self.error(request, 404, f"run: no run folder labelled {run!r} is served here")

        def load() -> Any:
            with self.catalog.open(run) as store:
                return store.get(episode_id)

        found = await run_in_threadpool(load)
        if found is None:
            return self.error(request, 404, f"id: run {run!r} has no episode {episode_id!r}")
        view = episode_view(run, found, list(DIMENSION_RANGES))
        return self.render(
            request, "transcript.html.j2", run=run, ep=view, metadata=found.metadata.model_dump(mode="json")
        )

    # -- play --------------------------------------------------------------------------------

    def _new_form(self, request: Request, form: dict[str, Any], error: str | None, status: int) -> Response:
        return self.render(
            request,
            "play_new.html.j2",
            status,
            scenarios=self.play.book.scenarios(),
            form=form,
            error=error,
            sessions=sorted(self.play.sessions.values(), key=lambda s: s.created_at, reverse=True),
        )

    async def play_form(self, request: Request) -> Response:
        """The new-game form."""
        return self._new_form(request, {"partners": "local", "role": "1"}, None, 200)

    async def play_start(self, request: Request) -> Response:
        """Start an episode from the form; back to the form with the reason when it cannot start."""
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            session = await self.play.start(PlayRequest.model_validate(form))
        except ValidationError as exc:
            return self._new_form(request, form, _validation_text(exc, "form"), 400)
        except PlayError as exc:
            return self._new_form(request, form, str(exc), 400)
        return RedirectResponse(f"/play/{session.id}", status_code=303)

    def _session(self, request: Request) -> PlaySession | None:
        try:
            return self.play.get(request.path_params["session"])
        except KeyError:
            return None

    def live_context(self, session: PlaySession, error: str | None = None) -> dict[str, Any]:
        """What the live part of the play page shows."""
        waiting = session.agent.waiting
        episode = session.episode
        return {
            "s": session,
            "waiting": waiting,
            "options": prompts.ordered_actions(waiting.available_actions) if waiting is not None else [],
            "speaker": {name: index % 4 for index, name in enumerate(session.setup.agent_names)},
            "result": episode_view("play", episode, list(DIMENSION_RANGES)) if episode is not None else None,
            "play_run": next((f.label for f in self.catalog.folders if f.play), None),
            "act_error": error,
        }

    async def play_page(self, request: Request) -> Response:
        """The play page: your briefing and the live part."""
        session = self._session(request)
        if session is None:
            return self.error(request, 404, "no such game here (games are kept while the server runs)")
        return self.render(request, "play.html.j2", **self.live_context(session))

    async def play_act(self, request: Request) -> Response:
        """The player's act; back to the play page (with the reason when it was not played)."""
        session = self._session(request)
        if session is None:
            return self.error(request, 404, "no such game here (games are kept while the server runs)")
        form = await request.form()
        try:
            turn = int(str(form.get("turn", "")))
        except ValueError:
            turn = None
        try:
            session.agent.submit(str(form.get("action_type", "")), str(form.get("text", "")), turn=turn)
        except ActRejected as exc:
            return self.render(request, "play.html.j2", 409, **self.live_context(session, str(exc)))
        return RedirectResponse(f"/play/{session.id}", status_code=303)

    async def play_events(self, request: Request) -> Response:
        """Server-sent events: the live part, rendered again after each change."""
        session = self._session(request)
        if session is None:
            return self.error(request, 404, "no such game here")
        last = request.headers.get("last-event-id") or request.query_params.get("since")
        template = self.templates.get_template("play_live.html.j2")

        async def stream() -> AsyncIterator[ServerSentEvent]:
            seen = int(last) if last and last.isdigit() else -1
            while True:
                version = session.version
                if version != seen:
                    seen = version
                    yield ServerSentEvent(
                        data=template.render(**self.live_context(session)), event="live", id=str(version)
                    )
                    if session.episode is not None:
                        return
                if await request.is_disconnected():
                    return
                await session.wait(seen, EVENT_WAIT_S)

        return EventSourceResponse(stream(), ping=EVENT_WAIT_S)


def _report_css(request: Request) -> Response:
    return FileResponse(TEMPLATES / "report.css", media_type="text/css")


def _validation_text(exc: ValidationError, what: str) -> str:
    problems = [f"{'.'.join(str(p) for p in error['loc']) or what}: {error['msg']}" for error in exc.errors()]
    return "; ".join(problems)


def create_app(
    run_dirs: Sequence[str | Path],
    *,
    play_dir: str | Path = Path("runs/play"),
    scenarios: Sequence[str] = ("sotopia",),
    api_base: str | None = None,
    act_timeout_s: float | None = 1800.0,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
) -> Starlette:
    """The app over ``run_dirs`` (read-only), saving played episodes to ``play_dir``.

    Raises :class:`~eval.store.StoreError` / :class:`~eval.suite_report.SuiteError` for a run folder
    that cannot be read and :class:`~scenarios.collection.LibraryError` for bad ``scenarios``.
    """
    catalog = RunCatalog(run_dirs, play_dir)
    play = PlayManager(
        ScenarioBook(scenarios), Path(play_dir), api_base=api_base, act_timeout_s=act_timeout_s
    )
    pages = Pages(catalog, play)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await play.close()

    routes = [
        Route("/", pages.runs),
        Route("/episodes", pages.episodes),
        Route("/episode", pages.episode),
        Route("/play", pages.play_form, methods=["GET"]),
        Route("/play", pages.play_start, methods=["POST"]),
        Route("/play/{session}", pages.play_page, methods=["GET"]),
        Route("/play/{session}/act", pages.play_act, methods=["POST"]),
        Route("/play/{session}/events", pages.play_events),
        Route("/static/report.css", _report_css),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        Middleware(SameOriginAndHeaders),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pages = pages
    return app
