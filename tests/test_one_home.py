"""Shared plumbing has one home: every user calls it instead of keeping its own copy."""

from __future__ import annotations

import asyncio

from envs.evaluator import AsyncEvaluator, run_sync
from eval.judge import SotopiaJudge
from eval.jury import JudgePanel


def test_blocking_evaluation_is_one_bridge() -> None:
    # the judge and the jury get their blocking evaluate() from AsyncEvaluator (envs.evaluator.run_sync)
    assert SotopiaJudge.evaluate is AsyncEvaluator.evaluate
    assert JudgePanel.evaluate is AsyncEvaluator.evaluate

    async def inside() -> int:
        return run_sync(asyncio.sleep(0, result=7))

    assert run_sync(asyncio.sleep(0, result=3)) == 3
    assert asyncio.run(inside()) == 7
