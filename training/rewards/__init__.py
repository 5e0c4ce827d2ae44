"""Reward terms for Social-R1 training, the curriculum that weights them, and their TRL adapter.

Every term is a plain function ``f(completion: str, **item_fields) -> float | None``; unknown
keyword arguments are ignored, and a term returns None for rows it cannot score (an accuracy
term on an episode row, a goal term on an MCQ row). One module per concept:

* ``format`` and ``structure``: the SIP format's own rewards, :data:`agents.sip.SIP`;
* :mod:`~training.rewards.content` (lexical grounding, with :mod:`~training.rewards.lexicon`, or
  the LLM judge of :mod:`~training.rewards.content_judge`), :mod:`~training.rewards.length`,
  :mod:`~training.rewards.accuracy`, :mod:`~training.rewards.outcome` (``goal`` and ``rules``);
* :mod:`~training.rewards.terms` (the terms by name), :mod:`~training.rewards.curriculum` (their
  weights over training), :mod:`~training.rewards.trl_adapter` (TRL reward functions).

Formulas and ranges are in each docstring and in ``docs/rewards.md``.
"""

from training.rewards.accuracy import accuracy_reward
from training.rewards.content import content_reward, stage_grounding
from training.rewards.content_judge import RewardJudgeError, judge_content, parse_judge_score
from training.rewards.curriculum import DEFAULT_SCHEDULE, Curriculum, Phase
from training.rewards.length import length_reward, length_window, repetition
from training.rewards.outcome import goal_reward, rules_reward
from training.rewards.terms import TERM_FIELDS, TERM_NAMES, TERMS, reward_terms
from training.rewards.trl_adapter import completion_texts, trl_reward_funcs

__all__ = [
    "DEFAULT_SCHEDULE",
    "TERMS",
    "TERM_FIELDS",
    "TERM_NAMES",
    "Curriculum",
    "Phase",
    "RewardJudgeError",
    "accuracy_reward",
    "completion_texts",
    "content_reward",
    "goal_reward",
    "judge_content",
    "length_reward",
    "length_window",
    "parse_judge_score",
    "repetition",
    "reward_terms",
    "rules_reward",
    "stage_grounding",
    "trl_reward_funcs",
]
