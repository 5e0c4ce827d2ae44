"""``pip check`` scoped to SocialGym's dependency tree: exit 1 only for conflicts that involve our packages.

A machine image may ship unrelated tools (awscli, moto, ...) whose exact pins conflict with what our
dependencies need; those conflicts are printed as warnings and do not fail the set-up.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import subprocess
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "socialgym"
EXTRAS = {"train", "dev", "web"}


def closure(root: str, extras: set[str]) -> set[str]:
    """Canonical names of ``root`` and everything it (with ``extras``) requires, transitively."""
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (wanted or {""})):
                todo.append((req.name, set(req.extras)))
    return seen


def main() -> int:
    """Run pip check and fail on conflicts inside our tree."""
    ours = closure(ROOT, EXTRAS)
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    bad, foreign = [], []
    for line in result.stdout.splitlines():
        match = re.match(r"(\S+) \S+ (?:has requirement|requires|is not supported)", line)
        if not match:
            continue
        (bad if canonicalize_name(match.group(1)) in ours else foreign).append(line)
    for line in foreign:
        print(f"note (not ours): {line}", file=sys.stderr)
    for line in bad:
        print(f"dependency conflict: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
