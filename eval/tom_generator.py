"""Procedural theory-of-mind stories with reality, memory and 1st- to 4th-order belief questions.

World
-----
A story has 2-5 people, 1-2 rooms and 1-2 objects. Each room holds 4-6 closed containers ("green
drawer", "blue crate"); each object stays in one room and only ever moves between that room's
containers. Everyone starts outside every room. Events, one sentence each:

* ``enter``/``exit``: a person enters or leaves a room;
* ``place``: "The apple is in the green drawer." -- the object's first location, stated when the
  first people are in its room;
* ``move``: a person in the object's room moves it to another container;
* ``tell``: a private message, "A privately told B that the apple is in the red box.";
* ``announce``: a public claim, "A told everyone in the study that the apple is in the red box."
  A claim is a *lie* when it differs from what the speaker believes at that moment.

Witnessing
----------
Every event has a witness set W(e). A room event (enter, exit, place, move, announce) is witnessed
by everyone in that room, counting the person entering (after) and the person leaving (before); a
private message only by its sender and receiver. For room events we also record who is in the room
right after it, ``present_after(e)`` (the leaver is not). Nobody sees into a room they are outside,
and entering a room reveals nothing about the containers' contents.

Beliefs
-------
A question asks for the belief of a chain ``c = (a1, ..., ak)``: "where does a1 think a2 thinks ...
ak thinks the object is?" (no person twice in a row). Let ``E(c)`` be the events witnessed by *all*
of a1..ak, in story order: a1 models a2 only through events both saw, a2-as-modelled-by-a1 models
a3 only through events all three saw, and so on (each person assumes the others know exactly what
they were seen to witness, and nothing more).

Trust: ``last_seen(c, x, t)`` is the index of the latest event in ``E(c)`` before ``t``, in the
object's room, with ``x`` in ``present_after``; -1 if none. A listener L in the model ``c`` (L the
last member of ``c``) believes speaker S's claim at time t about an object iff
``last_seen(c, S, t) > last_seen(c, L, t)`` -- as far as that model knows, the speaker was in the
object's room more recently than the listener. So a listener inside the room keeps their own
belief, and so does one who never saw the speaker in that room.

The belief B(c) of the object is obtained by replaying ``E(c)``:

* ``place`` or ``move`` of the object to container y sets B = y;
* a claim "the object is in x" by speaker S:
  - if ak is a listener (ak != S), B = x when ak trusts S in model ``c``;
  - if ak == S and k >= 2, a(k-1) is a listener who, when trusting S in model ``c[:k-1]``, takes S to
    believe what S said: B = x;
  - otherwise (the speaker's own belief, k = 1) nothing changes: saying something does not change
    what the speaker believes.

A belief that was never set is undefined; questions are only asked about defined beliefs. Reality
is the object's final container, memory its ``place`` container. :data:`RULES` states these rules
in plain words and is put in front of each story.

Generation
----------
Item ``i`` for seed ``s`` draws everything from its own ``random.Random(f"tom-{s}-{i}")``: a story,
then a question of order ``orders[i % len(orders)]`` (0: reality or memory), preferring -- for half
the belief items -- a chain whose belief differs from reality. Options are all containers of the
object's room (4-6), shuffled. ``deception=True`` keeps only stories with at least one lie,
``False`` only stories without one (claims are then sincere, though possibly out of date).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count, islice
from typing import Any, NamedTuple

from eval.items import MCQItem

ENTER, EXIT, PLACE, MOVE, TELL, ANNOUNCE = "enter", "exit", "place", "move", "tell", "announce"
CLAIMS = frozenset({TELL, ANNOUNCE})

RULES = (
    "Rules for this story:\n"
    "1. People see everything that happens in the room they are in, including who enters and leaves. "
    "They see nothing that happens in a room while they are outside it. The containers are closed: "
    "entering a room does not show where anything is.\n"
    "2. A private message is known only to its sender and its receiver; what someone tells everyone "
    "in a room is heard by everyone in that room.\n"
    "3. Saying something does not change what the speaker believes, and people may lie.\n"
    "4. A listener believes what a speaker says about an object only if, as far as the listener knows, "
    "the speaker was in that object's room more recently than the listener was. A listener who "
    "believes a claim also assumes the speaker believes it.\n"
    "5. What one person thinks another thinks is based only on the events both of them witnessed "
    "(for longer chains, the events all of them witnessed)."
)

NAMES = (
    "Ava", "Ben", "Chloe", "Dan", "Emma", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kara", "Liam",
    "Mia", "Noah", "Olive", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xena",
    "Yara", "Zane", "Amir", "Bella", "Carl", "Dina", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jade",
    "Kofi", "Lena", "Milo", "Nina",
)
OBJECTS = (
    "apple", "banana", "key", "wallet", "scarf", "book", "lemon", "watch", "phone", "pen", "hat",
    "glove", "cup", "ball", "coin", "ring", "toy car", "spoon", "candle", "notebook", "ticket", "sock",
    "marble", "peach", "tomato", "carrot", "onion", "potato", "grape", "lime",
)
ROOMS = (
    "kitchen", "garden", "attic", "study", "lounge", "cellar", "hall", "office", "garage", "bedroom",
    "pantry", "workshop", "library", "porch", "laundry", "basement",
)
COLORS = ("green", "blue", "red", "white", "black", "yellow", "purple", "brown", "grey", "pink", "orange")
CONTAINER_KINDS = (
    "drawer", "crate", "box", "basket", "cupboard", "suitcase", "bucket", "envelope", "bag", "tub",
    "chest", "bottle",
)
CONTAINERS = tuple(f"{c} {k}" for c in COLORS for k in CONTAINER_KINDS)

_LIE_PROBABILITY = {None: 0.35, True: 0.6, False: 0.0}


class Event(NamedTuple):
    """One story event, with who witnessed it (see the module docstring for the semantics)."""

    kind: str
    actor: str | None
    room: str | None
    obj: str | None = None
    container: str | None = None
    listener: str | None = None
    witnesses: frozenset[str] = frozenset()
    present_after: frozenset[str] = frozenset()
    lie: bool = False

    def sentence(self) -> str:
        """The event as one English sentence."""
        if self.kind == ENTER:
            return f"{self.actor} entered the {self.room}."
        if self.kind == EXIT:
            return f"{self.actor} exited the {self.room}."
        if self.kind == PLACE:
            return f"The {self.obj} is in the {self.container}."
        if self.kind == MOVE:
            return f"{self.actor} moved the {self.obj} to the {self.container}."
        if self.kind == TELL:
            return f"{self.actor} privately told {self.listener} that the {self.obj} is in the {self.container}."
        if self.kind == ANNOUNCE:
            return f"{self.actor} told everyone in the {self.room} that the {self.obj} is in the {self.container}."
        raise ValueError(f"unknown event kind {self.kind!r}")


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True, slots=True)
class Story:
    """A finished story: its layout, its placed objects and its events."""

    agents: tuple[str, ...]
    rooms: dict[str, tuple[str, ...]]
    object_rooms: dict[str, str]
    events: tuple[Event, ...]

    def text(self) -> str:
        """The story: one line per room naming its containers, then one sentence per event."""
        intro = [f"The {room} contains {_join([_article(c) for c in cs])}." for room, cs in self.rooms.items()]
        return "\n".join(intro + [e.sentence() for e in self.events])

    def initial(self, obj: str) -> str:
        """Where ``obj`` was placed at the start."""
        return next(e.container for e in self.events if e.kind == PLACE and e.obj == obj)  # type: ignore[misc]

    def location(self, obj: str) -> str:
        """Where ``obj`` really is at the end."""
        return [e.container for e in self.events if e.kind in (PLACE, MOVE) and e.obj == obj][-1]  # type: ignore[return-value]

    @property
    def has_lie(self) -> bool:
        """Whether some claim in the story is a lie."""
        return any(e.lie for e in self.events)

    def belief(self, chain: Sequence[str], obj: str) -> str | None:
        """Belief of ``chain`` (a1 thinks a2 thinks ... ) about ``obj``; None when undefined."""
        return _belief(self.events, tuple(chain), obj, self.object_rooms[obj])

    def belief_source(self, chain: Sequence[str], obj: str) -> int | None:
        """Index in :attr:`events` of the event that set the belief of ``chain`` about ``obj``; None when undefined.

        That event was witnessed by every member of ``chain``; it is a ``place``/``move`` of the
        object or a claim about it that the chain's model trusted.
        """
        return _replay(self.events, tuple(chain), obj, self.object_rooms[obj])[1]


def _belief(events: Sequence[Event], chain: tuple[str, ...], obj: str, room: str) -> str | None:
    """Belief of ``chain`` about ``obj`` (which lives in ``room``); None when undefined."""
    return _replay(events, chain, obj, room)[0]


def _replay(
    events: Sequence[Event], chain: tuple[str, ...], obj: str, room: str
) -> tuple[str | None, int | None]:
    """Single-pass replay of the belief of ``chain`` about ``obj``: (container, index of the event that set it).

    ``seen[j]`` holds ``last_seen`` for the model ``chain[:j+1]``; an event enters the models of all
    prefixes whose members all witnessed it.
    """
    k = len(chain)
    prefixes = [frozenset(chain[: j + 1]) for j in range(k)]
    seen: list[dict[str, int]] = [{} for _ in range(k)]
    last = chain[-1]
    loc: str | None = None
    source: int | None = None
    first = chain[0]
    for i, e in enumerate(events):
        w = e.witnesses
        if first not in w or (e.room != room and e.obj != obj):
            continue
        depth = 1
        while depth < k and prefixes[depth] <= w:
            depth += 1
        if depth == k and e.obj == obj:
            if e.kind in (PLACE, MOVE):
                loc, source = e.container, i
            elif e.kind in CLAIMS:
                s = e.actor
                if last != s:
                    if seen[k - 1].get(s, -1) > seen[k - 1].get(last, -1):  # type: ignore[arg-type]
                        loc, source = e.container, i
                elif k >= 2 and chain[-2] != s and seen[k - 2].get(s, -1) > seen[k - 2].get(chain[-2], -1):  # type: ignore[arg-type]
                    loc, source = e.container, i
        if e.room == room:
            for j in range(depth):
                for x in e.present_after:
                    seen[j][x] = i
    return loc, source


class StoryBuilder:
    """Builds a :class:`Story` action by action, working out witnesses and lies; rejects impossible actions."""

    def __init__(self, agents: Sequence[str], rooms: dict[str, Sequence[str]]) -> None:
        self.agents = tuple(agents)
        self.rooms = {r: tuple(cs) for r, cs in rooms.items()}
        self.room_of = {c: r for r, cs in self.rooms.items() for c in cs}
        if len(self.room_of) != sum(len(cs) for cs in self.rooms.values()):
            raise ValueError("container names must be unique across rooms")
        self.where: dict[str, str | None] = dict.fromkeys(self.agents)
        self._inside: dict[str, set[str]] = {r: set() for r in self.rooms}
        self.truth: dict[str, str] = {}
        self.object_rooms: dict[str, str] = {}
        self.events: list[Event] = []
        self._beliefs: dict[tuple[tuple[str, ...], str], str | None] = {}

    def occupants(self, room: str) -> frozenset[str]:
        """Who is in ``room`` now."""
        return frozenset(self._inside[room])

    def headcount(self, room: str) -> int:
        """How many people are in ``room`` now."""
        return len(self._inside[room])

    def _add(self, event: Event) -> Event:
        self.events.append(event)
        self._beliefs.clear()
        return event

    def enter(self, agent: str, room: str) -> Event:
        """``agent`` (outside every room) enters ``room``."""
        if self.where[agent] is not None or room not in self.rooms:
            raise ValueError(f"{agent} cannot enter {room}")
        self.where[agent] = room
        self._inside[room].add(agent)
        here = self.occupants(room)
        return self._add(Event(ENTER, agent, room, witnesses=here, present_after=here))

    def exit(self, agent: str) -> Event:
        """``agent`` leaves the room they are in."""
        room = self.where[agent]
        if room is None:
            raise ValueError(f"{agent} is in no room")
        here = self.occupants(room)
        self.where[agent] = None
        self._inside[room].discard(agent)
        return self._add(Event(EXIT, agent, room, witnesses=here, present_after=here - {agent}))

    def place(self, obj: str, container: str) -> Event:
        """State where ``obj`` starts; seen by everyone then in the container's room."""
        if obj in self.truth:
            raise ValueError(f"{obj} is already placed")
        room = self.room_of[container]
        self.truth[obj], self.object_rooms[obj] = container, room
        here = self.occupants(room)
        return self._add(Event(PLACE, None, room, obj, container, witnesses=here, present_after=here))

    def move(self, agent: str, obj: str, container: str) -> Event:
        """``agent``, in the object's room, moves ``obj`` to another container there."""
        room = self.object_rooms[obj]
        if self.where[agent] != room or self.room_of[container] != room or self.truth[obj] == container:
            raise ValueError(f"{agent} cannot move the {obj} to the {container}")
        self.truth[obj] = container
        here = self.occupants(room)
        return self._add(Event(MOVE, agent, room, obj, container, witnesses=here, present_after=here))

    def _is_lie(self, speaker: str, obj: str, container: str) -> bool:
        if speaker not in self.where or obj not in self.object_rooms:
            raise ValueError(f"unknown speaker {speaker!r} or unplaced object {obj!r}")
        if self.room_of.get(container) != self.object_rooms[obj]:
            raise ValueError(f"the {obj} cannot be in the {container}")
        return self.belief((speaker,), obj) != container

    def tell(self, speaker: str, listener: str, obj: str, container: str) -> Event:
        """``speaker`` privately tells ``listener`` that ``obj`` is in ``container``."""
        if speaker == listener or listener not in self.where:
            raise ValueError("a private message needs two people of the story")
        lie = self._is_lie(speaker, obj, container)
        return self._add(Event(TELL, speaker, None, obj, container, listener, frozenset({speaker, listener}), lie=lie))

    def announce(self, speaker: str, obj: str, container: str) -> Event:
        """``speaker`` tells everyone in their room that ``obj`` is in ``container``."""
        room = self.where[speaker]
        if room is None:
            raise ValueError(f"{speaker} must be in a room to speak to it")
        lie = self._is_lie(speaker, obj, container)
        here = self.occupants(room)
        return self._add(Event(ANNOUNCE, speaker, room, obj, container, None, here, here, lie))

    def belief(self, chain: Sequence[str], obj: str) -> str | None:
        """Belief of ``chain`` about ``obj`` given the events so far."""
        key = (tuple(chain), obj)
        if key not in self._beliefs:
            self._beliefs[key] = _belief(self.events, key[0], obj, self.object_rooms[obj])
        return self._beliefs[key]

    def build(self) -> Story:
        """The story so far."""
        return Story(self.agents, dict(self.rooms), dict(self.object_rooms), tuple(self.events))


_STEP_WEIGHTS = {ENTER: 2.0, EXIT: 3.0, MOVE: 3.0, TELL: 1.5, ANNOUNCE: 1.0}


def _random_step(rng: random.Random, b: StoryBuilder, pending: dict[str, list[str]], p_lie: float) -> None:
    """One random action (enter, exit, move, private message or public claim) among the possible ones."""
    inside = [a for a in b.agents if b.where[a] is not None]
    outside = [a for a in b.agents if b.where[a] is None]
    object_rooms = set(b.object_rooms.values())
    kinds = [ENTER] if outside else []
    if inside:
        kinds.append(EXIT)
        if any(b.where[a] in object_rooms for a in inside):
            kinds.append(MOVE)
    if object_rooms:
        kinds.append(TELL)
        if any(b.headcount(r) > 1 for r in b.rooms):
            kinds.append(ANNOUNCE)
    pick = rng.random() * sum(_STEP_WEIGHTS[k] for k in kinds)
    for kind in kinds:
        pick -= _STEP_WEIGHTS[kind]
        if pick < 0:
            break
    if kind == ENTER:
        agent, room = rng.choice(outside), rng.choice(list(b.rooms))
        first = b.headcount(room) == 0
        b.enter(agent, room)
        if first:
            for obj in pending.pop(room, []):
                b.place(obj, rng.choice(b.rooms[room]))
    elif kind == EXIT:
        b.exit(rng.choice(inside))
    elif kind == MOVE:
        agent, obj = rng.choice([(a, o) for a in inside for o, r in b.object_rooms.items() if b.where[a] == r])
        b.move(agent, obj, rng.choice([c for c in b.rooms[b.object_rooms[obj]] if c != b.truth[obj]]))
    else:
        if kind == ANNOUNCE:
            speaker = rng.choice([a for a in inside if b.headcount(b.where[a]) > 1])  # type: ignore[arg-type]
        else:
            speaker = rng.choice(b.agents)
        obj = rng.choice(list(b.object_rooms))
        held = b.belief((speaker,), obj)
        if held is None:
            return
        content = held
        if rng.random() < p_lie:
            content = rng.choice([c for c in b.rooms[b.object_rooms[obj]] if c != held])
        if kind == ANNOUNCE:
            b.announce(speaker, obj, content)
        else:
            b.tell(speaker, rng.choice([a for a in b.agents if a != speaker]), obj, content)


@dataclass(frozen=True, slots=True)
class ToMConfig:
    """What to generate: question orders (0 = reality/memory), deception mode and story sizes.

    ``deception``: True -- every story has at least one lie; False -- none has; None -- either (claims
    lie 35% of the time). Ranges are inclusive; ``n_containers`` per room is also the option count.
    """

    orders: tuple[int, ...] = (0, 1, 2, 3, 4)
    deception: bool | None = None
    with_rules: bool = True
    n_agents: tuple[int, int] = (2, 5)
    n_containers: tuple[int, int] = (4, 6)
    n_steps: tuple[int, int] = (5, 12)

    def __post_init__(self) -> None:
        if not self.orders or min(self.orders) < 0:
            raise ValueError("orders must be a non-empty sequence of non-negative ints")
        if not 2 <= self.n_agents[0] <= self.n_agents[1] <= len(NAMES):
            raise ValueError(f"n_agents must be a range within [2, {len(NAMES)}]")
        if not 2 <= self.n_containers[0] <= self.n_containers[1] <= 26:
            raise ValueError("n_containers must be a range within [2, 26]")
        if not 0 <= self.n_steps[0] <= self.n_steps[1]:
            raise ValueError("n_steps must be a non-negative range")


def generate_story(rng: random.Random, config: ToMConfig = ToMConfig()) -> Story:
    """A random story drawn with ``rng``, honouring ``config.deception``."""
    p_lie = _LIE_PROBABILITY[config.deception]
    while True:
        agents = rng.sample(NAMES, rng.randint(*config.n_agents))
        rooms = rng.sample(ROOMS, rng.randint(1, 2))
        names = iter(rng.sample(CONTAINERS, len(rooms) * config.n_containers[1]))
        layout = {r: [next(names) for _ in range(rng.randint(*config.n_containers))] for r in rooms}
        b = StoryBuilder(agents, layout)
        objects = rng.sample(OBJECTS, rng.randint(1, 2))
        pending: dict[str, list[str]] = {}
        for i, obj in enumerate(objects):
            pending.setdefault(rooms[0] if i == 0 else rng.choice(rooms), []).append(obj)
        for agent in rng.sample(agents, rng.randint(2, len(agents))):
            b.enter(agent, rooms[0])
        for obj in pending.pop(rooms[0]):
            b.place(obj, rng.choice(b.rooms[rooms[0]]))
        for _ in range(rng.randint(*config.n_steps)):
            _random_step(rng, b, pending, p_lie)
        story = b.build()
        if config.deception is None or story.has_lie == config.deception:
            return story


def question_text(chain: Sequence[str], obj: str) -> str:
    """ "Where is the X really?" for an empty chain, else "Where does A think B thinks the X is?"."""
    if not chain:
        return f"Where is the {obj} really?"
    return f"Where does {chain[0]} think" + "".join(f" {a} thinks" for a in chain[1:]) + f" the {obj} is?"


class _Found(NamedTuple):
    """A question found for a story: its object, text, gold container, kind and belief chain (empty for order 0)."""

    obj: str
    question: str
    gold: str
    kind: str
    chain: tuple[str, ...] = ()


def _question(rng: random.Random, story: Story, order: int, want_false: bool | None) -> _Found | None:
    """The question found for ``order`` (see :class:`_Found`), or None when nothing suitable was found.

    ``want_false``: for belief questions, whether the gold must differ from reality (None: either).
    """
    objects = list(story.object_rooms)
    rng.shuffle(objects)
    if order == 0:
        obj = objects[0]
        if rng.random() < 0.5:
            return _Found(obj, question_text((), obj), story.location(obj), "reality")
        return _Found(obj, f"Where was the {obj} at the beginning?", story.initial(obj), "memory")
    for obj in objects:
        truth = story.location(obj)
        # Only people who saw or heard something about the object can hold a belief about it.
        knowers = sorted({a for e in story.events if e.obj == obj for a in e.witnesses})
        if len(knowers) < 2:
            continue
        budget = min(10, len(knowers) * (len(knowers) - 1) ** (order - 1))  # distinct chains to try
        tried: set[tuple[str, ...]] = set()
        for _ in range(4 * budget):
            if len(tried) == budget:
                break
            chain = [rng.choice(knowers)]
            while len(chain) < order:
                chain.append(rng.choice([a for a in knowers if a != chain[-1]]))
            if tuple(chain) in tried:
                continue
            tried.add(tuple(chain))
            gold = story.belief(chain, obj)
            if gold is not None and (want_false is None or (gold != truth) == want_false):
                return _Found(obj, question_text(chain, obj), gold, "belief", tuple(chain))
    return None


@dataclass(frozen=True, slots=True)
class GeneratedExample:
    """One generated item together with what it was built from: the story and the question's parts.

    ``chain`` is the belief chain asked about (empty for reality and memory questions); ``kind``
    is ``reality``, ``memory`` or ``belief``. ``item`` is exactly what :func:`make_item` returns.
    """

    item: MCQItem
    story: Story
    obj: str
    chain: tuple[str, ...]
    kind: str


def make_example(seed: int, index: int, config: ToMConfig = ToMConfig()) -> GeneratedExample:
    """Item ``index`` of the stream for ``seed`` (as :func:`make_item`), with its story, object and chain."""
    rng = random.Random(f"tom-{seed}-{index}")
    order = config.orders[index % len(config.orders)]
    want_false = rng.random() < 0.5
    for attempt in count():  # a fresh story when this one has no suitable question
        story = generate_story(rng, config)
        found = _question(rng, story, order, want_false if attempt < 3 else None)
        if found is not None:
            item = _item(rng, seed, index, order, story, found, config.with_rules)
            return GeneratedExample(item=item, story=story, obj=found.obj, chain=found.chain, kind=found.kind)
    raise AssertionError("unreachable")


def make_item(seed: int, index: int, config: ToMConfig = ToMConfig()) -> MCQItem:
    """Item ``index`` of the stream for ``seed``, id ``gen-{seed}-{index}``.

    Its order is ``config.orders[index % len(config.orders)]``; about half the belief questions ask
    for a belief that differs from reality. The options are all containers of the object's room,
    shuffled. Each item has its own random generator, so it depends only on (seed, index, config).
    """
    return make_example(seed, index, config).item


def _item(
    rng: random.Random,
    seed: int,
    index: int,
    order: int,
    story: Story,
    found: _Found,
    with_rules: bool,
) -> MCQItem:
    """Wrap a story and the question found for it as an :class:`MCQItem`."""
    obj, question, gold, kind = found.obj, found.question, found.gold, found.kind
    options = list(story.rooms[story.object_rooms[obj]])
    rng.shuffle(options)
    tags = {
        "order": str(order),
        "kind": kind,
        "deception": str(story.has_lie).lower(),
        "false_belief": str(gold != story.location(obj)).lower(),
        "agents": str(len(story.agents)),
        "rooms": str(len(story.rooms)),
    }
    return MCQItem(
        id=f"gen-{seed}-{index}",
        benchmark="generated",
        context=f"{RULES}\n\n{story.text()}" if with_rules else story.text(),
        question=question,
        options=options,
        answer=options.index(gold),
        tags=tags,
    )


def iter_items(
    seed: int = 0,
    orders: Sequence[int] = (0, 1, 2, 3, 4),
    deception: bool | None = None,
    *,
    start: int = 0,
    **settings: Any,
) -> Iterator[MCQItem]:
    """Endless stream of items ``start, start+1, ...`` for ``seed``; ``settings`` are further :class:`ToMConfig` fields."""
    config = ToMConfig(orders=tuple(orders), deception=deception, **settings)
    for index in count(start):
        yield make_item(seed, index, config)


def generate_items(
    n: int,
    seed: int = 0,
    orders: Sequence[int] = (0, 1, 2, 3, 4),
    deception: bool | None = None,
    **settings: Any,
) -> list[MCQItem]:
    """The first ``n`` items for ``seed`` (orders cycle through ``orders``); ``settings`` as in :func:`iter_items`."""
    return list(islice(iter_items(seed, orders, deception, **settings), n))
