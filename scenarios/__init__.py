"""Scenario data: schema, built-in library, loaders, SOTOPIA import, relationship graph."""

from scenarios.collection import LibraryError, Origin, ScenarioFileError, ScenarioLibrary
from scenarios.graph import eligible_casts, relationship_graph, sample_setups, scenario_casts, uncastable
from scenarios.load import builtin_library_path, load_custom, load_library, load_path
from scenarios.schema import (
    AgentProfile,
    AgeRange,
    BigFive,
    EpisodeSetup,
    Goal,
    Pairing,
    Personality,
    Relationship,
    RelationshipType,
    RoleConstraint,
    Scenario,
    TraitLevel,
)
from scenarios.sotopia import load_sotopia

__all__ = [
    "AgeRange",
    "AgentProfile",
    "BigFive",
    "EpisodeSetup",
    "Goal",
    "LibraryError",
    "Origin",
    "Pairing",
    "Personality",
    "Relationship",
    "RelationshipType",
    "RoleConstraint",
    "Scenario",
    "ScenarioFileError",
    "ScenarioLibrary",
    "TraitLevel",
    "builtin_library_path",
    "eligible_casts",
    "load_custom",
    "load_library",
    "load_path",
    "load_sotopia",
    "relationship_graph",
    "sample_setups",
    "scenario_casts",
    "uncastable",
]
