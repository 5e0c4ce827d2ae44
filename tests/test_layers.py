"""Data flows scenarios -> envs -> agents -> eval -> training: no module imports a layer above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ORDER = ["scenarios", "envs", "agents", "eval", "training"]
DELEGATES = {"envs/episode.py": "eval"}
"""Old command names that hand over to their new home above, at run time only (never on import)."""


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, package, at module level) of every import outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    module_level = {id(node) for node in tree.body}
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0], id(node) in module_level) for name in names]
    return found


@pytest.mark.parametrize("layer", ORDER[:-1])
def test_no_upward_import(layer: str) -> None:
    above = set(ORDER[ORDER.index(layer) + 1 :])
    upward = []
    for path in sorted((REPO / layer).rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        for line, package, top in _imports(path):
            if package in above and (top or DELEGATES.get(name) != package):
                upward.append(f"{name}:{line} imports {package}")
    assert not upward, "\n".join(upward)


def test_importing_envs_loads_no_agents() -> None:
    code = "import sys, envs; print(sorted({m.split('.')[0] for m in sys.modules} & {'agents', 'eval', 'training'}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
