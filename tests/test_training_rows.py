"""Real training rows through the real reward path: the dataset TRL reads, the rollout's extras, TRL's merge.

The worst bug so far was a row column (``options_json``) that no reward term read: a correct bare
letter scored -1 on every real MCQ row while the unit tests, which passed ``options=`` by hand,
stayed green. These tests build rows with ``TaskRegistry.dataset`` and the real rollout, merge
them the way TRL 1.16's ``_generate_and_score_completions`` / ``_calculate_rewards`` do, and
call every term.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.sip import SIP, THINK_PREFILL
from training.rewards import TERM_NAMES, trl_reward_funcs
from training.tasks import TaskRegistry

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


def test_every_term_scores_real_rows_of_every_kind(shared_data: Path) -> None:
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
