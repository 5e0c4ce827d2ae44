"""``python -m envs``: the same as ``python -m envs.episode``."""

import sys

from envs.episode import main

sys.exit(main())
