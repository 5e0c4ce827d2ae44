"""``python -m eval.serve RUN_DIR... --port 8000``: a small web app over run folders, and play in the browser.

Browse evaluation runs (``python -m eval.interactive``), training runs (``python -m training.grpo``:
each episode carries its GRPO step) and suite folders, read-only: a runs page, an episode list
filtered by run, scenario, model, status, goal score and GRPO step, and every transcript with its
SIP reasoning folded, judge scores, rule checks and single judgements. Start an episode against any
agent spec and play one role yourself: your private goal and what you know of the others on the
left, the conversation live on the right. Played episodes go to ``--play-dir`` (default
``runs/play``), which the app lists as a run of its own.

Server-rendered jinja2 pages on Starlette (:mod:`eval.serve.app`), served by uvicorn on
127.0.0.1; no asset comes from the network. See :mod:`eval.serve.app` for the safety measures.
"""

from eval.serve.app import create_app

__all__ = ["create_app"]
