"""Whether a caller's words so far are clearly unfinished: "my account number ends in", "it's H O seven three
and", "I was, um". Then a short pause is a breath, not the end of the turn (`TurnPolicy.unfinished_hold_ms`).
A pure function of the recogniser's partial text, cheap enough to run at every end of speech."""

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


def sounds_unfinished(text: str) -> bool:
    words = re.sub(r"[^a-z' ]+", " ", text.lower()).split()
    if not words:
        return False
    tail = " ".join(words[-6:])
    return words[-1] in _DANGLING or _DANGLING_PHRASES.search(tail) is not None
