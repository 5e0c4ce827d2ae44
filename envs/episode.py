"""``python -m envs.episode``: run agent-vs-agent episodes from the shell (see :mod:`eval.episode`).

The command builds agents, which sit above ``envs``, so it lives in ``eval.episode``; this name
keeps working and imports it only when run, never when ``envs`` is imported.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the episode command (:func:`eval.episode.main`); returns the exit status."""
    from eval.episode import main as run_command  # at run time only: eval sits above envs

    return run_command(argv)


if __name__ == "__main__":
    sys.exit(main())
