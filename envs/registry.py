"""Environments by id: ``make("sotopia")`` and friends.

Ids:

* ``sotopia`` — every scenario of the built-in library;
* ``sotopia-hard`` — the built-in scenarios tagged ``hard``;
* ``sotopia-verifiable`` — the built-in scenarios tagged ``verifiable``: each has rule-checked goals
  (:mod:`scenarios.checks`), so its episodes are scored without a judge (``reward_dimension="rules"``);
* ``sotopia-group`` — the built-in scenarios tagged ``group``: 3-4 roles (group decisions, three-way
  negotiations, a mediation, a surprise party kept from one of the four);
* ``sotopia:PATH`` — the scenarios of a custom YAML/JSON file or folder, or of a SOTOPIA dump
  folder (characters and relationships of the built-in library may be used by them).

``mcq:NAME`` is reserved: multiple-choice benchmarks are not social episodes; they are served by
``eval.mcq`` (``python -m eval.mcq``), which ``envs`` may not import. Asking for one raises
:class:`UnknownEnvError` saying so. None of these needs a model or the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.social import SocialEpisodeEnv
from scenarios.collection import ScenarioLibrary
from scenarios.load import load_custom, load_library

ENV_IDS: dict[str, str] = {
    "sotopia": "every scenario of the built-in library",
    "sotopia-hard": "the built-in scenarios tagged 'hard'",
    "sotopia-verifiable": "the built-in scenarios tagged 'verifiable' (rule-checked goals, no judge needed)",
    "sotopia-group": "the built-in scenarios tagged 'group' (3-4 roles)",
    "sotopia:PATH": "the scenarios of a custom YAML/JSON file or folder, or a SOTOPIA dump folder",
}


TAGGED_SETS: dict[str, str] = {
    "sotopia-hard": "hard",
    "sotopia-verifiable": "verifiable",
    "sotopia-group": "group",
}
"""Env ids that play the built-in scenarios with one tag."""
RULE_CHECKED_ENVS = frozenset({"sotopia-verifiable"})
"""Env ids whose every scenario has rule checks: training on them needs no judge."""


class UnknownEnvError(ValueError):
    """An env id that :func:`make` does not know; the message lists the known ids."""


def _known_ids() -> str:
    return "\n".join(f"  {env_id:<18} {text}" for env_id, text in ENV_IDS.items())


def resolve_scenarios(env_id: str) -> tuple[ScenarioLibrary, list[str]]:
    """The library an env id draws from and the ids of the scenarios it plays."""
    env_id = env_id.strip()
    if env_id == "sotopia":
        library = load_library()
        return library, list(library.scenarios)
    if env_id in TAGGED_SETS:
        library = load_library()
        tag = TAGGED_SETS[env_id]
        tagged = library.by_tag(tag)
        if not tagged:
            raise UnknownEnvError(f"the built-in library has no scenario tagged {tag!r}")
        return library, tagged
    if env_id.startswith("sotopia:"):
        path = Path(env_id.removeprefix("sotopia:")).expanduser()
        if not str(path) or str(path) == ".":
            raise UnknownEnvError("'sotopia:PATH' needs a path to a scenario file or folder after the colon")
        library, scenario_ids = load_custom(path)
        if not scenario_ids:
            raise UnknownEnvError(f"{path} defines no scenarios")
        return library, scenario_ids
    if env_id.startswith("mcq:"):
        raise UnknownEnvError(
            f"{env_id!r}: multiple-choice benchmarks are not social-episode envs; load and score them "
            "with eval.mcq (python -m eval.mcq)"
        )
    raise UnknownEnvError(f"unknown env id {env_id!r}; known ids:\n{_known_ids()}")


def resolve_scenario_spec(spec: str) -> tuple[ScenarioLibrary, list[str]]:
    """Like :func:`resolve_scenarios`, but also accepts a bare path or a single built-in scenario id.

    This is what the command lines take for ``--scenario(s)``: ``sotopia``, ``sotopia-hard``,
    ``sotopia-verifiable``, ``sotopia-group``, ``sotopia:PATH``, ``PATH`` (a scenario file/folder or a SOTOPIA dump) or a scenario id.
    """
    spec = spec.strip()
    if spec == "sotopia" or spec in TAGGED_SETS or spec.startswith("sotopia:"):
        return resolve_scenarios(spec)
    if Path(spec).expanduser().exists():
        return resolve_scenarios(f"sotopia:{spec}")
    library = load_library()
    return library, [library.scenario(spec).id]


def make(env_id: str, *, seed: int | None = None, **kwargs: Any) -> SocialEpisodeEnv:
    """Build the env an id names (see the module docstring).

    ``seed`` seeds which setups are drawn; ``kwargs`` go to :class:`SocialEpisodeEnv`
    (``evaluator``, ``render_mode``, ``config`` or :class:`~envs.social.EnvConfig` fields such as
    ``turn_mode`` and ``max_turns``).
    """
    library, scenario_ids = resolve_scenarios(env_id)
    env = SocialEpisodeEnv(library, scenario_ids=scenario_ids, seed=seed, **kwargs)
    env.metadata = {**env.metadata, "env_id": env_id}
    return env
