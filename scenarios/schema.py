"""Validated data models for scenarios, characters, relationships and episode setups.

Every model is strict (``extra="forbid"``): an unknown key in a YAML/JSON file is an error,
not a silently ignored typo.

Size limits, checked when a file is validated (so an oversized scenario fails at ``validate``
time, not in the middle of an episode):

- texts (setting, goal text and notes, relationship background, public info, secret, personality
  summary, decision style): at most :data:`MAX_TEXT_CHARS` = 10,000 characters each. SOTOPIA's
  longest is 1,672 (a goal string with its inline notes), ours 371; one episode prompt holds a
  setting, a goal and a background, so three texts at the limit are still ~8k tokens;
- names and labels (names, occupation, gender, pronouns, MBTI, codename, source, each tag, value
  and allowed occupation): at most :data:`MAX_LABEL_CHARS` = 200 characters;
- lists: at most :data:`MAX_ROLES` = 10 roles (goals, role constraints, pairing agents) and
  :data:`MAX_LIST_ITEMS` = 100 tags, values or occupations.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scenarios.checks import (
    AgreementCheck,
    AllocationCheck,
    FactCheck,
    GoalCheck,
    contains_phrase,
    normalise,
    protocol_lines,
)

Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$",
        description="Letters, digits, '_', '-', '.', ':'; starts with a letter or digit.",
    ),
]
MAX_TEXT_CHARS = 10_000
"""Longest text field (setting, goal, notes, background, ...); SOTOPIA's longest is 1,672."""
MAX_LABEL_CHARS = 200
"""Longest name or label (first name, occupation, pronouns, tag, ...)."""
MAX_ROLES = 10
"""Most roles a scenario (and a pairing) may have; SOTOPIA's and ours have 2."""
MAX_LIST_ITEMS = 100
"""Most tags, values, moral values or allowed occupations in one list."""

Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
NonEmptyText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
Label = Annotated[str, Field(max_length=MAX_LABEL_CHARS)]
NonEmptyLabel = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]
Labels = Annotated[list[Label], Field(max_length=MAX_LIST_ITEMS)]


class StrictModel(BaseModel):
    """Base for every boundary model: unknown fields are rejected, whitespace is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class RelationshipType(str, Enum):
    """SOTOPIA's six relationship levels, from least to most familiar."""

    stranger = "stranger"
    know_by_name = "know_by_name"
    acquaintance = "acquaintance"
    friend = "friend"
    romantic = "romantic"
    family = "family"

    @property
    def level(self) -> int:
        """SOTOPIA's integer code (0 stranger .. 5 family)."""
        return list(RelationshipType).index(self)

    @classmethod
    def from_level(cls, level: int | str) -> RelationshipType:
        """Map SOTOPIA's integer code ("0".."5") to the enum."""
        members = list(cls)
        index = int(level)
        if not 0 <= index < len(members):
            raise ValueError(f"relationship level must be 0..5, got {level!r}")
        return members[index]


class TraitLevel(str, Enum):
    """Coarse level of a Big Five trait."""

    low = "low"
    average = "average"
    high = "high"


class BigFive(StrictModel):
    """Big Five personality profile."""

    openness: TraitLevel = TraitLevel.average
    conscientiousness: TraitLevel = TraitLevel.average
    extraversion: TraitLevel = TraitLevel.average
    agreeableness: TraitLevel = TraitLevel.average
    neuroticism: TraitLevel = TraitLevel.average

    @field_validator("*", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Personality(StrictModel):
    """How a character thinks and decides."""

    big_five: BigFive = Field(default_factory=BigFive)
    values: Labels = Field(default_factory=list, description="Personal values (Schwartz).")
    moral_values: Labels = Field(default_factory=list, description="Moral foundations.")
    decision_style: Text = ""
    mbti: Label | None = None
    summary: Text = Field("", description="One or two sentences in prose.")


class AgentProfile(StrictModel):
    """A character that can take part in episodes."""

    id: Identifier
    first_name: NonEmptyLabel
    last_name: Label = ""
    age: int = Field(ge=0, le=130)
    occupation: NonEmptyLabel
    gender: NonEmptyLabel
    pronouns: NonEmptyLabel = Field(description="For example 'she/her'.")
    public_info: Text = Field("", description="What anyone who knows them could know.")
    personality: Personality = Field(default_factory=Personality)
    secret: Text = Field("", description="Something they would not want others to learn.")
    tags: Labels = Field(default_factory=list)

    @property
    def name(self) -> str:
        """Full display name."""
        return f"{self.first_name} {self.last_name}".strip()


class Goal(StrictModel):
    """One role's private goal.

    SOTOPIA embeds three kinds of notes inside goal strings; we keep them as fields:
    ``extra_info`` (private facts the role knows, e.g. item values: always shown to the role),
    ``strategy_hint`` (advice to the role: shown unless the env disables hints) and
    ``clarification_hint`` (what counts as success: shown to the judge, not to the role).
    A plain string is accepted in files and becomes ``Goal(text=...)``.

    ``checks`` are optional rule-checked conditions of the goal (:mod:`scenarios.checks`): outcomes
    a program reads off the finished transcript (a deal within the role's limit, a secret never said,
    a fact learned and stated, an item split meeting both sides' constraints).
    """

    text: NonEmptyText
    extra_info: Text = ""
    strategy_hint: Text = ""
    clarification_hint: Text = ""
    checks: list[GoalCheck] = Field(
        default_factory=list, max_length=10, description="Rule-checked conditions (scenarios.checks)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: object) -> object:
        return {"text": value} if isinstance(value, str) else value

    def for_agent(self, show_hints: bool = True) -> str:
        """The goal as the role itself sees it."""
        parts = [self.text]
        if self.extra_info:
            parts.append(self.extra_info)
        if show_hints and self.strategy_hint:
            parts.append(f"Hint: {self.strategy_hint}")
        return " ".join(parts)

    def for_judge(self) -> str:
        """The goal as the evaluator sees it (with any clarification of success)."""
        parts = [self.text]
        if self.extra_info:
            parts.append(self.extra_info)
        if self.clarification_hint:
            parts.append(f"(Clarification: {self.clarification_hint})")
        return " ".join(parts)


class AgeRange(StrictModel):
    """Inclusive age bounds for a role."""

    min: int = Field(0, ge=0)
    max: int = Field(130, le=130)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError(f"age range min ({self.min}) is greater than max ({self.max})")
        return self

    def admits(self, age: int) -> bool:
        """True when ``age`` is inside the range."""
        return self.min <= age <= self.max


class RoleConstraint(StrictModel):
    """Who may play one role of a scenario."""

    age: AgeRange | None = None
    occupations: Labels | None = Field(
        None, description="Allowed occupations (case-insensitive); None means any."
    )

    def admits(self, profile: AgentProfile) -> bool:
        """True when the character may play this role."""
        if self.age is not None and not self.age.admits(profile.age):
            return False
        if self.occupations:
            allowed = {o.strip().lower() for o in self.occupations}
            return profile.occupation.strip().lower() in allowed
        return True


class PairRelationship(StrictModel):
    """The relationship one pair of roles of a group scenario must have (roles counted from 0)."""

    roles: tuple[Annotated[int, Field(ge=0, lt=MAX_ROLES)], Annotated[int, Field(ge=0, lt=MAX_ROLES)]]
    type: RelationshipType

    @model_validator(mode="after")
    def _distinct(self) -> PairRelationship:
        if self.roles[0] == self.roles[1]:
            raise ValueError(f"a pair relationship needs two different roles, got role {self.roles[0]} twice")
        return self


class Scenario(StrictModel):
    """A social task: a setting, one private goal per role, and who may play it.

    ``relationship`` is what every pair of roles must be to each other; a group scenario (3+ roles)
    may set other types for some pairs in ``pair_relationships`` (e.g. two siblings and a stranger
    who mediates).
    """

    id: Identifier
    codename: Label = Field("", description="Short snake_case name.")
    setting: NonEmptyText = Field(description="What is happening, visible to every role.")
    goals: list[Goal] = Field(min_length=2, max_length=MAX_ROLES,
                              description="One private goal per role, in role order.")
    relationship: RelationshipType = Field(description="Required relationship between the roles.")
    pair_relationships: list[PairRelationship] = Field(
        default_factory=list,
        max_length=MAX_ROLES * (MAX_ROLES - 1) // 2,
        description="Per-pair overrides of `relationship` (roles counted from 0).",
    )
    role_constraints: list[RoleConstraint] | None = Field(
        None, max_length=MAX_ROLES, description="One entry per role (same order as goals), or omitted."
    )
    tags: Labels = Field(default_factory=list, description="e.g. hard, negotiation.")
    max_turns: int = Field(20, ge=1, le=200)
    source: Label = "socialgym"

    @field_validator("codename")
    @classmethod
    def _codename(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError("codename must be snake_case (a-z, 0-9, _)")
        return value

    @model_validator(mode="after")
    def _constraints_match_roles(self) -> Scenario:
        if self.role_constraints is not None and len(self.role_constraints) != len(self.goals):
            raise ValueError(
                f"role_constraints has {len(self.role_constraints)} entries but there are "
                f"{len(self.goals)} goals: give one constraint per role"
            )
        return self

    @model_validator(mode="after")
    def _pairs_in_range(self) -> Scenario:
        seen: set[frozenset[int]] = set()
        for index, pair in enumerate(self.pair_relationships):
            if max(pair.roles) >= self.num_roles:
                raise ValueError(
                    f"pair_relationships[{index}] names role {max(pair.roles)} but the scenario has "
                    f"{self.num_roles} roles (0..{self.num_roles - 1}): fix the role numbers"
                )
            key = frozenset(pair.roles)
            if key in seen:
                raise ValueError(
                    f"pair_relationships[{index}] repeats roles {sorted(key)}: give each pair once"
                )
            seen.add(key)
        return self

    def relationship_of(self, role_a: int, role_b: int) -> RelationshipType:
        """The relationship the scenario requires between two roles."""
        key = {role_a, role_b}
        for pair in self.pair_relationships:
            if set(pair.roles) == key:
                return pair.type
        return self.relationship

    @model_validator(mode="after")
    def _checks_consistent(self) -> Scenario:
        checks = [(role, check) for role, goal in enumerate(self.goals) for check in goal.checks]
        if "verifiable" in self.tags and not checks:
            raise ValueError(
                "a scenario tagged 'verifiable' needs at least one rule check in its goals' checks"
            )
        allocations = [c for _, c in checks if isinstance(c, AllocationCheck)]
        if allocations and self.num_roles != 2:
            raise ValueError(
                f"allocation checks need exactly two roles (SPLIT: me ...; you ...), not {self.num_roles}"
            )
        if any(c.pool != allocations[0].pool for c in allocations):
            raise ValueError(
                "every allocation check of a scenario must have the same pool (one split is agreed)"
            )
        options = [{normalise(o) for o in c.options} for _, c in checks if isinstance(c, AgreementCheck)]
        if any(o != options[0] for o in options):
            raise ValueError(
                "every agreement check of a scenario must list the same options (one option is agreed)"
            )
        for role, check in checks:
            if isinstance(check, FactCheck) and check.learned:
                others = " ".join(
                    f"{g.text} {g.extra_info}" for other, g in enumerate(self.goals) if other != role
                )
                if not any(contains_phrase(others, answer) for answer in check.answers):
                    raise ValueError(
                        f"role {role + 1}'s fact check: no accepted answer appears in another role's goal text or "
                        "extra_info, so it cannot be learned; add it there, or set learned: false"
                    )
        return self

    @property
    def num_roles(self) -> int:
        """How many characters play this scenario."""
        return len(self.goals)

    @property
    def is_hard(self) -> bool:
        """True when tagged ``hard``."""
        return "hard" in self.tags

    def admits(self, role: int, profile: AgentProfile) -> bool:
        """True when ``profile`` may play role ``role``."""
        if not self.role_constraints:
            return True
        return self.role_constraints[role].admits(profile)

    @property
    def has_checks(self) -> bool:
        """True when any role's goal has rule checks."""
        return any(goal.checks for goal in self.goals)

    def protocol_for(self, role: int) -> list[str]:
        """The statement forms role ``role`` is told (deal, agreement and split forms go to every role)."""
        return protocol_lines([goal.checks for goal in self.goals], role)


class Relationship(StrictModel):
    """How two characters know each other."""

    id: Identifier | None = None
    agents: tuple[Identifier, Identifier]
    type: RelationshipType
    background: Text = Field("", description="Short shared history, known to both.")

    @model_validator(mode="after")
    def _distinct(self) -> Relationship:
        if self.agents[0] == self.agents[1]:
            raise ValueError(f"a relationship needs two different characters, got {self.agents[0]!r} twice")
        return self

    def involves(self, agent_id: str) -> bool:
        """True when ``agent_id`` is one of the two."""
        return agent_id in self.agents


class Pairing(StrictModel):
    """A fixed cast for a scenario (SOTOPIA's env-agent combos)."""

    id: Identifier | None = None
    scenario: Identifier
    agents: list[Identifier] = Field(min_length=2, max_length=MAX_ROLES)


class EpisodeSetup(StrictModel):
    """Everything an environment needs to start one episode; serialisable for exact replay."""

    scenario: Scenario
    agents: list[AgentProfile] = Field(min_length=2, description="Role order: agents[i] pursues goals[i].")
    relationship: Relationship = Field(description="Between the first two roles (see `relationships`).")
    relationships: list[Relationship] = Field(
        default_factory=list,
        description="One per pair of roles in a group (3+ roles); empty for two roles, where `relationship` is it.",
    )
    pairing_id: str | None = None
    seed: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EpisodeSetup:
        if len(self.agents) != self.scenario.num_roles:
            raise ValueError(
                f"scenario {self.scenario.id!r} has {self.scenario.num_roles} roles but "
                f"{len(self.agents)} agents were given"
            )
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValueError(f"the same character appears twice in one episode: {ids}")
        for relationship in self.relationships:
            if not all(agent in ids for agent in relationship.agents):
                raise ValueError(
                    f"relationships names {list(relationship.agents)} but the cast is {ids}: "
                    "give relationships between cast members only"
                )
        return self

    def relationship_between(self, role_a: int, role_b: int) -> Relationship:
        """How the characters in two roles know each other.

        The recorded relationship of the pair when the setup has one; otherwise the type the
        scenario requires of the pair, with no shared history.
        """
        a, b = self.agents[role_a].id, self.agents[role_b].id
        for relationship in [self.relationship, *self.relationships]:
            if relationship.involves(a) and relationship.involves(b):
                return relationship
        return Relationship(agents=(a, b), type=self.scenario.relationship_of(role_a, role_b))

    @property
    def id(self) -> str:
        """Stable id: scenario and cast."""
        return f"{self.scenario.id}|{'+'.join(a.id for a in self.agents)}"

    @property
    def agent_names(self) -> list[str]:
        """Display names in role order (unique within the episode)."""
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            names = [f"{a.name} ({a.id})" for a in self.agents]
        return names
