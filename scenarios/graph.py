"""The relationship network, and which casts fit a scenario.

Nodes are character ids (attributes: the profile's main fields and the ``profile`` itself);
edges are recorded relationships. One pair can hold records of more than one type (SOTOPIA has two
such pairs, e.g. a stranger record and a romantic one), so an edge keeps every record in
``relationships`` (type -> :class:`Relationship`); ``type``, ``background`` and ``id`` describe the
first record for convenience.

A cast fits a scenario when each character satisfies its role's constraints and every pair in the
cast has a recorded relationship of the type the scenario requires of it (its ``relationship``, or
a ``pair_relationships`` entry in a group scenario); for stranger pairs, pairs with no record at all
count as strangers too. This is SOTOPIA's constraint-based sampler, done
deterministically: :func:`eligible_casts` lists every fitting cast, :func:`sample_setups` draws from
them (or from the library's fixed pairings) with a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

from scenarios.collection import LibraryError, describe_constraint
from scenarios.schema import EpisodeSetup, RelationshipType, Scenario

if TYPE_CHECKING:
    from scenarios.collection import ScenarioLibrary


def relationship_graph(library: ScenarioLibrary) -> nx.Graph:
    """The library's characters and relationships as an undirected ``networkx.Graph``."""
    graph = nx.Graph()
    for agent_id, profile in library.characters.items():
        graph.add_node(
            agent_id,
            name=profile.name,
            age=profile.age,
            occupation=profile.occupation,
            gender=profile.gender,
            tags=list(profile.tags),
            profile=profile,
        )
    for relationship in library.relationships:
        a, b = relationship.agents
        if graph.has_edge(a, b):
            graph.edges[a, b]["relationships"].setdefault(relationship.type, relationship)
        else:
            graph.add_edge(
                a,
                b,
                type=relationship.type,
                background=relationship.background,
                id=relationship.id,
                relationships={relationship.type: relationship},
            )
    return graph


def pair_types(graph: nx.Graph, a: str, b: str) -> set[RelationshipType]:
    """Every relationship type recorded between two characters (empty when unconnected)."""
    if not graph.has_edge(a, b):
        return set()
    return set(graph.edges[a, b]["relationships"])


def pair_fits(graph: nx.Graph, a: str, b: str, wanted: RelationshipType) -> bool:
    """True when the pair may play a scenario needing relationship ``wanted``."""
    types = pair_types(graph, a, b)
    return wanted in types or (wanted is RelationshipType.stranger and not types)


def eligible_casts(
    library: ScenarioLibrary, scenario: Scenario | str, graph: nx.Graph | None = None
) -> list[tuple[str, ...]]:
    """Every ordered cast (character ids in role order) that fits the scenario.

    Casts are listed in a stable order (by character id, role by role). A pair fits in either
    order: a relationship record (a, b) lets a play role 0 and b role 1, or the other way round,
    as long as each satisfies the constraints of the role it plays.
    """
    if isinstance(scenario, str):
        scenario = library.scenario(scenario)
    if graph is None:
        graph = relationship_graph(library)
    candidates = [
        [
            agent_id
            for agent_id in sorted(library.characters)
            if scenario.admits(role, library.characters[agent_id])
        ]
        for role in range(scenario.num_roles)
    ]
    casts: list[tuple[str, ...]] = []

    def extend(cast: list[str]) -> None:
        role = len(cast)
        if role == scenario.num_roles:
            casts.append(tuple(cast))
            return
        for agent_id in candidates[role]:
            if agent_id in cast or not all(
                pair_fits(graph, other, agent_id, scenario.relationship_of(other_role, role))
                for other_role, other in enumerate(cast)
            ):
                continue
            cast.append(agent_id)
            extend(cast)
            cast.pop()

    extend([])
    return casts


def scenario_casts(
    library: ScenarioLibrary, scenario: Scenario | str, graph: nx.Graph | None = None
) -> list[tuple[str, ...]]:
    """A scenario's casts (character ids in role order): its fixed pairings when the library has any
    for it (SOTOPIA's five per scenario), else every :func:`eligible_casts` (possibly none).

    Every user of "who can play this scenario" (the sampler, the env's draws, the setup count) asks here.
    """
    if isinstance(scenario, str):
        scenario = library.scenario(scenario)
    fixed = library.fixed_pairings(scenario.id)
    if fixed:
        return [tuple(p.agents) for p in fixed]
    return eligible_casts(library, scenario, graph=graph)


def _casts_for(library: ScenarioLibrary, scenario: Scenario, graph: nx.Graph) -> list[tuple[str, ...]]:
    """:func:`scenario_casts`, or a :class:`LibraryError` saying why there is none."""
    casts = scenario_casts(library, scenario, graph)
    if not casts:
        roles = "; ".join(
            f"role {role}: {describe_constraint(scenario, role)}" for role in range(scenario.num_roles)
        )
        raise LibraryError(
            f"scenario {scenario.id!r} has no eligible cast: no {scenario.num_roles} characters with a "
            f"{scenario.relationship.value!r} relationship satisfy its role constraints ({roles}); add "
            "characters or relationships, or relax the constraints"
        )
    return casts


def uncastable(library: ScenarioLibrary, scenario_ids: Iterable[str] | None = None) -> list[str]:
    """One problem per scenario the sampler cannot cast (no fixed pairing and no eligible cast).

    Each line names where the scenario is defined, who may play each role, and the fix.
    """
    graph = relationship_graph(library)
    problems: list[str] = []
    for scenario_id in library.scenarios if scenario_ids is None else scenario_ids:
        try:
            _casts_for(library, library.scenario(scenario_id), graph)
        except LibraryError as exc:
            problems.append(f"{library.origin_of(scenario_id)}: {exc}")
    return problems


def sample_setups(
    library: ScenarioLibrary,
    scenario_id: str | Iterable[str] | None = None,
    n: int | None = None,
    seed: int = 0,
    tag: str | None = None,
) -> list[EpisodeSetup]:
    """Episode setups for one scenario, several, or all (optionally only those tagged ``tag``).

    Per scenario, the casts are its fixed pairings when the library has any for it (SOTOPIA's 5 per
    scenario), otherwise its :func:`eligible_casts`. ``n=None`` gives every cast once, in stable
    order (SOTOPIA "all": 450 setups). ``n=k`` gives ``k`` casts per scenario drawn without
    replacement (when ``k`` exceeds the casts available, the casts are reshuffled and drawn
    again). The draw for a scenario depends only on ``seed`` and the scenario's id, so the same
    seed gives the same setups, whatever other scenarios are asked for. Each setup carries its own
    episode seed, derived the same way, for exact replay.
    """
    if n is not None and n < 1:
        raise ValueError(f"n must be at least 1 (or None for every cast), got {n}")
    if scenario_id is None:
        ids = list(library.scenarios)
    elif isinstance(scenario_id, str):
        ids = [scenario_id]
    else:
        ids = list(scenario_id)
    if tag is not None:
        ids = [i for i in ids if tag in library.scenario(i).tags]
    graph = relationship_graph(library)
    setups: list[EpisodeSetup] = []
    for sid in ids:
        scenario = library.scenario(sid)
        casts = _casts_for(library, scenario, graph)
        rng = random.Random(f"{seed}:{scenario.id}")
        if n is None:
            chosen = casts
        else:
            chosen = []
            while len(chosen) < n:
                block = list(casts)
                rng.shuffle(block)
                chosen.extend(block[: n - len(chosen)])
        for cast in chosen:
            setups.append(library.setup(scenario.id, list(cast), seed=rng.randrange(2**31)))
    return setups
