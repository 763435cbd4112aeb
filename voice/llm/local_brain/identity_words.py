"""The request left in an utterance once who-the-caller-is is taken out: "It's Marcus Chen, account ending in
sixty-six forty, what's in my checking?" -> "what's in my checking?".

Callers often give their identity and their request in one breath. Routed whole, the name and the digits
pull the utterance towards identity verification (or, worse, towards whichever tool's examples share a
word with them), and the request is lost. Routing what is left finds the request; the identity details are
still read from the whole utterance when the verification runs.
"""

from __future__ import annotations

from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.spoken import MONTHS, NUMBER_WORDS, ORDINALS, digit_runs, tokens

_NAME_CUES: tuple[tuple[str, ...], ...] = (
    ("my", "name", "is"), ("my", "name's"), ("name", "is"), ("this", "is"), ("it's",), ("it", "is"),
    ("i'm",), ("i", "am"), ("call", "me"),
)  # fmt: skip
_ID_CUES: tuple[tuple[str, ...], ...] = (
    ("the", "last", "four", "digits", "of", "my", "account", "are"), ("last", "four", "of", "my", "account", "are"),
    ("last", "four", "of", "my", "accounts", "are"), ("last", "four", "of", "my", "account", "is"),
    ("last", "four", "digits", "are"), ("last", "four", "digits", "is"), ("last", "four", "are"),
    ("last", "four", "is"), ("last", "four", "digits"), ("last", "four"), ("ending", "in"), ("ends", "in"),
    ("ending", "with"), ("ends", "with"), ("ending",), ("ends",), ("number", "is"),
    ("date", "of", "birth", "is"), ("date", "of", "birth"), ("birthday", "is"), ("born", "on", "the"),
    ("born", "on"), ("born", "the"), ("born", "in"), ("born",),
)  # fmt: skip
_DATE_WORDS = set(MONTHS) | set(ORDINALS) | NUMBER_WORDS | {"the", "of", "oh", "and"}
_PUNCTUATION = frozenset(",.?!;:")
_NOT_CONTENT = frozenset(
    """hi hello hey okay ok so and my the a an is it's i'm here please yes yeah well oh um uh er also then
    too now calling account number""".split()
)
MIN_REQUEST_WORDS = 3
_DIGIT_CUES = frozenset({"ending", "ends", "last", "four", "account", "card", "checking", "savings"})


def _mark_sequence(toks: list[str], marked: list[bool], seq: tuple[str, ...]) -> None:
    n = len(seq)
    for i in range(len(toks) - n + 1):
        if tuple(toks[i : i + n]) == seq:
            for j in range(i, i + n):
                marked[j] = True


def request_without_identity(text: str) -> str | None:
    """What the caller asks for besides identifying themselves, or None when the utterance holds no identity
    details or nothing else worth routing (fewer than `MIN_REQUEST_WORDS` content words)."""
    toks = tokens(text)
    marked = [False] * len(toks)
    found = False
    name = parse_name(text)
    if name is not None:
        parts = name.lower().split()
        for i in range(len(toks) - len(parts) + 1):
            if toks[i : i + len(parts)] == parts:
                found = True
                for j in range(i, i + len(parts)):
                    marked[j] = True
                if i + len(parts) < len(toks) and toks[i + len(parts)] == "here":
                    marked[i + len(parts)] = True
        for cue in _NAME_CUES:
            _mark_sequence(toks, marked, cue)
    for run in digit_runs(toks):
        cued = any(t in _DIGIT_CUES for t in toks[max(0, run.start - 3) : run.start])
        if len(run.digits) == 4 or (
            len(run.digits) >= 3 and cued
        ):  # a claim number is the request's, not who
            found = True
            for j in range(run.start, run.end):
                marked[j] = True
    for cue in _ID_CUES:
        _mark_sequence(toks, marked, cue)
    for i, tok in enumerate(toks):
        if tok == "born" or (tok == "birth" and i and toks[i - 1] == "of"):
            found = True
            j = i + 1
            while j < len(toks) and (toks[j] in _DATE_WORDS or toks[j].isdigit() or toks[j] in _PUNCTUATION):
                if toks[j] not in _PUNCTUATION:
                    marked[j] = True
                j += 1
    if not found:
        return None
    rest = [t for t, m in zip(toks, marked, strict=True) if not m]
    words = [t for t in rest if t not in _PUNCTUATION]
    if sum(1 for w in words if w not in _NOT_CONTENT) < MIN_REQUEST_WORDS:
        return None
    return " ".join(words)
