"""Social-episode environments (PettingZoo).

The public names below are imported lazily, so that ``import envs.types`` (used by ``agents``)
stays light and does not pull in PettingZoo and gymnasium.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "make": "envs.registry",
    "resolve_scenarios": "envs.registry",
    "UnknownEnvError": "envs.registry",
    "ENV_IDS": "envs.registry",
    "SocialEpisodeEnv": "envs.social",
    "EnvConfig": "envs.social",
    "TurnMode": "envs.social",
    "TerminationReason": "envs.social",
    "UnicodeText": "envs.social",
    "TextObservation": "envs.social",
    "Evaluator": "envs.evaluator",
    "AsyncEvaluator": "envs.evaluator",
    "TranscriptStatsEvaluator": "envs.evaluator",
    "run_sync": "envs.evaluator",
    "SingleAgentEnv": "envs.wrappers",
    "run_episode": "envs.runner",
    "run_episodes": "envs.runner",
    "replay": "envs.runner",
    "ReplayMismatch": "envs.runner",
    "TurnError": "envs.runner",
    "EpisodeSink": "envs.sinks",
    "JSONLSink": "envs.sinks",
    "read_episodes": "envs.sinks",
}

__all__ = [
    "ENV_IDS",
    "AsyncEvaluator",
    "EnvConfig",
    "EpisodeSink",
    "Evaluator",
    "JSONLSink",
    "ReplayMismatch",
    "SingleAgentEnv",
    "SocialEpisodeEnv",
    "TerminationReason",
    "TextObservation",
    "TranscriptStatsEvaluator",
    "TurnError",
    "TurnMode",
    "UnicodeText",
    "UnknownEnvError",
    "make",
    "read_episodes",
    "replay",
    "resolve_scenarios",
    "run_episode",
    "run_episodes",
    "run_sync",
]

if TYPE_CHECKING:
    from envs.evaluator import AsyncEvaluator, Evaluator, TranscriptStatsEvaluator, run_sync
    from envs.registry import ENV_IDS, UnknownEnvError, make, resolve_scenarios
    from envs.runner import ReplayMismatch, TurnError, replay, run_episode, run_episodes
    from envs.sinks import EpisodeSink, JSONLSink, read_episodes
    from envs.social import (
        EnvConfig,
        SocialEpisodeEnv,
        TerminationReason,
        TextObservation,
        TurnMode,
        UnicodeText,
    )
    from envs.wrappers import SingleAgentEnv


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'envs' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
