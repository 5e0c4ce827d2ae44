"""Tests for the procedural ToM generator, checked against an independent simulator that reads the text."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

import pytest

from eval.items import MCQItem
from eval.tom_generator import (
    RULES,
    StoryBuilder,
    ToMConfig,
    generate_items,
    generate_story,
    iter_items,
    make_item,
    question_text,
)

# ---------------------------------------------------------------------------------------------
# Reference simulator: parses the story *text* and replays it naively (quadratic, recursive),
# sharing no code with the generator.
# ---------------------------------------------------------------------------------------------

_ROOM = re.compile(r"^The (\w+) contains (.+)\.$")
_PATTERNS = [
    ("tell", re.compile(r"^(?P<who>\w+) privately told (?P<to>\w+) that the (?P<obj>.+) is in the (?P<c>.+)\.$")),
    ("announce", re.compile(r"^(?P<who>\w+) told everyone in the (?P<room>\w+) that the (?P<obj>.+) is in the (?P<c>.+)\.$")),
    ("move", re.compile(r"^(?P<who>\w+) moved the (?P<obj>.+) to the (?P<c>.+)\.$")),
    ("enter", re.compile(r"^(?P<who>\w+) entered the (?P<room>\w+)\.$")),
    ("exit", re.compile(r"^(?P<who>\w+) exited the (?P<room>\w+)\.$")),
    ("place", re.compile(r"^The (?P<obj>.+) is in the (?P<c>.+)\.$")),
]


@dataclass
class Seen:
    """One parsed event with who saw it and who was in its room afterwards."""

    kind: str
    who: str | None
    room: str | None
    obj: str | None
    container: str | None
    saw: frozenset[str]
    after: frozenset[str]


@dataclass
class Parsed:
    """A story read back from its text."""

    rooms: dict[str, list[str]]
    events: list[Seen]

    def room_of(self, container: str) -> str:
        return next(r for r, cs in self.rooms.items() if container in cs)

    def object_room(self, obj: str) -> str:
        return self.room_of(next(e.container for e in self.events if e.kind == "place" and e.obj == obj))


def parse_story(context: str) -> Parsed:
    """Rebuild the rooms and events from the story lines, tracking positions to find the witnesses."""
    lines = context.split("\n\n")[-1].splitlines()
    rooms: dict[str, list[str]] = {}
    events: list[Seen] = []
    position: dict[str, str | None] = {}

    def inside(room: str | None) -> frozenset[str]:
        return frozenset(p for p, r in position.items() if r == room and room is not None)

    for line in lines:
        m = _ROOM.match(line)
        if m:
            items = re.split(r", | and ", m.group(2))
            rooms[m.group(1)] = [re.sub(r"^an? ", "", x) for x in items]
            continue
        kind, g = next((k, p.match(line).groupdict()) for k, p in _PATTERNS if p.match(line))  # type: ignore[union-attr]
        who, obj, c = g.get("who"), g.get("obj"), g.get("c")
        if kind == "enter":
            position[who] = g["room"]
            saw = after = inside(g["room"])
            room = g["room"]
        elif kind == "exit":
            assert position.get(who) == g["room"], line
            saw = inside(g["room"])
            position[who] = None
            after = inside(g["room"])
            room = g["room"]
        elif kind == "tell":
            saw, after, room = frozenset({who, g["to"]}), frozenset(), None
        elif kind == "announce":
            assert position.get(who) == g["room"], line
            room = g["room"]
            saw = after = inside(room)
        else:  # place / move happen in the container's room
            room = next(r for r, cs in rooms.items() if c in cs)
            if kind == "move":
                assert position.get(who) == room, line
            saw = after = inside(room)
        events.append(Seen(kind, who, room, obj, c, saw, after))
    return Parsed(rooms, events)


def _visible(story: Parsed, chain: tuple[str, ...], before: int) -> list[int]:
    return [i for i, e in enumerate(story.events[:before]) if set(chain) <= e.saw]


def _last_in_room(story: Parsed, chain: tuple[str, ...], person: str, room: str, before: int) -> int:
    hits = [i for i in _visible(story, chain, before) if story.events[i].room == room and person in story.events[i].after]
    return hits[-1] if hits else -1


def _trusts(story: Parsed, chain: tuple[str, ...], speaker: str, room: str, when: int) -> bool:
    listener = chain[-1]
    return _last_in_room(story, chain, speaker, room, when) > _last_in_room(story, chain, listener, room, when)


def ref_belief(story: Parsed, chain: tuple[str, ...], obj: str) -> str | None:
    """Where ``chain`` (a1 thinks a2 thinks ...) believes ``obj`` is, by the rules in RULES."""
    room = story.object_room(obj)
    belief = None
    for i in _visible(story, chain, len(story.events)):
        e = story.events[i]
        if e.obj != obj:
            continue
        if e.kind in ("place", "move"):
            belief = e.container
        elif e.kind in ("tell", "announce"):
            if chain[-1] != e.who:
                if _trusts(story, chain, e.who, room, i):
                    belief = e.container
            elif len(chain) > 1 and chain[-2] != e.who and _trusts(story, chain[:-1], e.who, room, i):
                belief = e.container
    return belief


def ref_lies(story: Parsed) -> list[bool]:
    """For each claim, whether it differs from the speaker's own belief at that moment."""
    out = []
    for i, e in enumerate(story.events):
        if e.kind in ("tell", "announce"):
            prefix = Parsed(story.rooms, story.events[:i])
            out.append(ref_belief(prefix, (e.who,), e.obj) != e.container)  # type: ignore[arg-type]
    return out


_BELIEF_Q = re.compile(r"^Where does (\w+) think((?: \w+ thinks)*) the (.+) is\?$")


def ref_answer(item: MCQItem) -> str | None:
    """The gold container according to the reference simulator."""
    story = parse_story(item.context)
    if m := re.match(r"^Where is the (.+) really\?$", item.question):
        obj = m.group(1)
        return [e.container for e in story.events if e.obj == obj and e.kind in ("place", "move")][-1]
    if m := re.match(r"^Where was the (.+) at the beginning\?$", item.question):
        obj = m.group(1)
        return next(e.container for e in story.events if e.obj == obj and e.kind == "place")
    m = _BELIEF_Q.match(item.question)
    assert m, item.question
    chain = (m.group(1), *m.group(2).replace(" thinks", "").split())
    return ref_belief(story, chain, m.group(3))


def question_order(question: str) -> int:
    m = _BELIEF_Q.match(question)
    return 0 if m is None else 1 + m.group(2).count("thinks")


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


_CPU_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def items_10k() -> list[MCQItem]:
    start = time.process_time()
    items = generate_items(10_000, seed=0)
    _CPU_SECONDS["10k"] = time.process_time() - start
    return items


# ---------------------------------------------------------------------------------------------
# Hand-built stories with known answers (check the generator and the reference alike)
# ---------------------------------------------------------------------------------------------

KITCHEN = {"kitchen": ["green drawer", "blue crate", "red box", "white basket"]}


def _both(b: StoryBuilder, chain: tuple[str, ...], obj: str) -> str | None:
    story = b.build()
    got = story.belief(chain, obj)
    assert ref_belief(parse_story(story.text()), chain, obj) == got, chain
    return got


def test_sally_anne_first_and_second_order() -> None:
    b = StoryBuilder(["Sally", "Anne"], KITCHEN)
    b.enter("Sally", "kitchen")
    b.enter("Anne", "kitchen")
    b.place("marble", "green drawer")
    b.exit("Sally")
    b.move("Anne", "marble", "blue crate")
    story = b.build()
    assert story.location("marble") == "blue crate" and story.initial("marble") == "green drawer"
    assert _both(b, ("Sally",), "marble") == "green drawer"
    assert _both(b, ("Anne",), "marble") == "blue crate"
    assert _both(b, ("Anne", "Sally"), "marble") == "green drawer"
    assert _both(b, ("Sally", "Anne"), "marble") == "green drawer"
    assert _both(b, ("Anne", "Sally", "Anne"), "marble") == "green drawer"


def test_late_entrant_knows_nothing_and_third_order_uses_common_events() -> None:
    b = StoryBuilder(["Ava", "Ben", "Cal"], KITCHEN)
    for p in ("Ava", "Ben", "Cal"):
        b.enter(p, "kitchen")
    b.place("key", "red box")
    b.exit("Cal")
    b.move("Ava", "key", "white basket")
    b.exit("Ben")
    b.move("Ava", "key", "green drawer")
    b.enter("Cal", "kitchen")  # entering shows nothing
    assert _both(b, ("Cal",), "key") == "red box"
    assert _both(b, ("Ben",), "key") == "white basket"
    assert _both(b, ("Ava", "Ben"), "key") == "white basket"
    assert _both(b, ("Ava", "Ben", "Cal"), "key") == "red box"
    assert _both(b, ("Ben", "Ava", "Ben"), "key") == "white basket"
    b2 = StoryBuilder(["Ava", "Ben"], KITCHEN)
    b2.enter("Ava", "kitchen")
    b2.place("key", "red box")
    b2.enter("Ben", "kitchen")
    assert _both(b2, ("Ben",), "key") is None


def test_lie_from_someone_who_stayed_longer_is_believed() -> None:
    b = StoryBuilder(["Ann", "Bob"], KITCHEN)
    b.enter("Ann", "kitchen")
    b.enter("Bob", "kitchen")
    b.place("apple", "green drawer")
    b.exit("Bob")
    b.move("Ann", "apple", "blue crate")
    b.exit("Ann")
    event = b.tell("Ann", "Bob", "apple", "red box")
    assert event.lie and b.build().has_lie
    assert _both(b, ("Ann",), "apple") == "blue crate"  # saying it does not change her belief
    assert _both(b, ("Bob",), "apple") == "red box"  # Ann was in the kitchen after Bob left
    assert _both(b, ("Ann", "Bob"), "apple") == "red box"  # she expects the lie to work
    assert _both(b, ("Bob", "Ann"), "apple") == "red box"  # he takes her to be sincere
    assert _both(b, ("Ann", "Bob", "Ann"), "apple") == "red box"


def test_claim_from_someone_who_left_earlier_is_ignored() -> None:
    b = StoryBuilder(["Ann", "Bob"], KITCHEN)
    b.enter("Ann", "kitchen")
    b.enter("Bob", "kitchen")
    b.place("apple", "green drawer")
    b.exit("Ann")
    b.move("Bob", "apple", "blue crate")
    b.exit("Bob")
    event = b.tell("Ann", "Bob", "apple", "green drawer")
    assert not event.lie  # she says what she believes
    assert _both(b, ("Bob",), "apple") == "blue crate"
    assert _both(b, ("Bob", "Ann"), "apple") == "green drawer"  # not trusted: his model of her is unchanged
    assert _both(b, ("Ann", "Bob"), "apple") == "green drawer"  # she never saw the move
    # A listener still in the room keeps their own belief too.
    b.enter("Bob", "kitchen")
    b.tell("Ann", "Bob", "apple", "white basket")
    assert _both(b, ("Bob",), "apple") == "blue crate"


def test_private_message_is_invisible_to_others_but_announcements_are_heard() -> None:
    rooms = {**KITCHEN, "study": ["black chest", "grey bag", "pink tub", "brown bucket"]}
    b = StoryBuilder(["Ann", "Bob", "Cy"], rooms)
    for p in ("Ann", "Bob", "Cy"):
        b.enter(p, "kitchen")
    b.place("pen", "red box")
    b.exit("Bob")
    b.exit("Cy")
    b.move("Ann", "pen", "white basket")
    b.exit("Ann")
    b.tell("Ann", "Bob", "pen", "white basket")
    assert _both(b, ("Bob",), "pen") == "white basket"
    assert _both(b, ("Cy",), "pen") == "red box"
    assert _both(b, ("Cy", "Bob"), "pen") == "red box"
    for p in ("Ann", "Bob", "Cy"):
        b.enter(p, "study")
    b.announce("Ann", "pen", "green drawer")
    assert b.build().has_lie
    assert _both(b, ("Cy",), "pen") == "green drawer"
    assert _both(b, ("Bob",), "pen") == "green drawer"
    # Bob left before both of them, so he cannot tell that Ann stayed longer than Cy.
    assert _both(b, ("Bob", "Cy"), "pen") == "red box"
    assert _both(b, ("Cy", "Bob"), "pen") == "green drawer"
    assert _both(b, ("Ann",), "pen") == "white basket"
    assert _both(b, ("Cy", "Ann"), "pen") == "green drawer"


def test_listener_who_came_back_later_distrusts_and_models_speaker_unchanged() -> None:
    b = StoryBuilder(["Lu", "Sy"], KITCHEN)
    b.enter("Lu", "kitchen")
    b.enter("Sy", "kitchen")
    b.place("cup", "green drawer")
    b.exit("Lu")
    b.move("Sy", "cup", "blue crate")
    b.exit("Sy")
    b.enter("Lu", "kitchen")  # Sy does not see this
    b.exit("Lu")
    b.tell("Sy", "Lu", "cup", "red box")
    assert _both(b, ("Lu",), "cup") == "green drawer"  # Lu was there more recently
    assert _both(b, ("Lu", "Sy"), "cup") == "green drawer"  # so Lu does not credit Sy with the claim
    assert _both(b, ("Sy", "Lu"), "cup") == "red box"  # Sy thinks she left last
    assert _both(b, ("Sy", "Lu", "Sy"), "cup") == "red box"


def test_builder_rejects_impossible_actions() -> None:
    b = StoryBuilder(["Ann", "Bob"], KITCHEN)
    b.enter("Ann", "kitchen")
    b.place("apple", "green drawer")
    with pytest.raises(ValueError):
        b.enter("Ann", "kitchen")
    with pytest.raises(ValueError):
        b.exit("Bob")
    with pytest.raises(ValueError):
        b.move("Bob", "apple", "red box")  # Bob is outside
    with pytest.raises(ValueError):
        b.move("Ann", "apple", "green drawer")  # already there
    with pytest.raises(ValueError):
        b.tell("Ann", "Ann", "apple", "red box")
    with pytest.raises(ValueError):
        b.announce("Bob", "apple", "red box")
    with pytest.raises(ValueError):
        StoryBuilder(["Ann"], {"a": ["x"], "b": ["x"]})


# ---------------------------------------------------------------------------------------------
# Generated items
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("deception", "n"), [(None, 3000), (True, 600), (False, 600)])
def test_gold_agrees_with_independent_simulator(deception: bool | None, n: int) -> None:
    items = generate_items(n, seed=11, deception=deception)
    for item in items:
        assert ref_answer(item) == item.options[item.answer], item.render()  # type: ignore[index]
        obj = re.search(r" the (.+?) (?:is\?|really\?|at the beginning\?)$", item.question).group(1)  # type: ignore[union-attr]
        truth = ref_answer(item.model_copy(update={"question": question_text((), obj)}))
        assert item.tags["false_belief"] == str(item.answer_text != truth).lower()


def test_every_chain_agrees_with_independent_simulator() -> None:
    rng = random.Random(7)
    compared = defined = 0
    for _ in range(400):
        story = generate_story(rng)
        parsed = parse_story(story.text())
        for obj in story.object_rooms:
            for _ in range(12):
                chain = [rng.choice(story.agents)]
                while len(chain) < rng.randint(1, 4):
                    chain.append(rng.choice([a for a in story.agents if a != chain[-1]]))
                got = story.belief(chain, obj)
                assert got == ref_belief(parsed, tuple(chain), obj), (story.text(), chain, obj)
                compared += 1
                defined += got is not None
    assert defined > compared / 2


@pytest.mark.parametrize("deception", [True, False])
def test_deception_flag_matches_the_stories(deception: bool) -> None:
    for item in generate_items(400, seed=5, deception=deception):
        lies = ref_lies(parse_story(item.context))
        assert any(lies) is deception
        assert item.tags["deception"] == str(deception).lower()
    mixed = generate_items(400, seed=5)
    kinds = {item.tags["deception"] for item in mixed}
    assert kinds == {"true", "false"}
    for item in mixed[:200]:
        assert item.tags["deception"] == str(any(ref_lies(parse_story(item.context)))).lower()


def test_reproducible_and_stream_matches_list() -> None:
    a = generate_items(60, seed=3)
    b = generate_items(60, seed=3)
    assert [x.model_dump() for x in a] == [x.model_dump() for x in b]
    assert [x.id for x in a] == [f"gen-3-{i}" for i in range(60)]
    stream = iter_items(3)
    assert [next(stream).model_dump() for _ in range(60)] == [x.model_dump() for x in a]
    assert make_item(3, 42, ToMConfig()).model_dump() == a[42].model_dump()
    assert next(iter_items(3, start=42)).model_dump() == a[42].model_dump()


def test_different_seeds_differ() -> None:
    a = generate_items(50, seed=1)
    b = generate_items(50, seed=2)
    assert sum(x.context == y.context for x, y in zip(a, b, strict=True)) == 0


def test_options_hold_the_gold_exactly_once(items_10k: list[MCQItem]) -> None:
    for item in items_10k:
        assert 4 <= len(item.options) <= 6
        assert len(set(item.options)) == len(item.options)
        assert item.options.count(item.answer_text) == 1
        assert item.benchmark == "generated"
    # the gold is not stuck in one position
    positions = {item.answer for item in items_10k}
    assert positions == set(range(6))


def test_every_order_appears_with_matching_question(items_10k: list[MCQItem]) -> None:
    orders = [int(item.tags["order"]) for item in items_10k]
    assert set(orders) == {0, 1, 2, 3, 4}
    for item in items_10k:
        assert question_order(item.question) == int(item.tags["order"])
        assert (item.tags["kind"] == "belief") == (item.tags["order"] != "0")
    kinds = {item.tags["kind"] for item in items_10k}
    assert kinds == {"reality", "memory", "belief"}
    for order in "1234":
        share = [item.tags["false_belief"] == "true" for item in items_10k if item.tags["order"] == order]
        assert 0.25 < sum(share) / len(share) < 0.75


def test_only_requested_orders() -> None:
    items = generate_items(40, seed=9, orders=(3,))
    assert {question_order(i.question) for i in items} == {3}
    with pytest.raises(ValueError):
        generate_items(1, orders=())


def test_ten_thousand_distinct_items(items_10k: list[MCQItem]) -> None:
    assert len({(item.context, item.question) for item in items_10k}) == 10_000


def test_generation_is_fast(items_10k: list[MCQItem]) -> None:
    assert _CPU_SECONDS["10k"] < 20, _CPU_SECONDS  # about 3 s on a busy 2-core box


def test_story_mentions_everyone_and_every_option(items_10k: list[MCQItem]) -> None:
    for item in items_10k[:3000]:
        story = item.context.split("\n\n")[-1]
        for option in item.options:
            assert option in story
        m = _BELIEF_Q.match(item.question)
        if m:
            for person in (m.group(1), *m.group(2).replace(" thinks", "").split()):
                assert re.search(rf"\b{person}\b", story)
        assert item.context.startswith(RULES)
    bare = generate_items(5, seed=0, with_rules=False)
    assert all(not i.context.startswith("Rules") for i in bare)
