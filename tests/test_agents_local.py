"""End to end on the embedded model: the real llama.cpp server reached through litellm."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.client import RetryPolicy
from agents.llm import LLMAgent
from agents.socialr1 import SocialR1Agent
from envs.types import ActionType, Observation

OBS = Observation(
    agent="Mia Chen",
    text=(
        "Scenario: Two roommates talk about splitting the rent.\n"
        "You are Mia Chen, 24, a nurse. Your goal: agree on a fair split of the rent.\n"
        "Conversation so far:\n"
        'Turn #0: Leo Park said: "Hi Mia, the landlord raised the rent. Can we talk about it?"'
    ),
    turn=1,
    available_actions=[ActionType.speak, ActionType.non_verbal, ActionType.action, ActionType.leave],
)


@pytest.mark.slow
async def test_llm_agent_on_the_embedded_model() -> None:
    agent = LLMAgent("local", temperature=0.7, max_tokens=64, seed=7)
    action = await agent.act(OBS)
    assert action.action_type in OBS.available_actions
    record = agent.last_turn_record()
    assert record is not None and record.raw_text and record.completion_tokens
    if action.action_type is ActionType.speak:
        assert action.argument.strip()
    # constrained decoding: the embedded server returns a well-formed action object
    assert record.parse_fallback is False, record.raw_text


@pytest.mark.slow
async def test_socialr1_agent_on_the_embedded_model() -> None:
    agent = SocialR1Agent("local", temperature=0.7, max_tokens=160, seed=7, retry=RetryPolicy(max_attempts=2))
    action = await agent.act(OBS)
    assert action.action_type in OBS.available_actions
    record = agent.last_turn_record()
    assert record is not None and record.raw_text
    assert record.sip_ok is not None
    if record.reasoning:  # whatever the model reasoned stays off the act
        assert record.reasoning not in action.argument


@pytest.mark.slow
def test_server_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A training run killed with SIGKILL must not leave the llama.cpp server behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from agents.local_model import LocalServer\n"
        "server = LocalServer().start()\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(200):  # the kernel delivers SIGTERM to the server; give it time to exit
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child}/stat") as handle:
            if handle.read().split()[2] == "Z":  # exited, waiting for init to reap it
                return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the embedded server outlived its killed parent")
