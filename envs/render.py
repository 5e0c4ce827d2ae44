"""What each agent may see, rendered as the text of its observation.

Visibility rules (enforced here and nowhere else):

* every agent sees the scenario setting, the participants, the whole public transcript, its own
  full background (secret included) and its own goal (:meth:`Goal.for_agent`);
* no agent ever sees another agent's goal (text, private facts or hints) or secret;
* another agent's background is shown only as far as the relationship allows
  (:data:`PROFILE_FIELDS`): strangers see only pronouns (the name still labels the transcript,
  since acts are rendered as ``NAME said: ...``, but it is marked as not known to them);
  ``know_by_name`` adds the name; ``acquaintance`` adds gender, age, occupation and public info;
  ``friend`` adds personality (summary, Big Five, values); ``romantic`` and ``family`` add moral
  values, decision style and MBTI;
* in a group (3+ agents) each pair has its own relationship (:meth:`EpisodeSetup.relationship_between`):
  what one agent knows of another, and their shared history, follow that pair's relationship alone;
* a relationship's shared history is shown to the two characters it names, and no one else;
* where the scenario has rule checks, the statement forms they read (``DEAL: $<amount>``,
  ``AGREE: <option>``, ``SPLIT: ...``; ``ANSWER: ...`` only to the role that must answer), never
  any role's limits or secret phrases (:meth:`Scenario.protocol_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envs.types import ActionType, Turn
from scenarios.schema import AgentProfile, BigFive, EpisodeSetup, RelationshipType


@dataclass(frozen=True)
class ProfileField:
    """One line of a character sheet and the least familiar relationship that reveals it."""

    label: str
    min_level: RelationshipType
    value: Callable[[AgentProfile], str]


def _big_five(profile: AgentProfile) -> str:
    if profile.personality.big_five == BigFive():
        return ""  # all "average": the default, i.e. not described
    traits = profile.personality.big_five.model_dump(mode="json")
    return ", ".join(f"{trait} {level}" for trait, level in traits.items())


PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("Name", RelationshipType.know_by_name, lambda p: p.name),
    ProfileField("Pronouns", RelationshipType.stranger, lambda p: p.pronouns),
    ProfileField("Gender", RelationshipType.acquaintance, lambda p: p.gender),
    ProfileField("Age", RelationshipType.acquaintance, lambda p: str(p.age)),
    ProfileField("Occupation", RelationshipType.acquaintance, lambda p: p.occupation),
    ProfileField("Public info", RelationshipType.acquaintance, lambda p: p.public_info),
    ProfileField("Personality", RelationshipType.friend, lambda p: p.personality.summary),
    ProfileField("Big Five", RelationshipType.friend, _big_five),
    ProfileField("Values", RelationshipType.friend, lambda p: ", ".join(p.personality.values)),
    ProfileField("Moral values", RelationshipType.romantic, lambda p: ", ".join(p.personality.moral_values)),
    ProfileField("Decision style", RelationshipType.romantic, lambda p: p.personality.decision_style),
    ProfileField("MBTI", RelationshipType.romantic, lambda p: p.personality.mbti or ""),
)
"""The character-sheet lines, in display order. An agent's own sheet shows all of them plus its secret."""

_RELATION_PHRASE: dict[RelationshipType, str] = {
    RelationshipType.stranger: "You and {other} are strangers: you have never met and do not know their name "
    "(it only labels them in the transcript).",
    RelationshipType.know_by_name: "You know {other} by name, but nothing more about them.",
    RelationshipType.acquaintance: "You and {other} are acquaintances.",
    RelationshipType.friend: "You and {other} are friends.",
    RelationshipType.romantic: "You and {other} are in a romantic relationship.",
    RelationshipType.family: "You and {other} are family.",
}


def visible_fields(relationship: RelationshipType) -> list[ProfileField]:
    """The fields of another character's profile that this relationship reveals."""
    return [f for f in PROFILE_FIELDS if relationship.level >= f.min_level.level]


def own_sheet(profile: AgentProfile) -> list[str]:
    """An agent's full view of itself, secret included."""
    lines = [f"{f.label}: {value}" for f in PROFILE_FIELDS if (value := f.value(profile))]
    if profile.secret:
        lines.append(f"Your secret (only you know it): {profile.secret}")
    return lines


def partner_sheet(profile: AgentProfile, relationship: RelationshipType) -> list[str]:
    """What an agent knows about another character: the fields its relationship reveals, never the secret."""
    return [f"{f.label}: {value}" for f in visible_fields(relationship) if (value := f.value(profile))]


def render_transcript(turns: Sequence[Turn]) -> str:
    """The public transcript, one act per line (never any private reasoning)."""
    if not turns:
        return "Nothing has happened yet."
    return "\n".join(f"Turn #{t.index}: {t.action.render(t.agent)}" for t in turns)


def briefing(setup: EpisodeSetup, agent: str, *, show_hints: bool = True) -> list[tuple[str, str]]:
    """What ``agent`` knows before anything is said, as (heading, text) sections: the scenario, the
    participants, its own background, what it knows of each other participant, its goal and the
    statement forms of any rule checks (the first part of :func:`render_observation`)."""
    names = setup.agent_names
    role = names.index(agent)
    sections = [
        ("Scenario", setup.scenario.setting),
        ("Participants", ", ".join(names)),
        ("Your background", "\n".join(own_sheet(setup.agents[role]))),
    ]
    for other_role, other in enumerate(setup.agents):
        if other_role == role:
            continue
        other_name = names[other_role]
        relation = setup.relationship_between(role, other_role)
        lines = [_RELATION_PHRASE[relation.type].format(other=other_name)]
        lines += partner_sheet(other, relation.type)
        if relation.background:
            lines.append(f"Shared history: {relation.background}")
        sections.append((f"What you know about {other_name}", "\n".join(lines)))
    goal = setup.scenario.goals[role].for_agent(show_hints)
    sections.append(("Your goal", f"{goal}\n(You do not know the goals of the others.)"))
    protocol = setup.scenario.protocol_for(role)
    if protocol:
        sections.append(("How outcomes are recorded", "\n".join(protocol)))
    return sections


def render_observation(
    setup: EpisodeSetup,
    agent: str,
    turns: Sequence[Turn],
    *,
    turn: int,
    available_actions: Sequence[ActionType],
    waiting_for: Sequence[str] = (),
    show_hints: bool = True,
    ended: str | None = None,
) -> str:
    """Everything ``agent`` may see now, as text (see the module docstring for the rules).

    ``waiting_for`` names whose turn it is when it is not ``agent``'s; ``ended`` is the reason
    the episode (or this agent's part in it) is over, if it is.
    """
    sections = [
        *briefing(setup, agent, show_hints=show_hints),
        ("Conversation so far", render_transcript(turns)),
        ("Now", _now_line(turn, available_actions, waiting_for, ended)),
    ]
    return "\n\n".join([f"You are {agent}.", *(f"## {head}\n{text}" for head, text in sections)])


def _now_line(
    turn: int, available: Sequence[ActionType], waiting_for: Sequence[str], ended: str | None
) -> str:
    if ended is not None:
        return f"The episode is over ({ended})."
    if any(a is not ActionType.none for a in available):
        options = ", ".join(a.value for a in available)
        return f"Turn #{turn}. It is your turn. You may: {options}."
    who = " and ".join(waiting_for) or "someone else"
    return f"Turn #{turn}. It is {who}'s turn; you wait."
