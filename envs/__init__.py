"""Social-episode environments (PettingZoo): the env, its registry, runner, evaluators and sinks.

``envs`` imports only ``scenarios`` (and its own modules): agents are above it and are handed in
(the runner and the single-agent view take objects that follow :class:`agents.base.Agent`).
"""

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
