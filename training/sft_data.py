"""Supervised warm-up data: short, correct SIP replies the policy learns to imitate before GRPO.

Each :class:`SFTExample` pairs the exact prompt messages that training and evaluation send with
the text the model must write after :data:`agents.sip.THINK_PREFILL` (so ``THINK_PREFILL +
completion`` is a canonical SIP reply, :meth:`agents.sip.SIPFormat.render`).

* MCQ traces (:func:`mcq_examples`) come from our ToM generator. The trace is built from what the
  generator knows, never from a model: Cue Encoding quotes the one or two story sentences that
  decide the answer (the event that set the asked-for belief, and a later move the chain
  missed); Cue Interpretation says who witnessed them and hence what is believed; Goal
  Clarification restates the question; Response Generation names the gold container and its
  letter; the answer is the letter.
* Social traces (:func:`social_examples`) open an episode of a built-in scenario for a role that
  speaks first: templated reasoning from the setting, the relationship and the role's own goal,
  then one polite opening line derived from the goal (a neutral one when the goal touches
  something the character keeps private). Wording is drawn among a few templates with a seeded
  generator, so the model learns the shape, not one fixed string.

Completions are kept short: the policy writes about 128 new tokens per turn, and these stay
under about 100 tokens of the SmolLM2 tokenizer. :func:`overlapping` finds held-out items whose
story was trained on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from agents.sip import SIP, THINK_PREFILL, mcq_messages
from envs.types import Observation
from eval.items import MCQItem
from eval.tom_generator import CLAIMS, MOVE, PLACE, RULES, GeneratedExample, ToMConfig, make_example
from scenarios.schema import EpisodeSetup, RelationshipType

MAX_PIECES = 88
"""A completion of more pieces than this (:func:`pieces`) is rebuilt in a more compact wording.

A SmolLM2 token count is about pieces + 3 (names and rare words split into several tokens), so
completions stay near or under 100 tokens; ``tests/test_sft_data.py`` measures the real counts.
"""


@dataclass(frozen=True)
class SFTExample:
    """One supervised example: the prompt messages and the text the model writes after the SIP prefill."""

    key: str
    """Stable id: ``mcq:generated:<item id>`` or ``social:<setup id>:<role>``."""
    kind: Literal["mcq", "social"]
    messages: list[dict[str, str]]
    """The policy's prompt (system + user), exactly what training and evaluation send."""
    completion: str
    """What follows :data:`agents.sip.THINK_PREFILL`; together they are a canonical SIP reply."""
    source_ids: tuple[str, ...]
    """Ids of the items or setups it was built from (for held-out overlap checks)."""


def pieces(text: str) -> int:
    """A tokenizer-free length: words, single digits, punctuation marks and newlines."""
    return len(re.findall(r"[A-Za-z]+|\d|[^\w\s]|\n", text))


def _completion(stages: Sequence[str], answer: str) -> str:
    """The part of the canonical SIP reply after the prefill."""
    full = SIP.render(stages, answer)
    if not full.startswith(THINK_PREFILL):
        raise AssertionError("SIP.render no longer starts with THINK_PREFILL")
    return full[len(THINK_PREFILL) :]


def _names(people: Sequence[str]) -> str:
    """People in first-appearance order, joined with commas and "and"."""
    unique = list(dict.fromkeys(people))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


_NUMBERS = {3: "three", 4: "four"}  # a chain has at most four people


def _were(people: Sequence[str]) -> str:
    """``Ava was``, ``Ava and Ben were both``, ``Ava, Ben and Carl were all``."""
    n = len(set(people))
    return _names(people) + (" was" if n == 1 else " were both" if n == 2 else " were all")


# --------------------------------------------------------------------------------------------------
# MCQ traces


def mcq_trace(example: GeneratedExample, level: int = 0) -> tuple[list[str], str]:
    """The four SIP stage texts and the answer letter for one generated item, all true of its story.

    ``level`` shortens the interpretation of a belief: from 1 it leaves out the belief restated at
    its end (Response Generation still names it), from 2 also why a claim is trusted and the
    names of those who saw an event ("All three were ...").
    """
    story, obj, chain, item = example.story, example.obj, example.chain, example.item
    events = story.events
    gold, letter = item.answer_text, item.answer_letter
    assert letter is not None
    moves = [i for i, e in enumerate(events) if e.obj == obj and e.kind in (PLACE, MOVE)]
    real = moves[-1]
    if example.kind == "reality":
        cues = [real]
        if len(moves) == 1:
            meaning = f"The {obj} never moved after that, so it is in the {gold} now."
        else:
            meaning = f"That is its last move, so the {obj} is in the {gold} now."
        if any(e.obj == obj and e.kind in CLAIMS for e in events):
            meaning += " Claims do not move it."
    elif example.kind == "memory":
        cues = [moves[0]]
        meaning = f"That is where the {obj} started, so at the beginning it was in the {gold}."
        if len(moves) > 1:
            meaning += " Later moves do not change that."
    else:
        source = story.belief_source(chain, obj)
        assert source is not None and events[source].container == gold
        cues = [source] + ([real] if real > source else [])
        meaning = _belief_meaning(example, source, real, level)
    stages = [
        " ".join(events[i].sentence() for i in cues),
        meaning,
        item.question,
        f"The {gold} is option {letter}.",
    ]
    return stages, letter


def _belief_meaning(example: GeneratedExample, source: int, real: int, level: int) -> str:
    """Cue Interpretation for a belief question: who witnessed the deciding event, who missed a later move."""
    story, obj, chain = example.story, example.obj, example.chain
    e = story.events[source]
    gold = example.item.answer_text
    room = story.object_rooms[obj]
    if e.kind in (PLACE, MOVE):
        n = len(set(chain))
        everyone = (
            _were(chain) if level < 2 or n == 1 else "Both were" if n == 2 else f"All {_NUMBERS[n]} were"
        )
        parts = [f"{everyone} in the {room} then."]
    else:
        # The trust rule (rules 4 and 5), stated in the model of the people it applies to.
        speaker, listener, model, also = e.actor, chain[-1], chain, ""
        if listener == speaker:
            listener, model, also = chain[-2], chain[:-1], f" and takes {speaker} to believe it"
        if len(set(model)) == 1:
            view = f"as {listener} saw"
        elif set(model) == set(chain):
            view = f"as {'both' if len(set(chain)) == 2 else 'all'} saw"
        else:
            view = f"as {_names(model)} saw"
        why = "" if level >= 2 else f" (who was in the {room} more recently, {view})"
        parts = [f"{listener} trusts {speaker}{why}{also}."]
    if real > source:
        missed = [p for p in dict.fromkeys(chain) if p not in story.events[real].witnesses]
        parts.append(f"{_names(missed)} missed the later move.")
    if level == 0:
        parts.append(f"So {chain[0]} thinks it is in the {gold}." if len(chain) == 1 else f"So: the {gold}.")
    return " ".join(parts)


def mcq_example(example: GeneratedExample) -> SFTExample:
    """The SFT example for one generated item: its SIP prompt and a grounded trace."""
    for level in range(3):  # the fullest wording that fits
        completion = _completion(*mcq_trace(example, level))
        if pieces(completion) <= MAX_PIECES:
            break
    item = example.item
    return SFTExample(
        key=f"mcq:{item.benchmark}:{item.id}",
        kind="mcq",
        messages=mcq_messages(item, sip=True),
        completion=completion,
        source_ids=(item.id,),
    )


def mcq_examples(n: int, seed: int, config: ToMConfig | None = None) -> list[SFTExample]:
    """Traces for items ``0..n-1`` of the generator stream for ``seed`` (the items ``generate_items`` gives)."""
    config = config or ToMConfig()
    return [mcq_example(make_example(seed, index, config)) for index in range(n)]


# --------------------------------------------------------------------------------------------------
# Social traces

_CUT_RE = re.compile(
    r",? without\b|; |: |,? unless\b|, but\b|, though\b|, failing that\b|,? because\b|, and you must\b|, and only\b"
)
_PRIVATE_RE = re.compile(
    r"\b(?:secret|private|privately|reveal|hide|hiding|lie|lying|confess|admit|to yourself)\b", re.IGNORECASE
)
_PARTNER_NP_RE = re.compile(r"^You want (?:your|the) (?P<np>[\w'-]+(?: [\w'-]+){0,3}?) to (?P<vp>.+)$")
_SUBJECT_BEFORE = frozenset(
    {"that", "so", "before", "after", "when", "until", "if", "because", "and", "or", "but", "where", "while"}
    | {"once", "as", "whether", "than", "which", "who"}
)
"""Words after which "you" is a subject ("before you leave" -> "before I leave"), not an object."""


def _goal_clause(text: str) -> str | None:
    """The first "You want ..." sentence of a goal, cut before conditions and private asides; None if absent."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip())
    want = next((s for s in sentences if s.startswith("You want ")), None)
    if want is None:
        return None
    clause = _CUT_RE.split(want, maxsplit=1)[0].strip().rstrip(".!?,")
    return None if _PRIVATE_RE.search(clause) else clause


def _first_person(text: str) -> str:
    """Second person turned into first ("your" -> "my", "you are" -> "I am", "you both" -> "we both")."""
    text = re.sub(r"\byou (\w+ )?both\b", r"we \1both", text)
    text = re.sub(r"\bbetween you\b", "between us", text)
    text = re.sub(r"\byourself\b", "myself", text)
    text = re.sub(r"\byours\b", "mine", text)
    text = re.sub(r"\byour\b", "my", text)
    text = re.sub(r"\bYou\b", "I", text)
    words = text.split(" ")
    for i, word in enumerate(words):
        if word == "you":
            before = words[i - 1].lower().strip(",") if i else ""
            words[i] = "I" if not before or before in _SUBJECT_BEFORE or words[i - 1].endswith(",") else "me"
    text = " ".join(words)
    return re.sub(r"\bI are\b", "I am", re.sub(r"\bI were\b", "I was", text))


def _to_partner(vp: str) -> str:
    """A request's verb phrase as said to the person it is about: their/them -> your/you, my own stays mine."""
    vp = _first_person(vp)
    vp = re.sub(r"\btheir\b", "your", vp)
    vp = re.sub(r"\bthem\b", "you", vp)
    vp = re.sub(r"\bthemselves\b", "yourself", vp)
    return re.sub(r"\band to\b", "and", vp)


# Where a trailing modifier or a second request starts ("... today, for as much as possible",
# "... before Friday", "... and to email"): cutting there leaves a whole phrase. A bare "and" or "who"
# is not one ("the sofa and the bookcase", "the person who cut in"); "at"/"on" are, unless they bind
# to the word before ("worth at least", "agree on": see _DANGLING).
_BOUNDARY_RE = re.compile(
    r",? (?:so that|before|after|until|by|for|with|while|because|at|on) |, "
    r"| and (?=(?:to|agree|promise|give|get|keep|make|submit|have|email|pay|return|handle|delete)\b)"
)


# A setting sentence may also lose a place or time phrase, as long as a clause remains before it.
_SETTING_BOUNDARY_RE = re.compile(r"[,:;] | (?:while|after|before|with|for|at|on|in|from|to discuss|whose) ")
_DANGLING = frozenset(
    {"a", "an", "the", "and", "or", "of", "than", "no", "more", "least", "worth", "who", "whose", "that"}
    | {"are", "is", "was", "were", "has", "have", "had", "live", "lives", "work", "works", "agree", "arrive"}
)
"""Words a cut may not end on: they bind to what follows ("worth at least", "agree on", "arrive by")."""


def _shorten(text: str, max_words: int, boundary: re.Pattern[str] = _BOUNDARY_RE, min_words: int = 2) -> str:
    """``text`` cut at a ``boundary``: the last one leaving at most ``max_words`` words, else the
    first one after that; unchanged when short enough or without a boundary. A cut keeps at least
    ``min_words`` words and never ends on a word that needs more ("are", "who", "the")."""
    if len(text.split()) <= max_words:
        return text
    cuts = [
        m.start()
        for m in boundary.finditer(text)
        if len(head := text[: m.start()].split()) >= min_words and head[-1].lower() not in _DANGLING
    ]
    short = [c for c in cuts if len(text[:c].split()) <= max_words]
    return text[: (short or cuts or [len(text)])[-1 if short else 0]]


_GREETINGS = {
    "stranger": ("Hi there.", "Hello!", "Excuse me, hi."),
    "name": ("Hi {name}.", "Hello {name}!", "Hi {name}, good to see you."),
    "close": ("Hey {name}!", "Hi {name}.", "{name}, hey."),
}
_ASK = ("Could you {vp}?", "Would you be willing to {vp}?", "I was hoping you could {vp}.")
_WANT = ("I'd like to {vp}.", "I was hoping to {vp}.", "Can we talk? I want to {vp}.")
_WANT_NP = ("I'd like {np}.", "I was hoping for {np}.", "What I'd really like is {np}.")
_NEUTRAL = (
    "Do you have a minute? There's something I'd like to talk about.",
    "Could we talk for a minute?",
    "Have you got a moment? I wanted to ask you something.",
)
_TURN = ("I speak first.", "Nobody has spoken yet.", "I open.")
_RELATION = {
    RelationshipType.stranger: (
        "We are strangers: no names, stay polite.",
        "A stranger, so polite and simple.",
    ),
    RelationshipType.know_by_name: (
        "I know {name} only by name: be polite.",
        "We know each other by name only.",
    ),
    RelationshipType.acquaintance: (
        "{name} is an acquaintance: friendly but polite.",
        "I know {name} a little.",
    ),
    RelationshipType.friend: ("{name} is my friend: I can be direct.", "We are friends; I can be open."),
    RelationshipType.romantic: ("{name} is my partner: I can be open.", "We are a couple; I can be warm."),
    RelationshipType.family: ("{name} is family: I can be direct.", "We are family; I can speak plainly."),
}
_PARTNER_WORDS = {
    RelationshipType.stranger: ("distressed passenger", "passenger"),
    RelationshipType.know_by_name: ("neighbor", "colleague", "coworker"),
    RelationshipType.acquaintance: ("neighbor", "older neighbor", "colleague", "coworker", "acquaintance"),
    RelationshipType.friend: ("friend",),
    RelationshipType.romantic: ("partner",),
    RelationshipType.family: ("relative", "older relative", "family member", "parent", "teenager"),
}
"""How a goal may refer to the other character, by relationship ("sell the car to your friend")."""
_PLAN = (
    "Greet, then ask politely.",
    "Greet, then say it plainly.",
    "Open kindly; keep private facts private.",
)


_PEOPLE = frozenset(
    {word.split()[-1] for words in _PARTNER_WORDS.values() for word in words}
    | {
        "person",
        "owner",
        "resident",
        "candidate",
        "member",
        "manager",
        "tenant",
        "landlord",
        "buyer",
        "seller",
    }
    | {
        "roommate",
        "boss",
        "employee",
        "student",
        "teacher",
        "customer",
        "client",
        "child",
        "sister",
        "brother",
    }
)
"""Last words of the phrases a goal uses for a person ("the staff member", "your older neighbor")."""


def _address(speech: str, relation: RelationshipType) -> str:
    """Speech about "my friend" said to that friend: "you" (and "my friend's" -> "your")."""
    words = "|".join(re.escape(w) for w in _PARTNER_WORDS[relation])
    speech = re.sub(rf"\b(?:my|the) (?:{words})'s\b", "your", speech)
    speech = re.sub(rf"\b(?:my|the) (?:{words})\b", "you", speech)
    return re.sub(
        r"\byou (is|has|was)\b", lambda m: "you " + {"is": "are", "has": "have", "was": "were"}[m[1]], speech
    )


def _setting_cue(setting: str, max_words: int) -> str:
    """The setting's first sentence, cut at a clause boundary when long."""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", setting.strip())[0].rstrip(".")
    return _shorten(first, max_words, _SETTING_BOUNDARY_RE, min_words=4).rstrip(",;:.") + "."


_LEVELS = ((14, 14, 14), (9, 10, 10), (6, 6, 8))
"""Word limits (setting, goal, request) of the social wordings, from the fullest to the most compact."""


def social_trace(setup: EpisodeSetup, role: int, rng: random.Random, level: int = 0) -> tuple[list[str], str]:
    """The four SIP stage texts and the opening line for ``role`` of ``setup`` (wording drawn with ``rng``).

    ``level`` (0 to 2) picks ever shorter cuts of the setting, goal and request (:data:`_LEVELS`);
    above 0 the shortest greeting and request wordings are used and the turn cue is left out.
    """
    scenario = setup.scenario
    partner_role = next(i for i in range(len(setup.agents)) if i != role)
    partner = setup.agents[partner_role]
    relation = setup.relationship_between(role, partner_role).type
    name = partner.first_name
    clause = _goal_clause(scenario.goals[role].text)
    setting_words, goal_words, speech_words = _LEVELS[level]
    greet, line_pick, turn, plan = (rng.randrange(3) for _ in range(4))
    meaning = rng.randrange(len(_RELATION[relation]))
    if level:
        greet = line_pick = 0  # the shortest wordings
    if relation is RelationshipType.stranger:
        greeting = _GREETINGS["stranger"][greet]  # a stranger's name is not known
    else:
        close = relation in (RelationshipType.friend, RelationshipType.romantic, RelationshipType.family)
        greeting = _GREETINGS["close" if close else "name"][greet].format(name=name)
    if clause is None:
        # The goal itself touches something private: open without naming it.
        line = _NEUTRAL[line_pick]
        aim = "Raise my goal gently, giving nothing private away."
    else:
        aim = f"{_first_person(_shorten(clause, goal_words))}."
        match = _PARTNER_NP_RE.match(clause)
        if match and _PEOPLE.intersection(match["np"].split()):
            line = _ASK[line_pick].format(vp=_to_partner(_shorten(match["vp"], speech_words)))
        elif clause.startswith("You want to "):
            vp = _first_person(_shorten(clause.removeprefix("You want to "), speech_words))
            line = _WANT[line_pick].format(vp=vp)
        else:
            np = _first_person(_shorten(clause.removeprefix("You want "), speech_words))
            line = _WANT_NP[line_pick].format(np=np)
        line = _address(line, relation)
    cue = _setting_cue(scenario.setting, setting_words) + ("" if level else f" {_TURN[turn]}")
    stages = [cue, _RELATION[relation][meaning].format(name=name), aim, _PLAN[plan]]
    return stages, f"{greeting} {line}"


def _first_turn_observation(setup: EpisodeSetup, role: int) -> Observation | None:
    """The first observation of ``role``'s character, or None when it is not that role's turn first."""
    from envs.social import SocialEpisodeEnv

    env = SocialEpisodeEnv(setup)
    _, infos = env.reset(options={"setup": setup})
    observation = infos[setup.agent_names[role]]["observation"]
    return observation if observation.is_my_turn else None


def social_example(setup: EpisodeSetup, role: int, seed: int = 0) -> SFTExample | None:
    """The SFT example for ``role`` opening ``setup``; None when that role does not speak first."""
    from agents.socialr1 import SocialR1Agent

    observation = _first_turn_observation(setup, role)
    if observation is None:
        return None
    agent = SocialR1Agent("sft")
    agent.reset(setup, setup.agent_names[role])
    key = f"social:{setup.id}:{role}"
    return SFTExample(
        key,
        "social",
        agent.messages(observation),
        _social_completion(setup, role, seed, key),
        (setup.id, setup.scenario.id),
    )


def _social_completion(setup: EpisodeSetup, role: int, seed: int, key: str) -> str:
    """The completion for one opening, in the fullest wording that fits :data:`MAX_PIECES`."""
    for level in range(len(_LEVELS)):
        completion = _completion(*social_trace(setup, role, random.Random(f"sft-{seed}-{key}"), level))
        if pieces(completion) <= MAX_PIECES:
            break
    return completion


def social_examples(n: int, seed: int, env: str = "sotopia") -> list[SFTExample]:
    """``n`` opening turns of the env's scenarios (spread over scenarios, drawn with ``seed``).

    Casts are drawn as training draws them (:func:`scenarios.graph.sample_setups`); only roles
    that speak first are used. When the env has fewer distinct openings than ``n``, openings
    repeat with fresh wording and keys suffixed ``#2``, ``#3``, ...
    """
    if n <= 0:
        return []
    from envs.registry import resolve_scenarios
    from scenarios.graph import sample_setups

    library, scenario_ids = resolve_scenarios(env)
    per_scenario = -(-n // len(scenario_ids))
    setups = sample_setups(library, scenario_id=sorted(scenario_ids), n=per_scenario, seed=seed)
    random.Random(f"sft-social-{seed}").shuffle(setups)
    openings: dict[str, tuple[SFTExample, EpisodeSetup, int]] = {}
    for setup in setups:
        for role in range(setup.scenario.num_roles):
            example = social_example(setup, role, seed)
            if example is not None:
                openings.setdefault(example.key, (example, setup, role))
    if not openings:
        raise ValueError(f"env {env!r} has no scenario role that speaks first")
    distinct = list(openings.values())
    out = [example for example, _, _ in distinct[:n]]
    for i in range(len(out), n):
        out.append(_reworded(*distinct[i % len(distinct)], seed, i // len(distinct) + 1))
    return out


def _reworded(example: SFTExample, setup: EpisodeSetup, role: int, seed: int, repeat: int) -> SFTExample:
    """Another wording of an opening already used, keyed ``<key>#<repeat>``."""
    key = f"{example.key}#{repeat}"
    return SFTExample(
        key, "social", example.messages, _social_completion(setup, role, seed, key), example.source_ids
    )


# --------------------------------------------------------------------------------------------------
# Mixing and held-out safety


def sft_examples(
    n_mcq: int, n_social: int, seed: int, tom_config: ToMConfig | None = None, env: str = "sotopia"
) -> list[SFTExample]:
    """``n_mcq`` MCQ and ``n_social`` social examples, shuffled together (seeded)."""
    examples = mcq_examples(n_mcq, seed, tom_config) + social_examples(n_social, seed, env)
    random.Random(f"sft-mix-{seed}").shuffle(examples)
    return examples


_RULES_KEY = " ".join(RULES.split())


def _story_key(context: str) -> str:
    """The story of a context, whitespace-normalised, without the generator's rules preamble."""
    text = " ".join(context.split())
    return text.removeprefix(_RULES_KEY).strip()


def _context_of(example: SFTExample) -> str | None:
    """The story inside an MCQ example's prompt (as ``MCQItem.render`` lays it out); None for social ones."""
    if example.kind != "mcq":
        return None
    user = next((m["content"] for m in example.messages if m["role"] == "user"), "")
    if not user.startswith("Story:\n"):
        return None
    return user.removeprefix("Story:\n").rpartition("\n\nQuestion: ")[0]


def overlapping(train: Iterable[SFTExample | MCQItem], heldout: Iterable[MCQItem]) -> list[str]:
    """Ids of held-out items whose story (whitespace-normalised, rules preamble aside) was trained on."""
    seen: set[str] = set()
    for entry in train:
        context = entry.context if isinstance(entry, MCQItem) else _context_of(entry)
        if context:
            seen.add(_story_key(context))
    return [item.id for item in heldout if item.context and _story_key(item.context) in seen]
