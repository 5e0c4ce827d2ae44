"""Real training rows through the real reward path: the dataset TRL reads, the rollout's extras, TRL's merge.

The worst bug so far was a row column (``options_json``) that no reward term read: a correct bare
letter scored -1 on every real MCQ row while the unit tests, which passed ``options=`` by hand,
stayed green. These tests build rows with ``TaskRegistry.dataset`` and the real rollout, merge
them the way TRL 1.16's ``_generate_and_score_completions`` / ``_calculate_rewards`` do, and
call every term. The fields themselves are declared once (``training.tasks``: ``TrainingRow``,
``RolloutRow``, ``RewardRow``) and every field a term reads is checked against them, so a renamed
field fails here, not in a training run.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel, ConfigDict, create_model

from agents.sip import SIP, THINK_PREFILL
from training.rewards import TERM_FIELDS, TERM_NAMES, TERMS, trl_reward_funcs
from training.tasks import RewardRow, RolloutRow, TaskRegistry, TrainingRow, row_features

STAGES = {
    "Cue Encoding": "the story says where the object went and who saw it",
    "Cue Interpretation": "the person who left did not see the move, so they believe the old place",
    "Goal Clarification": "the question asks where the object is thought to be",
    "Response Generation": "the matching option is chosen",
}


def trl_reward_table(
    dataset: Any, extras: dict[str, list[Any]], completions: list[str]
) -> dict[str, list[Any]]:
    """Each term's values for the rows, with the kwargs assembled as TRL 1.16 assembles them."""
    inputs = [dict(dataset[i]) for i in range(len(dataset))]
    for i, inp in enumerate(inputs):  # _generate_and_score_completions: rollout extras join each input
        for key, values in extras.items():
            inp[key] = values[i]
    prompts = [inp["prompt"] for inp in inputs]
    keys = [k for k in inputs[0] if k not in ("prompt", "completion", "completion_ids")]
    kwargs = {k: [inp[k] for inp in inputs] for k in keys}  # _calculate_rewards
    kwargs["log_metric"] = lambda name, value: None
    return {
        f.__name__: f(prompts=prompts, completions=completions, completion_ids=[[]] * len(prompts), **kwargs)
        for f in trl_reward_funcs(TERM_NAMES)
    }


def _mcq_sources(shared_data: Path) -> dict[str, list[Any]]:
    from eval.benchmarks import load_benchmark
    from eval.tom_generator import generate_items

    return {
        "generated": generate_items(4, seed=3),
        "tombench": load_benchmark("tombench", shared_data / "tombench")[:4],
        "hi-tom": load_benchmark("hi-tom", shared_data / "hi-tom")[:4],
        "tom-rl": load_benchmark("tom-rl", shared_data / "tom-rl")[:4],
    }


def _tasks_of_every_kind(shared_data: Path) -> tuple[TaskRegistry, list[Any], list[str]]:
    """MCQ items of every source (generated, shipped benchmarks, ToM-RL free text), then a social and
    a rule-checked (verifiable) episode: the tasks, the items and the keys, in that order."""
    from scenarios import load_library
    from scenarios.graph import sample_setups

    tasks = TaskRegistry()
    items = [it for source in _mcq_sources(shared_data).values() for it in source]
    keys = tasks.add_mcq(items)
    library = load_library()
    keys += tasks.add_social(sample_setups(library, scenario_id=sorted(library.scenarios)[:1], n=1, seed=0))
    keys += tasks.add_social(
        sample_setups(library, scenario_id=library.by_tag("verifiable")[:1], n=1, seed=0)
    )
    return tasks, items, keys


def strict_model(typed: type) -> type[BaseModel]:
    """A strict pydantic model of a TypedDict's fields, no others (pydantic takes ``typing.TypedDict``
    itself only from Python 3.12)."""
    fields: dict[str, Any] = {name: (hint, ...) for name, hint in get_type_hints(typed).items()}
    return create_model(typed.__name__, __config__=ConfigDict(strict=True, extra="forbid"), **fields)


def test_every_field_a_term_reads_is_declared_and_a_named_parameter_of_the_term() -> None:
    declared = get_type_hints(RewardRow)
    assert set(declared) == set(get_type_hints(TrainingRow)) | set(get_type_hints(RolloutRow))
    assert set(TERM_FIELDS) == set(TERMS)
    for name, fields in TERM_FIELDS.items():
        parameters = inspect.signature(TERMS[name]).parameters
        for field in fields:
            assert field in declared, f"term {name!r} reads {field!r}, which no row or rollout field declares"
            # the terms swallow unknown keywords (**_): a renamed parameter would silently get nothing
            assert field in parameters, (
                f"term {name!r} reads {field!r}, but its function has no such parameter"
            )


def test_the_rollouts_columns_are_its_row_fields_and_the_datasets_are_the_training_row() -> None:
    from training.rollout import RolloutFields

    columns = get_type_hints(RolloutFields)
    tokens = {"prompt_ids", "completion_ids", "logprobs", "env_mask"}
    assert set(columns) >= tokens
    assert {k: v for k, v in columns.items() if k not in tokens} == {
        k: list[v] for k, v in get_type_hints(RolloutRow).items()
    }
    assert set(row_features()) == set(get_type_hints(TrainingRow))


def test_real_rows_of_every_kind_are_training_rows(shared_data: Path) -> None:
    tasks, items, keys = _tasks_of_every_kind(shared_data)
    assert any(not it.options for it in items) and any(it.options for it in items)  # free text and lettered
    check = strict_model(TrainingRow)
    for key in keys:
        row = tasks.row(key)
        assert check.model_validate(row).model_dump() == row, key
    assert [dict(r) for r in tasks.dataset(keys)] == [dict(tasks.row(k)) for k in keys]


def test_a_real_rollouts_fields_and_real_rows_reach_every_term(shared_data: Path) -> None:
    """The rollout's own output (not hand-made extras), merged with the dataset as TRL merges it."""
    from test_sft_data import _tokenizer

    from agents.scripted import ScriptedAgent
    from training.rollout import RolloutFields, TrajectoryRollout

    tokenizer = _tokenizer()
    tasks, items, keys = _tasks_of_every_kind(shared_data)
    text = SIP.render(STAGES, "A")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]

    class Canned:
        def generate(self, prompt_ids: list[list[int]]) -> tuple[list[list[int]], None]:
            return [list(ids) for _ in prompt_ids], None

    partner = ScriptedAgent(["I could take the deal.", "DEAL: $100"])
    rollout = TrajectoryRollout(tasks, tokenizer, lambda task: partner, max_turns=4)
    out = rollout.run(keys, Canned())
    strict_model(RolloutFields).model_validate(out)  # exactly the declared keys, of the declared types
    tokens = {"prompt_ids", "completion_ids", "logprobs", "env_mask"}
    extras = {k: v for k, v in out.items() if k not in tokens}
    texts = [turns[-1] for turns in out["policy_texts"]]
    table = trl_reward_table(tasks.dataset(keys), extras, texts)

    assert set(table) == set(TERM_NAMES)
    mcq = len(items)
    assert out["scorable"][:mcq] == [True] * mcq and out["rollout_error"] == [""] * len(keys)
    assert table["accuracy"][:mcq] == [1.0 if it.options and it.answer == 0 else -1.0 for it in items]
    assert table["format"][:mcq] == [1.0] * mcq and all(v is None for v in table["goal"])
    for i in range(mcq, len(keys)):
        assert table["accuracy"][i] is None and out["episode_status"][i] == "finished"
        assert table["rules"][i] == (out["rule_score"][i] if out["scorable"][i] else None)
    assert out["rule_score"][mcq] is None and out["scorable"][mcq] is True  # no checks, no judge


def test_every_term_scores_real_rows_of_every_kind(shared_data: Path) -> None:
    tasks, items, keys = _tasks_of_every_kind(shared_data)
    dataset = tasks.dataset(keys)
    # per MCQ item: the bare gold letter (what the prompt asks for), and a wrong letter
    right, wrong = [], []
    for it in items:
        if it.options:
            gold = it.answer_letter
            other = "A" if gold != "A" else "B"
            right.append(SIP.render(STAGES, gold))
            wrong.append(SIP.render(STAGES, other))
        else:
            right.append(SIP.render(STAGES, it.answer_text))
            wrong.append(SIP.render(STAGES, "somewhere else entirely"))
    social = SIP.render(STAGES, "Hello, could we talk about this?")
    n = len(keys)
    extras = {
        "policy_texts": [[t] for t in [*right, social, social]],
        "goal_score": [None] * len(items) + [6.0, None],
        "rule_score": [None] * len(items) + [None, 0.5],
        "scorable": [True] * n,
    }
    good = trl_reward_table(dataset, extras, [*right, social, social])
    extras["policy_texts"] = [[t] for t in [*wrong, social, social]]
    bad = trl_reward_table(dataset, extras, [*wrong, social, social])

    assert good["accuracy"][: len(items)] == [1.0] * len(items), [it.id for it in items]
    assert bad["accuracy"][: len(items)] == [-1.0] * len(items)
    assert good["accuracy"][-2] is None and good["goal"][-2] == 0.6
    assert all(v is None for v in good["goal"][: len(items)])
    assert good["rules"][-1] == 0.5 and all(v is None for v in good["rules"][:-1])
    for term in ("format", "structure", "length"):
        assert all(isinstance(v, float) for v in good[term]), term
    assert all(v == 1.0 for v in good["format"]) and all(v == 1.0 for v in good["structure"])
    assert all(isinstance(v, float) and v > 0 for v in good["content"])


def test_content_term_reads_the_options_of_the_row() -> None:
    from eval.tom_generator import generate_items

    tasks = TaskRegistry()
    item = generate_items(1, seed=5)[0]
    keys = tasks.add_mcq([item])
    gold_text = item.options[item.answer]
    stages = dict(STAGES, **{"Response Generation": f"the {gold_text} it is"})  # anchored only by the options
    text = SIP.render(stages, item.answer_letter or "A")
    with_options = trl_reward_table(
        tasks.dataset(keys),
        {"policy_texts": [[text]], "scorable": [True], "goal_score": [None], "rule_score": [None]},
        [text],
    )
    row = dict(tasks.dataset(keys)[0])
    row["options"] = []
    from datasets import Dataset

    from training.tasks import row_features

    without = trl_reward_table(
        Dataset.from_list([row], features=row_features()),
        {"policy_texts": [[text]], "scorable": [True], "goal_score": [None], "rule_score": [None]},
        [text],
    )
    assert with_options["content"][0] > without["content"][0]


def test_a_column_the_terms_do_not_find_is_an_error() -> None:
    funcs = {f.__name__: f for f in trl_reward_funcs(["accuracy", "goal"])}
    with pytest.raises(KeyError, match="options"):
        funcs["accuracy"](
            prompts=["k"], completions=["x"], options_json=["[]"], answer=[0], answer_text=["a"]
        )
    with pytest.raises(KeyError, match="goal_score"):
        funcs["goal"](prompts=["k"], completions=["x"])


def test_unscorable_rows_get_no_value_from_any_term() -> None:
    from eval.tom_generator import generate_items

    tasks = TaskRegistry()
    keys = tasks.add_mcq(generate_items(2, seed=1))
    text = THINK_PREFILL + " x\n</think><Answer>A</Answer>"
    logged: list[tuple[str, float]] = []
    table = trl_reward_table(
        tasks.dataset(keys),
        {
            "policy_texts": [[text], [text]],
            "scorable": [True, False],
            "goal_score": [None, None],
            "rule_score": [None, None],
        },
        [text, text],
    )
    for term, values in table.items():
        assert values[1] is None, term
        assert term in ("goal", "rules") or values[0] is not None, term
    funcs = trl_reward_funcs(["format"])
    funcs[0](
        prompts=keys, completions=[text, text], scorable=[True, False], log_metric=lambda *a: logged.append(a)
    )
    assert logged == [("unscorable_frac", 0.5)]
