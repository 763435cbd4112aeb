"""Pronunciations for the phrase model's vocabulary: pocketsphinx's bundled CMUdict, and for words it lacks a
compound of known words or a rough letter-to-sound guess (names, merchants), so no phrase word is dropped."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import pocketsphinx


def cmudict_path() -> Path:
    return Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))


def read_cmudict(words: Iterable[str] | None = None) -> Mapping[str, tuple[str, ...]]:
    """word -> pronunciations of the bundled CMUdict (~135k words), or only of what `pronounce` may look up
    for `words` (`lexicon_keys`): the same answers for those words, at a fraction of the cost (~0.3 s for
    the whole file, most of it building the whole dict).

    Read afresh for each build rather than cached: the whole file takes ~45 MB as a Python dict, and builds
    happen once per phrase set.
    """
    keys = None if words is None else lexicon_keys(words)
    prons: dict[str, list[str]] = defaultdict(list)
    with cmudict_path().open(encoding="utf-8") as f:
        for line in f:
            head, _, phones = line.partition(" ")
            word = head.split("(", 1)[0] if head.endswith(")") else head
            if keys is not None and word not in keys:
                continue
            if phones := phones.split("#", 1)[0].strip():
                prons[word].append(phones)
    return {w: tuple(p) for w, p in prons.items()}


def lexicon_keys(words: Iterable[str]) -> set[str]:
    """Every lexicon entry `pronounce` may read for `words`: each word, its base before an apostrophe, and the
    pieces `_compound` tries (3 to 12 letters)."""
    keys: set[str] = set()
    for word in words:
        keys.add(word)
        if "'" in word:
            keys.add(word.split("'", 1)[0])
        if len(word) >= 5:
            keys.update(
                word[start:end]
                for end in range(1, len(word) + 1)
                for start in range(max(0, end - 12), end - 2)
            )
    return keys


def _compound(word: str, lexicon: Mapping[str, tuple[str, ...]]) -> str | None:
    """A trivial grapheme-to-phoneme fallback: "electromart" = electro + mart, joining known pieces.

    Pieces must be at least 3 letters (short pieces like "e" or "ro" produce nonsense); fewest pieces win.
    """
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 12), end - 2):
            if start in best and word[start:end] in lexicon:
                candidate = [*best[start], word[start:end]]
                if end not in best or len(candidate) < len(best[end]):
                    best[end] = candidate
    pieces = best.get(len(word))
    if not pieces or len(pieces) > 3:
        return None
    return " ".join(lexicon[p][0] for p in pieces)


def pronounce(word: str, lexicon: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    if word in lexicon:
        return lexicon[word]
    if "'" in word:  # "jordan's" -> jordan + Z is not worth it; the bare word is close enough acoustically
        base = word.split("'", 1)[0]
        if base in lexicon:
            return lexicon[base]
    if len(word) >= 5 and (phones := _compound(word, lexicon)):
        return (phones,)
    if _readable(word) and (phones := _letters_to_sounds(word)):
        return (phones,)  # a name CMUdict lacks ("priya") stays sayable, roughly, rather than impossible
    return ()


# Letter groups -> phones, longest first: a rough reading of a name or place CMUdict does not have. Crude on
# purpose; the acoustic model tolerates it far better than a word missing from the vocabulary.
_LETTER_SOUNDS: tuple[tuple[str, str], ...] = (
    ("tch", "CH"), ("sch", "SH"), ("igh", "AY"), ("ough", "OW"),
    ("sh", "SH"), ("ch", "CH"), ("th", "TH"), ("ph", "F"), ("ck", "K"), ("ng", "NG"), ("qu", "K W"),
    ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("ai", "EY"), ("ay", "EY"),
    ("oa", "OW"), ("ie", "IY"), ("ei", "EY"), ("au", "AO"), ("aw", "AO"), ("oi", "OY"), ("oy", "OY"),
    ("ya", "Y AH"), ("yo", "Y OW"), ("yu", "Y UW"),
    ("a", "AA"), ("e", "EH"), ("i", "IY"), ("o", "OW"), ("u", "UW"), ("y", "IY"),
    ("b", "B"), ("c", "K"), ("d", "D"), ("f", "F"), ("g", "G"), ("h", "HH"), ("j", "JH"), ("k", "K"),
    ("l", "L"), ("m", "M"), ("n", "N"), ("p", "P"), ("r", "R"), ("s", "S"), ("t", "T"), ("v", "V"),
    ("w", "W"), ("x", "K S"), ("z", "Z"),
)  # fmt: skip


def _readable(word: str) -> bool:
    """Letters a person could read aloud as a word: vowels, and no long consonant clusters ("xqzzvy" is not)."""
    return (
        word.isalpha()
        and len(word) >= 3
        and re.search(r"[aeiou]", word) is not None
        and re.search(r"[^aeiouy]{4,}", word) is None
    )


def _letters_to_sounds(word: str) -> str:
    phones: list[str] = []
    i = 0
    while i < len(word):
        for letters, sound in _LETTER_SOUNDS:
            if word.startswith(letters, i):
                if not (phones and phones[-1] == sound):  # doubled letters are one sound
                    phones.append(sound)
                i += len(letters)
                break
        else:
            i += 1
    if word.endswith("e") and len(phones) > 2 and phones[-1] == "EH":
        phones.pop()  # a silent final e
    return " ".join(phones)
