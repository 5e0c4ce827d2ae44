"""The embedded server's sampling: the grammar checked after the draw (agents/llama_server.py),
on the real model with the prompts and schemas the agents and the judge really send."""

from __future__ import annotations

import json

import pytest
from llama_cpp import Llama

from agents import llama_server
from agents.local_model import gguf_path
from agents.prompts import action_messages, action_schema
from agents.scripted import ScriptedAgent
from envs import make
from envs.runner import run_episode
from eval.judge import SOTOPIA_DIMENSIONS, judge_messages
from eval.verdict import judgement_schema
from scenarios import load_library, sample_setups


class CheckedLlama(Llama):
    """A Llama whose grammars are checked after the draw (the stock class stays as it is)."""


llama_server.check_grammar_after_sampling(CheckedLlama)


@pytest.fixture(scope="module")
def models() -> tuple[Llama, Llama]:
    settings = {"n_ctx": 2048, "n_threads": 2, "logits_all": False, "verbose": False}
    return Llama(str(gguf_path()), **settings), CheckedLlama(str(gguf_path()), **settings)


def first_observation():
    """What the first speaker of a built-in scenario is shown (the info carries the typed observation)."""
    env = make("sotopia", max_turns=4)
    _, infos = env.reset(seed=3)
    return next(info["observation"] for info in infos.values() if info["observation"].is_my_turn)


def reply(model: Llama, messages, schema, **kwargs) -> str:
    model.reset()
    response = model.create_chat_completion(
        messages, response_format={"type": "json_object", "schema": schema}, **kwargs
    )
    return response["choices"][0]["message"]["content"]


async def played_episode():
    library = load_library()
    setup = sample_setups(library, sorted(library.hard())[0], n=1, seed=0)[0]
    lines = (
        ["Hi! Can we talk about this?", "I think we can find a fair deal."],
        ["Sure, go ahead.", "Agreed."],
    )
    return await run_episode(setup, [ScriptedAgent(lines[0]), ScriptedAgent(lines[1])], {"max_turns": 4})


@pytest.mark.slow
async def test_greedy_replies_match_the_stock_sampler_token_for_token(models) -> None:
    stock, checked = models
    observation = first_observation()
    act = (action_messages(observation), action_schema(observation.available_actions))
    verdict = (
        judge_messages(await played_episode(), SOTOPIA_DIMENSIONS),
        judgement_schema(SOTOPIA_DIMENSIONS, 2, 300, "pair"),
    )
    for messages, schema in (act, verdict):
        expected = reply(stock, messages, schema, temperature=0.0, max_tokens=48)
        assert reply(checked, messages, schema, temperature=0.0, max_tokens=48) == expected


@pytest.mark.slow
def test_sampled_replies_keep_to_the_grammar_when_the_draw_breaks_it(models, monkeypatch) -> None:
    _, checked = models
    refused: list[int] = []
    allows = llama_server.GrammarCheckedSampler.allows

    def counting(self, token: int) -> bool:
        ok = allows(self, token)
        if not ok:
            refused.append(token)
        return ok

    monkeypatch.setattr(llama_server.GrammarCheckedSampler, "allows", counting)
    observation = first_observation()
    schema = action_schema(observation.available_actions)
    schema["properties"]["argument"]["maxLength"] = 40  # so that a reply ends within max_tokens
    allowed = {kind.value for kind in observation.available_actions}
    for seed in range(4):
        text = reply(
            checked, action_messages(observation), schema, temperature=1.2, top_k=0, seed=seed, max_tokens=120
        )
        act = json.loads(text, strict=False)
        assert set(act) == {"action_type", "argument"} and act["action_type"] in allowed, text
    assert refused, "at temperature 1.2 over the whole vocabulary some draws break the grammar"
