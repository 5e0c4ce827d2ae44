"""What each agent sees: its own goal and secret, never the partner's; the partner's profile by relationship."""

from __future__ import annotations

import pytest
from test_envs_support import make_setup, speak

from envs.render import PROFILE_FIELDS, visible_fields
from envs.social import SocialEpisodeEnv
from envs.types import Observation
from scenarios.schema import RelationshipType

R = RelationshipType

# marker -> least familiar relationship that shows it to the partner (None: never)
PARTNER_MARKERS: dict[str, RelationshipType | None] = {
    "Name: {name}": R.know_by_name,
    "Pronouns: ": R.stranger,
    "OCCUPATION-": R.acquaintance,
    "PUBLIC-": R.acquaintance,
    "Age: ": R.acquaintance,
    "PERSONALITY-": R.friend,
    "VALUES-": R.friend,
    "MORAL-": R.romantic,
    "DECISION-": R.romantic,
    "SECRET-": None,
    "GOAL-": None,
    "EXTRA-": None,
    "HINT-": None,
    "CLARIFY-": None,
}


def _partner_section(text: str, partner: str) -> str:
    start = text.index(f"## What you know about {partner}")
    end = text.index("## Your goal")
    return text[start:end]


@pytest.mark.parametrize("relationship", list(RelationshipType))
def test_partner_profile_shown_as_far_as_relationship_allows(relationship: RelationshipType) -> None:
    setup = make_setup(relationship)
    env = SocialEpisodeEnv(setup)
    observations, _ = env.reset()
    for me, partner, tag in (
        ("Alice Tester", "Bruno Tester", "BRUNO"),
        ("Bruno Tester", "Alice Tester", "ALICE"),
    ):
        text = observations[me]
        section = _partner_section(text, partner)
        for marker, level in PARTNER_MARKERS.items():
            probe = (
                marker.format(name=partner)
                if "{name}" in marker
                else (marker + tag if marker.endswith("-") else marker)
            )
            shown = level is not None and relationship.level >= level.level
            assert (probe in section) is shown, f"{me} / {relationship.value}: {probe!r} shown={not shown}"
            if level is None:
                assert probe not in text, f"{me} sees the partner's private {probe!r}"


@pytest.mark.parametrize("relationship", list(RelationshipType))
def test_own_goal_and_secret_always_present(relationship: RelationshipType) -> None:
    env = SocialEpisodeEnv(make_setup(relationship))
    observations, infos = env.reset()
    text = observations["Alice Tester"]
    for marker in (
        "GOAL-ALICE",
        "EXTRA-ALICE",
        "HINT-ALICE",
        "SECRET-ALICE",
        "OCCUPATION-ALICE",
        "MORAL-ALICE",
    ):
        assert marker in text
    assert "CLARIFY-ALICE" not in text, "the judge-only clarification must not reach the agent"
    assert "SETTING: two neighbours" in text
    observation = infos["Alice Tester"]["observation"]
    assert isinstance(observation, Observation) and observation.text == text


def test_hints_can_be_hidden() -> None:
    env = SocialEpisodeEnv(make_setup(), show_hints=False)
    observations, _ = env.reset()
    assert "GOAL-ALICE EXTRA-ALICE" in observations["Alice Tester"]
    assert "HINT-ALICE" not in observations["Alice Tester"]


def test_stranger_is_labelled_but_not_named_as_known() -> None:
    env = SocialEpisodeEnv(make_setup(R.stranger, background=""))
    observations, _ = env.reset()
    section = _partner_section(observations["Alice Tester"], "Bruno Tester")
    assert "strangers" in section and "do not know their name" in section
    assert "Name:" not in section


def test_shared_history_only_for_the_two_in_the_relationship() -> None:
    env = SocialEpisodeEnv(make_setup(R.family, roles=3))
    observations, _ = env.reset()
    # the relationship names Alice and Bruno; Chiara is not part of it
    assert "HISTORY-SHARED" in _partner_section(observations["Alice Tester"], "Bruno Tester")
    assert "HISTORY-SHARED" not in observations["Chiara Tester"]
    assert (
        "GOAL-ALICE" not in observations["Chiara Tester"]
        and "SECRET-BRUNO" not in observations["Chiara Tester"]
    )


def test_transcript_visible_to_all_and_partner_secrets_still_hidden() -> None:
    env = SocialEpisodeEnv(make_setup(R.acquaintance))
    env.reset()
    env.step({"Alice Tester": speak("Lovely weather today.")})
    observations, _, _, _, infos = env.step({"Bruno Tester": speak("It is, isn't it?")})
    for name, text in observations.items():
        assert 'Turn #0: Alice Tester said: "Lovely weather today."' in text
        assert 'Turn #1: Bruno Tester said: "It is, isn\'t it?"' in text
        other = "BRUNO" if name.startswith("Alice") else "ALICE"
        assert f"SECRET-{other}" not in text and f"GOAL-{other}" not in text
        assert env.observation_space(name).contains(text)
    assert infos["Alice Tester"]["observation"].is_my_turn
    assert not infos["Bruno Tester"]["observation"].is_my_turn


def test_visible_fields_grow_with_familiarity() -> None:
    sizes = [len(visible_fields(r)) for r in RelationshipType]
    assert sizes == sorted(sizes)
    assert len(visible_fields(R.family)) == len(PROFILE_FIELDS)
    assert [f.label for f in visible_fields(R.stranger)] == ["Pronouns"]
