"""The word lists and the crude stemmer behind the lexical content term (:mod:`training.rewards.content`)."""

from __future__ import annotations

import re

_STOPWORDS_TEXT = """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else even ever
    every few for from further had has have having he her here hers herself him himself his how however
    i if in into is it its itself just least less let like made make many may me might more most much
    must my myself neither no nor not now of off on once one only or other others our ours ourselves out
    over own per rather same shall she should since so some still such than that the their theirs them
    themselves then there these they this those though through thus to too under until up upon us very
    was we were what when where whether which while who whom whose why will with within without would
    yet you your yours yourself yourselves"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_MENTAL_TEXT = """think thought believe belief know knew known knowledge aware unaware realize notice noticed see saw
    seen hear heard feel felt feeling emotion emotional want wanted wish desire intend intention intent
    hope expect expectation assume suspect doubt trust guess wonder remember forget forgot mistake
    mistaken false true perspective mind mood happy sad angry upset afraid fear scared worry worried
    anxious nervous surprise surprised embarrass embarrassed ashamed proud guilty jealous envy lonely
    hurt relieved relief grateful disappoint disappointed frustrated confused curious annoyed calm
    excited comfortable uncomfortable prefer like dislike love hate care concern motive reason"""
_MENTAL = frozenset(_MENTAL_TEXT.split())

_GOAL_TEXT = """goal aim objective purpose want need ask asks asked question determine decide figure identify
    find achieve priority important must should avoid keep maintain protect secret relationship norm
    polite respect outcome"""
_GOAL = frozenset(_GOAL_TEXT.split())

_RESPONSE_TEXT = """option choice choose chose pick select answer respond response reply say tell suggest offer
    propose best most likely correct therefore because so consider compare instead"""
_RESPONSE = frozenset(_RESPONSE_TEXT.split())

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """A deliberately crude suffix stripper, applied alike to both sides of every comparison."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + repl
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def content_words(text: str | None) -> set[str]:
    """Stemmed content words of ``text``: lower-case tokens, stop words dropped, >= 3 letters or a number."""
    if not text:
        return set()
    out = set()
    for w in _WORD_RE.findall(text.lower().replace("’", "'")):
        base = w.split("'")[0]
        if base in _STOPWORDS or (len(base) < 3 and not base.isdigit()):
            continue
        out.add(_stem(w))
    return out


MENTAL_WORDS: frozenset[str] = frozenset(_stem(w) for w in _MENTAL)
"""Stemmed mental-state words (believe, feel, want, ...): what Cue Interpretation is about."""
GOAL_WORDS: frozenset[str] = frozenset(_stem(w) for w in _GOAL)
"""Stemmed goal words (goal, ask, decide, avoid, ...): what Goal Clarification is about."""
RESPONSE_WORDS: frozenset[str] = frozenset(_stem(w) for w in _RESPONSE)
"""Stemmed response words (option, choose, reply, ...): what Response Generation is about."""
