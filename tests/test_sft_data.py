"""Tests for the SFT warm-up data: every trace is canonical SIP, grounded in its story, and short."""

from __future__ import annotations

import asyncio
import re
import statistics
from functools import cache
from typing import Any

from conftest import missing, require_module

from agents.scripted import ScriptedAgent
from agents.sip import SIP, THINK_PREFILL, mcq_messages
from agents.socialr1 import SocialR1Agent
from envs.social import SocialEpisodeEnv
from envs.types import ActionType
from envs.wrappers import SingleAgentEnv
from eval.tom_generator import (
    CLAIMS,
    MOVE,
    PLACE,
    ToMConfig,
    generate_items,
    make_example,
    make_item,
    question_text,
)
from training.sft_data import (
    SFTExample,
    mcq_example,
    mcq_examples,
    overlapping,
    sft_examples,
    social_examples,
)

MAX_TOKENS = 100
HARD_MAX_TOKENS = 110  # the few longest traces (many multi-token names) may pass 100; turns allow 128
SEEDS = range(3)
N_PER_SEED = 60


def _full(example: SFTExample) -> str:
    return THINK_PREFILL + example.completion


@cache
def _generated() -> list[tuple[Any, SFTExample]]:
    pairs = []
    for seed in SEEDS:
        for index in range(N_PER_SEED):
            ex = make_example(seed, index)
            pairs.append((ex, mcq_example(ex)))
    return pairs


@cache
def _social() -> list[SFTExample]:
    return social_examples(60, seed=0)


# --------------------------------------------------------------------------------------------------
# the generator hook


def test_make_example_is_make_item_plus_its_story() -> None:
    config = ToMConfig(deception=True, with_rules=False)
    for index in range(25):
        ex = make_example(4, index, config)
        assert ex.item == make_item(4, index, config)
        assert ex.story.text() in ex.item.context
        if ex.kind == "belief":
            assert ex.item.question == question_text(ex.chain, ex.obj)
            assert ex.story.belief(ex.chain, ex.obj) == ex.item.answer_text
        else:
            assert ex.chain == ()
            gold = ex.story.location(ex.obj) if ex.kind == "reality" else ex.story.initial(ex.obj)
            assert gold == ex.item.answer_text


def test_belief_source_is_a_witnessed_event_that_sets_the_belief() -> None:
    for ex, _ in _generated():
        if ex.kind != "belief":
            continue
        i = ex.story.belief_source(ex.chain, ex.obj)
        event = ex.story.events[i]
        assert event.obj == ex.obj and event.kind in (PLACE, MOVE, *CLAIMS)
        assert event.container == ex.story.belief(ex.chain, ex.obj)
        assert set(ex.chain) <= event.witnesses


# --------------------------------------------------------------------------------------------------
# MCQ traces


def test_mcq_traces_are_canonical_sip_with_the_gold_answer() -> None:
    for ex, sft in _generated():
        item = ex.item
        text = _full(sft)
        check = SIP.check(text)
        assert check.ok, (item.id, check.problems, text)
        assert SIP.structure_reward(text) == 1.0 and SIP.format_reward(text) == 1.0
        assert check.parse.answer == item.answer_letter
        response = check.parse.stages["Response Generation"]
        named = re.fullmatch(r"The (.+) is option ([A-Z])\.", response)
        assert named is not None, response
        assert named[1] == item.options[item.answer] and named[2] == item.answer_letter
        assert sft.messages == mcq_messages(item, sip=True)
        assert sft.key == f"mcq:generated:{item.id}" and sft.kind == "mcq" and sft.source_ids == (item.id,)


def _last_seen(events: Any, model: set[str], room: str, person: str) -> int:
    """Index of the latest event all of ``model`` saw in ``room`` with ``person`` there after it; -1 if none."""
    seen = [
        i
        for i, e in enumerate(events)
        if e.room == room and model <= e.witnesses and person in e.present_after
    ]
    return max(seen, default=-1)


def test_mcq_traces_say_only_what_the_story_supports() -> None:
    cases: set[str] = set()
    for ex, sft in _generated():
        stages = SIP.parse(_full(sft)).stages
        story, gold = ex.story, ex.item.answer_text
        sentences = set(story.text().split("\n"))
        quoted = re.findall(r"[^.]+\.", stages["Cue Encoding"] or "")
        assert 1 <= len(quoted) <= 3
        assert all(q.strip() in sentences for q in quoted), (quoted, story.text())
        assert stages["Goal Clarification"] == ex.item.question
        meaning = stages["Cue Interpretation"] or ""
        # every container the interpretation names is the gold one
        containers = {c for cs in story.rooms.values() for c in cs}
        assert {c for c in containers if f"the {c}" in meaning} <= {gold}, meaning
        for missed in re.findall(r"(?:^|\. )([\w ,]+?) missed the later move", meaning):
            move = next(e for e in reversed(story.events) if e.obj == ex.obj and e.kind == MOVE)
            assert not set(re.split(r", | and ", missed)) & move.witnesses, meaning
            cases.add("missed move")
        if ex.kind == "belief":
            t = story.belief_source(ex.chain, ex.obj)
            source = story.events[t]
            cases.add(f"belief from {'claim' if source.kind in CLAIMS else 'event'}")
            assert quoted[0].strip() == source.sentence()
            present = re.match(r"([\w ,]+?) (?:was|were both|were all) in the (\w+) then\.", meaning)
            if present is not None:  # the people named were in the object's room at that event
                assert present[2] == story.object_rooms[ex.obj] == source.room
                assert set(re.split(r", | and ", present[1])) == set(ex.chain) <= source.witnesses
                cases.add("witnesses named")
            reason = re.search(
                r"(\w+) trusts (\w+) \(who was in the (\w+) more recently, as (.+?) saw\)", meaning
            )
            if reason is not None:  # checked against the witness sets, not the generator's own replay
                listener, speaker, room, view = reason.groups()
                model = set(ex.chain) if view in ("both", "all") else set(re.split(r", | and ", view))
                assert room == story.object_rooms[ex.obj] and speaker == source.actor
                assert listener in ex.chain and model <= set(ex.chain)
                seen = [_last_seen(story.events[:t], model, room, who) for who in (speaker, listener)]
                assert seen[0] > seen[1], meaning
                cases.add("trust reason")
            if " So" in meaning:  # the compact wording leaves the conclusion to Response Generation
                end = (
                    f"So {ex.chain[0]} thinks it is in the {gold}."
                    if len(ex.chain) == 1
                    else f"So: the {gold}."
                )
                assert meaning.endswith(end), meaning
                cases.add("concluded")
            else:
                cases.add("compact")
        else:
            cases.add(ex.kind)
    assert cases == {
        "reality",
        "memory",
        "belief from event",
        "belief from claim",
        "missed move",
        "concluded",
        "compact",
        "witnesses named",
        "trust reason",
    }


def test_mcq_examples_follow_the_generator_stream() -> None:
    examples = mcq_examples(6, seed=3)
    items = generate_items(6, seed=3)
    assert [e.source_ids[0] for e in examples] == [i.id for i in items]
    assert examples == mcq_examples(6, seed=3)


# --------------------------------------------------------------------------------------------------
# social traces


def test_social_traces_are_canonical_sip_whose_answer_is_spoken() -> None:
    examples = _social()
    assert len(examples) == 60 and len({e.key for e in examples}) == 60
    for sft in examples:
        text = _full(sft)
        check = SIP.check(text)
        assert check.ok, (sft.key, check.problems, text)
        assert SIP.structure_reward(text) == 1.0 and SIP.format_reward(text) == 1.0
        answer = check.parse.answer
        assert answer and answer.strip()
        assert sft.messages[-1]["content"].count("It is your turn") == 1


def _setups_by_id() -> dict[str, Any]:
    from envs.registry import resolve_scenarios
    from scenarios.graph import sample_setups

    library, ids = resolve_scenarios("sotopia")
    per_scenario = -(-60 // len(ids))  # as social_examples(60, seed=0) draws them
    return {s.id: s for s in sample_setups(library, scenario_id=sorted(ids), n=per_scenario, seed=0)}


def test_social_prompts_are_the_rollouts_first_turn_and_answers_are_speech() -> None:
    setups = _setups_by_id()
    checked = 0
    for sft in _social():
        setup_id, role = sft.source_ids[0], int(sft.key.rsplit(":", 1)[1])
        setup = setups[setup_id]
        # the learner's first observation as training/rollout.py obtains it
        partners = [ScriptedAgent(["ok"]) for _ in range(setup.scenario.num_roles - 1)]  # one per other seat
        view = SingleAgentEnv(SocialEpisodeEnv(setup, max_turns=4), partners, learner_role=role)
        observation, _ = asyncio.run(view.reset(options={"setup": setup}))
        policy = SocialR1Agent("local-policy")
        policy.reset(setup, view.learner)
        assert policy.messages(observation) == sft.messages
        interpretation = policy.interpret(_full(sft), observation)
        assert interpretation.action.action_type is ActionType.speak
        assert interpretation.action.argument == SIP.parse(_full(sft)).answer
        assert interpretation.sip_ok and not interpretation.fallback
        checked += 1
    assert checked == 60


def _ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w$']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_social_answers_keep_secrets_and_unknown_names() -> None:
    setups = _setups_by_id()
    for sft in _social():
        setup = setups[sft.source_ids[0]]
        role = int(sft.key.rsplit(":", 1)[1])
        answer = SIP.parse(_full(sft)).answer or ""
        goal = setup.scenario.goals[role]
        private = [goal.extra_info, goal.strategy_hint, *(a.secret for a in setup.agents)]
        hidden = goal.text.partition("without revealing")[2]
        for text in [*private, hidden]:
            assert not _ngrams(answer) & _ngrams(text), (sft.key, answer, text)
        partner_role = next(i for i in range(len(setup.agents)) if i != role)  # the one the opening greets
        partner = setup.agents[partner_role]
        if setup.relationship_between(role, partner_role).type.value == "stranger":
            assert partner.first_name not in answer


def test_social_examples_are_seeded_and_repeat_with_new_wording_when_asked_for_many() -> None:
    assert social_examples(5, seed=1) == social_examples(5, seed=1)
    assert [e.completion for e in social_examples(8, seed=1)] != [
        e.completion for e in social_examples(8, seed=2)
    ]
    many = social_examples(400, seed=0, env="sotopia-hard")  # fewer openings than asked for: repeats
    keys = [e.key for e in many]
    assert len(many) == 400 and len(set(keys)) == 400
    assert any("#2" in k for k in keys)
    assert len({e.completion for e in many}) > 300


# --------------------------------------------------------------------------------------------------
# mixing, held-out safety, length


def test_sft_examples_mix_both_kinds_shuffled_and_seeded() -> None:
    mixed = sft_examples(10, 6, seed=0)
    assert sorted(e.kind for e in mixed) == ["mcq"] * 10 + ["social"] * 6
    assert mixed == sft_examples(10, 6, seed=0)
    assert [e.kind for e in mixed] != ["mcq"] * 10 + ["social"] * 6


def test_overlapping_finds_heldout_stories_that_were_trained_on() -> None:
    train = mcq_examples(20, seed=5)
    same = generate_items(20, seed=5)
    other = generate_items(20, seed=6)
    assert overlapping(train, same) == [i.id for i in same]
    assert overlapping(train, other) == []
    assert overlapping(same[:3], same) == [i.id for i in same[:3]]
    respaced = same[4].model_copy(
        update={"id": "respaced", "context": "  " + same[4].context.replace(" ", "\n ")}
    )
    bare = make_item(5, 7, ToMConfig(with_rules=False)).model_copy(update={"id": "bare"})
    assert overlapping(train + social_examples(2, seed=0), [*other[:2], respaced, bare]) == [
        "respaced",
        "bare",
    ]


def _tokenizer() -> Any:
    """The SmolLM2 tokenizer, read from the embedded GGUF (metadata only: seconds) or the converted checkpoint."""
    transformers = require_module("transformers")
    from agents.local_model import LocalModelError, default_cache_dir, gguf_path

    converted = default_cache_dir() / "smollm2-135m-instruct"
    if (converted / "tokenizer.json").exists():
        return transformers.AutoTokenizer.from_pretrained(converted)
    try:
        path = gguf_path()
    except LocalModelError as exc:
        missing("the embedded model", str(exc))
    return transformers.AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def test_completions_fit_the_turn_budget() -> None:
    tokenizer = _tokenizer()
    for kind, examples in (("mcq", [sft for _, sft in _generated()]), ("social", _social())):
        lengths = [len(tokenizer(e.completion, add_special_tokens=False)["input_ids"]) for e in examples]
        print(f"{kind}: min {min(lengths)} mean {statistics.mean(lengths):.1f} max {max(lengths)}")
        assert max(lengths) <= HARD_MAX_TOKENS, kind
        assert sum(n <= MAX_TOKENS for n in lengths) >= 0.98 * len(lengths), kind
