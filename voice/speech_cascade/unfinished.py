"""Whether a caller's words so far are clearly unfinished: "my account number ends in", "it's H O seven three
and", "I was, um". Then a short pause is a breath, not the end of the turn (`TurnPolicy.unfinished_hold_ms`).
And the opposite, `sounds_complete`: words that close a turn ("what's my checking balance", "yes", "that's
all, thanks"), so a short pause after them may end it. Pure functions of the recogniser's partial text,
cheap enough to run at every window of a pause."""

from __future__ import annotations

import re

_DANGLING = frozenset(
    """a an the my your our their his her its this that these those and or but so because if
    to of in on at for from with by about into than as is are was were am be been being i'm it's
    um uh er like just my name number ends ending birthday born date called named""".split()
)
_DANGLING_PHRASES = re.compile(
    r"\b(?:ends in|ending in|ends with|number is|name is|date of birth is|birthday is|the last four(?: digits)?(?: are| is)?|"
    r"i was born on|it happened on|i (?:need|want|would like|'d like) to|can you|could you)$"
)

# Self-repair: "A U four eight two nine one four, sorry, no, | nine one three". The caller announced a correction and
# paused before it; "... sorry no" read as a closing "no", the turn ended at that pause and the lookup ran on the
# number being taken back. A marker pair ("sorry, no", "no, wait"), a reformulation ("I mean", "or rather"), or
# an apology right after a number read out ("four eight two one, sorry") asks for more.
_DIGIT_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_REPAIR = re.compile(
    r"\b(?:sorry no|no sorry|no wait|wait no|sorry wait|actually no|no actually|sorry i mean|no i mean|oops"
    r"|i mean|i meant|or rather|let me correct that"
    rf"|(?:{_DIGIT_WORDS}) (?:sorry|no|wait|actually))$"
)


# A question may end on a preposition or a pronoun it asks about ("what can you help me with", "who am I
# speaking to", "what was that"), and a verb may take "that"/"this" as its object ("don't do that", "can you
# repeat that"): then the last word is not dangling. Held as unfinished, such turns waited the longest silence
# (about 1.3 s) before any reply.
_STRANDED = frozenset("with to for about on in at from of that this".split())
_WH_WORDS = frozenset("what what's whats who who's whom which where".split())
_TAKES_THAT = frozenset(
    """do did does done doing repeat say said mean meant try want need like hear heard cancel change stop undo
    confirm fix explain""".split()
)


def _ends_complete_anyway(words: list[str]) -> bool:
    last = words[-1]
    if last not in _STRANDED:
        return False
    if last in ("that", "this") and len(words) >= 2 and words[-2] in _TAKES_THAT:
        return True
    return any(w in _WH_WORDS for w in words[-7:-1])


def sounds_unfinished(text: str) -> bool:
    """The words end on a phrase that asks for more ("my number is") or a word no sentence ends on ("... and my")."""
    words = re.sub(r"[^a-z' ]+", " ", text.lower()).split()
    if not words:
        return False
    tail = " ".join(words[-6:])
    if _DANGLING_PHRASES.search(tail) is not None or _REPAIR.search(tail) is not None:
        return True
    return words[-1] in _DANGLING and not _ends_complete_anyway(words)


# A streaming recogniser's partial often ends on a one-syllable fragment of the sound still coming in: the
# embedded one wrote "... where it's a" for "where it's at" and "november twenty a" for "twenty-eighth", so the
# turn was held for the longest wait (the agent's silence plus unfinished_hold_ms, 1.3-1.5 s) before any reply.
# Measured on every eval caller line (bench/turn_tiers.py), such a last word marked 73 of 191 piper line ends
# unfinished while adding no cut at the mid-line pauses a turn end would fall on.
_FRAGMENT_WORDS = frozenset("a an the or on that".split())


def sounds_clearly_unfinished(text: str) -> bool:
    """`sounds_unfinished`, but not when its only sign is a last word a recogniser's fragment is often read as
    ("a", "the", "on"): then the turn model, or the agent's fixed silence, decides instead of the longest hold."""
    if not sounds_unfinished(text):
        return False
    words = re.sub(r"[^a-z' ]+", " ", text.lower()).split()
    if words[-1] not in _FRAGMENT_WORDS:
        return True
    return _DANGLING_PHRASES.search(" ".join(words[-6:])) is not None


_CLOSING_WORDS = frozenset(
    """yes yeah yep no nope okay ok sure right correct thanks please bye goodbye balance balances
    transactions transaction account statement card payment payments help everything all it
    today now""".split()
)
_CLOSING_PHRASES = re.compile(
    r"\b(?:thank you|thanks|that's all|that's it|that is all|go ahead|sounds good|not really"
    r"|(?:in|from|into|to) (?:checking|savings))$"
)
_DIGITS = frozenset("zero oh one two three four five six seven eight nine".split())
_QUESTION_OPENERS = frozenset(
    "what what's whats how when where why who which can could do does did is are will".split()
)


def sounds_complete(text: str) -> bool:
    """The words read as a whole turn: a short answer, a closing phrase, a number read out in full, or three or
    more words ending on a word that closes a request ("... my savings balance", "... right now")."""
    words = re.sub(r"[^a-z' ]+", " ", text.lower()).split()
    if not words or sounds_unfinished(text):
        return False
    if len(words) <= 2 and words[-1] in {"yes", "yeah", "yep", "no", "nope", "okay", "ok", "sure", "correct"}:
        return True
    tail = " ".join(words[-4:])
    if _CLOSING_PHRASES.search(tail):
        return True
    if len(words) >= 4 and all(w in _DIGITS for w in words[-4:]):
        return True  # a number read out in full ("... four eight two one")
    return len(words) >= 3 and words[-1] in _CLOSING_WORDS
