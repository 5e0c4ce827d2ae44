"""``python -m eval.fantom``: see :mod:`eval.fantom.run`."""

from eval.fantom.run import main

raise SystemExit(main())
