"""Command line: ``python -m eval.serve RUN_DIR... [--port 8000] [--host 127.0.0.1] [--play-dir runs/play]``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path

from eval.serve.app import LOOPBACK_HOSTS, create_app
from eval.store import StoreError
from eval.suite_report import SuiteError
from scenarios.collection import LibraryError


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.serve",
        description="Browse run folders (read-only) and play episodes in the browser.",
    )
    parser.add_argument(
        "run_dirs", nargs="*", type=Path, help="run folders (each with episodes.sqlite) or suite folders"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument(
        "--play-dir", type=Path, default=Path("runs/play"), help="where played episodes are saved (runs/play)"
    )
    parser.add_argument(
        "--scenarios",
        action="append",
        metavar="SPEC",
        help="scenarios to offer for play, as envs.episode takes them (sotopia, sotopia-hard, a file or "
        "folder, an id); repeatable (default: sotopia, the built-in library)",
    )
    parser.add_argument("--api-base", default=None, help="OpenAI-compatible server for model specs")
    parser.add_argument(
        "--act-timeout", type=float, default=1800.0, help="seconds a player may take per act (default 1800)"
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another Host header to accept (the bound address and loopback names always are)",
    )
    return parser


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port {args.port}: give a port from 1 to 65535", file=sys.stderr)
        return 2
    try:
        import uvicorn
    except ImportError as exc:  # the web extra is not installed
        print(f"error: {exc}: install the web extra (pip install -e '.[web]')", file=sys.stderr)
        return 2
    hosts = [*LOOPBACK_HOSTS, args.host, *args.allow_host]
    try:
        app = create_app(
            args.run_dirs,
            play_dir=args.play_dir,
            scenarios=args.scenarios or ["sotopia"],
            api_base=args.api_base,
            act_timeout_s=args.act_timeout,
            allowed_hosts=hosts,
        )
    except (StoreError, SuiteError, LibraryError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not _is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: anyone who can reach it can read these runs and start "
            "episodes with your model keys",
            file=sys.stderr,
        )
    print(f"SocialGym: http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
