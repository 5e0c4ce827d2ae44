"""Reading answers out of replies and deciding whether they are right: option letters, option texts, free text.

Used alike by the benchmark scores (``eval.benchmarks``) and the training reward
(``training.rewards.accuracy``), so a reply that evaluation calls right is the reply training
rewards. The answer of a SIP reply is read with :meth:`agents.sip.SIPFormat.parse_answer`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from agents.sip import SIP

_LETTERS = string.ascii_uppercase


def normalize_answer(text: str) -> str:
    """Lower case, curly apostrophes straightened, ``_`` and punctuation other than ``'`` as spaces, spaces collapsed.

    ``"Red_Bucket."`` and ``"red bucket"`` both give ``"red bucket"``; ``"Sally’s"`` gives ``"sally's"``.
    """
    text = text.lower().replace("’", "'").replace("_", " ")
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


_LEADING_ARTICLE = re.compile(r"^(?:the|a|an) ")


def free_text_correct(answer: str, gold: str) -> bool:
    """Whether a free-text answer is right: normalised, it equals the gold or ends with it (as whole words).

    ToM-RL's rule, in its training reward and its evaluation alike: "the red bucket" and "It is
    in the red_bucket." are right for the gold "red_bucket"; "red bucket or green box" is not,
    so naming every candidate location does not pay more than committing to one. A leading
    article is dropped from both sides first ("box" is right for the gold "the box").
    """
    a = _LEADING_ARTICLE.sub("", normalize_answer(answer))
    g = _LEADING_ARTICLE.sub("", normalize_answer(gold))
    return bool(g) and (a == g or a.endswith(" " + g))


# --------------------------------------------------------------------------------------------------
# Multiple choice

_FULL_LETTER_RE = re.compile(
    r"""^\W*
    (?: (?:the\s+)? (?:final\s+|correct\s+|best\s+)? (?:answer|option|choice) (?:\s+is)? \s* [:=\-]? \s* )?
    [(\[{]* (?P<letter>[A-Za-z]) [)\]}]*
    [\s.)\]:]*\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_BRACKET_LETTER_RE = re.compile(r"\[\[\s*([A-Za-z])\s*\]\]")
_LEADING_LETTER_RE = re.compile(r"^[\s*_`]*[(\[]?([A-Za-z])(?:[)\]]|[.:,]\s|[.:,]$|\s+[-–—]\s)")
_KEYWORD_LETTER_RE = re.compile(
    r"(?i:answer|option|choice)(?:\s+(?i:is))?\s*[:=\-]?\s*(?:[(\[]([A-Za-z])[)\]]|\b([A-Z])\b(?!['’]))"
)
_LISTED_OPTION_RE = re.compile(r"^[\s*_`]*[(\[]?([A-Za-z])[.):\]]\s+\S", re.MULTILINE)


def _letter_index(letter: str, n_options: int) -> int | None:
    i = _LETTERS.find(letter.upper())
    return i if 0 <= i < n_options else None


def parse_letter(text: str, n_options: int) -> int | None:
    """The option index named by a letter in an answer text ("B", "(b)", "[[B]]", "Answer: B", "b) ..."), or None."""
    s = text.strip().strip("*_`").strip()
    for rx in (_FULL_LETTER_RE, _BRACKET_LETTER_RE, _LEADING_LETTER_RE):
        m = rx.search(s)
        if m:
            i = _letter_index(m.group(1), n_options)
            if i is not None:
                return i
    hits = {_letter_index(a or b, n_options) for a, b in _KEYWORD_LETTER_RE.findall(s)}
    hits.discard(None)
    return hits.pop() if len(hits) == 1 else None


def _contains_phrase(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def match_option_text(answer: str, options: Sequence[str]) -> int | None:
    """The option whose text best matches ``answer`` (after :func:`normalize_answer`), if unique.

    Exact match first; then the options contained in the answer (the longest, when it contains
    every other contained option); then the single option containing the answer.
    """
    a = normalize_answer(answer)
    if not a:
        return None
    normed = [normalize_answer(o) for o in options]
    exact = [i for i, o in enumerate(normed) if o and o == a]
    if exact:
        return exact[0] if len(exact) == 1 else None
    inside = [i for i, o in enumerate(normed) if _contains_phrase(a, o)]
    if inside:
        best = max(inside, key=lambda i: len(normed[i]))
        if all(
            j == best or (_contains_phrase(normed[best], normed[j]) and normed[j] != normed[best])
            for j in inside
        ):
            return best
        return None
    if len(a) >= 3:
        around = [i for i, o in enumerate(normed) if _contains_phrase(o, a)]
        if len(around) == 1:
            return around[0]
    return None


def recites_options(answer: str, n_options: int) -> bool:
    """True when the answer lists two or more lettered options (``A. ...`` / ``B) ...`` on their own lines).

    Such a reply restates the choices instead of picking one; reading its first line as the
    choice would credit "A" to a model that only copied the list.
    """
    letters = {m.group(1).upper() for m in _LISTED_OPTION_RE.finditer(answer)}
    valid = {chr(ord("A") + k) for k in range(n_options)}
    return len(letters & valid) >= 2


def parse_choice(text: str, options: Sequence[str]) -> int | None:
    """Read an MCQ choice from SIP or plain output: a letter, else the option text; None if unclear.

    A reply that recites several lettered options is unclear (None), not its first letter; so is
    one whose leading letter and following text name different options ("A. red box" when A is
    the green basket and C the red box).
    """
    if not options:
        return None
    answer = SIP.parse_answer(text)
    if recites_options(answer, len(options)):
        return None
    i = parse_letter(answer, len(options))
    if i is None:
        return match_option_text(answer, options)
    bare = answer.strip().strip("*_`").strip()
    if (lead := _LEADING_LETTER_RE.match(bare)) is not None:
        named = match_option_text(bare[lead.end() :], options)
        if named is not None and named != i:
            return None
    return i
