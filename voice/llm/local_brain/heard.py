"""What a speech recogniser hands over from real phone speech, read as the caller meant it (pure functions).

Recognised speech comes lower-case with little punctuation, and with the traces of talking: a word or two said
twice while the caller finds their place ("my my card", "did my did my paycheck") or broken off and started
again ("jor- jordan"), contractions written without their apostrophe ("dont", "thats", "my names"), and digits
heard as their homophones inside a run of digits ("four eight to one", "six six for zero", "a u for eight two
...", "two one five find six six"). `as_heard` undoes those, so every later step (routing, names, identifiers, yes/no) reads the words the
caller said.
"""

from __future__ import annotations

import re

from voice.llm.local_brain.spoken import NUMBER_WORDS, ORDINALS, UNITS, ZERO_WORDS

_CONTRACTIONS = {
    "im": "i'm", "ive": "i've", "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't",
    "wont": "won't", "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't", "werent": "weren't",
    "havent": "haven't", "hasnt": "hasn't", "couldnt": "couldn't", "shouldnt": "shouldn't",
    "wouldnt": "wouldn't", "thats": "that's", "whats": "what's", "theres": "there's", "youre": "you're",
    "theyre": "they're", "wanna": "want to", "gonna": "going to",
}  # fmt: skip
"""Words a recogniser writes without the apostrophe that are never another word in a caller's mouth."""

_CLAUSE_START = frozenset(
    {"yes", "yeah", "yep", "no", "nope", "oh", "okay", "ok", "and", "but", "so", "well", "hi", "hello", "hey"}
)
_DIGIT_WORDS = frozenset(UNITS) | ZERO_WORDS
_HOMOPHONES = {
    "to": "two",
    "too": "two",
    "for": "four",
    "won": "one",
    "ate": "eight",
    "find": "five",
    "fine": "five",
}
_RUN_START_HOMOPHONES = frozenset({"for", "to", "too"})  # "a u for eight ...": after an identifier's letters
_SCALES = frozenset({"hundred", "thousand"})
MIN_RUN = 4  # "four eight to one": a digit run long enough to be a number read out, not "two for one"
_CORE = re.compile(r"^(?P<lead>[^\w$']*)(?P<core>.*?)(?P<trail>[^\w]*)$", re.DOTALL)


class _Chunk:
    """One whitespace-separated piece of the text: its word (lower-case, for reading) and what surrounds it."""

    __slots__ = ("lead", "text", "trail", "word")

    def __init__(self, piece: str) -> None:
        m = _CORE.match(piece)
        assert m is not None  # the pattern matches any string
        self.lead, self.text, self.trail = m.group("lead"), m.group("core"), m.group("trail")
        self.word = self.text.lower()

    def replaced(self, text: str) -> _Chunk:
        return _Chunk(f"{self.lead}{text}{self.trail}")

    def __str__(self) -> str:
        return f"{self.lead}{self.text}{self.trail}"


def as_heard(text: str) -> str:
    """`text` with repeated words said once, apostrophes put back and digit homophones read as digits.

    Keeps the caller's case, spacing and punctuation otherwise (typed text reads the same as it did)."""
    chunks = [_Chunk(p) for p in text.split()]
    if not chunks:
        return text
    chunks = _contractions(chunks)
    chunks = _digit_homophones(chunks)
    chunks = _said_once(_without_cut_offs(chunks))
    return " ".join(str(c) for c in chunks)


def _contractions(chunks: list[_Chunk]) -> list[_Chunk]:
    out: list[_Chunk] = []
    for i, chunk in enumerate(chunks):
        before = chunks[i - 1] if i else None
        word = chunk.word
        if word in _CONTRACTIONS:
            out.append(chunk.replaced(_CONTRACTIONS[word]))
        elif word == "its" and (before is None or before.word in _CLAUSE_START or before.trail):
            out.append(
                chunk.replaced("it's")
            )  # "its priya shah": a clause's first word is not the possessive
        elif word == "names" and before is not None and before.word == "my" and not before.trail:
            out.append(chunk.replaced("name's"))
        else:
            out.append(chunk)
    return out


def _is_digit(word: str) -> bool:
    return word in _DIGIT_WORDS or (word.isdigit() and len(word) == 1)


def _in_run(chunk: _Chunk) -> bool:
    return _is_digit(chunk.word) or chunk.word in _HOMOPHONES


def _digit_homophones(chunks: list[_Chunk]) -> list[_Chunk]:
    out = list(chunks)
    for i, chunk in enumerate(chunks):
        after = chunks[i + 1].word if i + 1 < len(chunks) else ""
        if chunk.word in ("to", "for") and after in _SCALES and not chunk.trail:
            out[i] = chunk.replaced(
                _HOMOPHONES[chunk.word]
            )  # "transfer to hundred fifty" ("to a hundred" stays)
    i = 0
    while i < len(chunks):
        if not _in_run(chunks[i]):
            i += 1
            continue
        end = i
        while end < len(chunks) and _in_run(chunks[end]):
            end += 1
        _read_run(chunks, out, i, end)
        i = end
    return out


def _read_run(chunks: list[_Chunk], out: list[_Chunk], start: int, end: int) -> None:
    """Digit homophones inside chunks[start:end] become digits when the run is a number read out."""
    run = [c.word for c in chunks[start:end]]
    if len(run) < MIN_RUN or sum(_is_digit(w) for w in run) < MIN_RUN - 1:
        return
    before = chunks[start - 1].word if start else ""
    letters_before = len(before) == 1 and before.isalpha()
    for k, word in enumerate(run):
        if word not in _HOMOPHONES:
            continue
        digits_before = sum(_is_digit(w) for w in run[:k])
        digits_after = sum(_is_digit(w) for w in run[k + 1 :])
        if digits_before == 0 and not (letters_before and word in _RUN_START_HOMOPHONES):
            continue  # "send it to four eight ...": a run's first word is a digit only after letters
        if digits_before >= MIN_RUN and digits_after >= MIN_RUN:
            continue  # "one one seven seven to five five three zero": two numbers, from one to the other
        out[start + k] = chunks[start + k].replaced(_HOMOPHONES[word])


def _without_cut_offs(chunks: list[_Chunk]) -> list[_Chunk]:
    """A word broken off and started again ("jor- jordan rivera", "sav- savings"): the whole word only."""
    out: list[_Chunk] = []
    for i, chunk in enumerate(chunks):
        after = chunks[i + 1].word if i + 1 < len(chunks) else ""
        cut = chunk.trail.startswith("-") and chunk.word and not chunk.lead
        if cut and after.startswith(chunk.word) and after != chunk.word:
            continue
        out.append(chunk)
    return out


def _said_once(chunks: list[_Chunk]) -> list[_Chunk]:
    """Words said again at once ("my my", "i need to i need to") kept once; never numbers or spelled letters."""
    out: list[_Chunk] = []
    for chunk in chunks:
        out.append(chunk)
        for size in (3, 2, 1):
            if len(out) < 2 * size:
                continue
            tail, head = out[-size:], out[-2 * size : -size]
            if [c.word for c in tail] == [c.word for c in head] and all(
                _repeatable(c.word, out, size) for c in tail
            ):
                del out[-2 * size : -size]  # the second saying stays, with its punctuation
                break
    return out


def _repeatable(word: str, out: list[_Chunk], size: int) -> bool:
    if not word or not word[0].isalpha() or word in NUMBER_WORDS or word in ORDINALS or word in ZERO_WORDS:
        return False
    if len(word) == 1 and word not in ("a", "i"):
        return False  # "b b" is spelling; "a a" in "a a real person" is a stumble
    before = out[-2 * size - 1].word if len(out) > 2 * size else ""
    return not (len(word) == 1 and len(before) == 1 and before.isalpha())
