"""Which recogniser's digits to keep: Whisper's final text against pocketsphinx's hypothesis of the same turn.

Whisper tiny.en writes the better sentences, but on a string of digits it adds or drops a repeated digit
("six six four zero" -> 66400, "two one five five six six" -> 21556) about as often as pocketsphinx (whose phrase
model chains digit trigrams) misses one, and their mistakes rarely fall on the same turn. pocketsphinx has decoded
the turn anyway (its partials drive barge-in), so comparing costs nothing but this text work.

The rule (`choose_digits`): when each text has exactly one digit string of three or more digits and they differ
by one digit added or lost (lengths one apart, at most two edits), pocketsphinx's replaces Whisper's only if its
length is one the scenario's identifiers have and Whisper's is not
(`DigitHints.lengths`: the lengths of the digit strings in the scenario's phrases, and 4, the last four digits every
caller is asked for); with a letter prefix the scenario's identifiers use ("R E two one ..."), that prefix's
length. Anything else (no digits on one side, several strings, both lengths plausible or neither) keeps Whisper's
text: a swap needs evidence. The digits are never matched against the data's own numbers, so a caller who gives a
wrong number is never "corrected" into a real one.

`reading_hint` is the other use of pocketsphinx's words: how a number Whisper wrote as "913" was said.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from voice.stt.number_words import ONES, TEENS, TENS, spell_digits

LAST_FOUR = 4
MIN_RUN = 3  # shorter strings are amounts, days and counts as often as codes
# A phrase's digit string shorter than the last four is an address or an amount ("220 Lake Street"), not an id.
_UNITS = {w: str(i) for i, w in enumerate(ONES)}
_TEENS = {w: str(10 + i) for i, w in enumerate(TEENS)}
_TENS = {w: str(i) for i, w in enumerate(TENS) if w}
_ZEROS = frozenset(("oh", "o"))
_MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)
_SCALE = frozenset(("hundred", "thousand", "million"))
_AMOUNT_AFTER = frozenset(
    ("hundred", "thousand", "million", "point", "dollars", "dollar", "cents", "percent")
)
_TOKEN = re.compile(r"[A-Za-z']+|\d+")
_GAP = re.compile(r"[\s,.\-]*")  # what may stand between the words of one digit string
_PHRASE_NUMBER = re.compile(r"(?<![\d$,.])(\d(?:[ -]?\d)*)(?![\d,]|\.\d)")
_PREFIX = re.compile(r"\b([A-Z])[ -]?([A-Z])[ -]?(?=\d)")
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass(frozen=True, slots=True)
class Run:
    """One spoken digit string in a text: characters [start, end) and its digits."""

    start: int
    end: int
    digits: str


@dataclass(frozen=True, slots=True)
class DigitHints:
    lengths: frozenset[int]
    """Digit-string lengths the scenario's identifiers have."""
    prefixed: tuple[tuple[str, int], ...] = ()
    """(letters, digit count) of the identifiers with a letter prefix ("RE", 6)."""

    def expected(self, prefix: str) -> frozenset[int]:
        lengths = frozenset(n for letters, n in self.prefixed if letters == prefix)
        return lengths or self.lengths


@lru_cache(maxsize=32)
def _hints(phrases: tuple[str, ...]) -> DigitHints:
    lengths = {LAST_FOUR}
    prefixed: set[tuple[str, int]] = set()
    for phrase in phrases:
        for match in _PHRASE_NUMBER.finditer(phrase):
            digits = re.sub(r"\D", "", match.group(1))
            if len(digits) < LAST_FOUR or (len(digits) == 4 and _YEAR.fullmatch(digits)):
                continue
            lengths.add(len(digits))
            prefix = _PREFIX.search(phrase[max(0, match.start() - 6) : match.start() + 1])
            if prefix is not None:
                prefixed.add((prefix.group(1) + prefix.group(2), len(digits)))
    return DigitHints(frozenset(lengths), tuple(sorted(prefixed)))


def digit_hints(phrases: Sequence[str]) -> DigitHints:
    """The identifier lengths in a scenario's phrases (tool examples, the data's policy numbers, ...)."""
    return _hints(tuple(phrases))


def _chunk(words: list[str], i: int) -> tuple[str, int] | None:
    """(digits, words used) for the digit word at words[i], or None."""
    word = words[i]
    if word == "four" and i > 0 and words[i - 1] == "last":  # "the last four": the name of the digits
        return None
    if word in _UNITS:
        return _UNITS[word], 1
    if word in _TEENS:
        return _TEENS[word], 1
    if word in _TENS:
        after = words[i + 1] if i + 1 < len(words) else ""
        if after in _UNITS and after != "zero":
            return _TENS[word] + _UNITS[after], 2
        return _TENS[word] + "0", 1
    if word in _ZEROS and any(0 <= j < len(words) and words[j] in _UNITS for j in (i - 1, i + 1)):
        return "0", 1
    return None


def digit_runs(text: str) -> list[Run]:
    """The spoken digit strings of `text` ("four eight two one", "sixty six forty", "seven, oh, oh, one"),
    without those that are part of a date ("March fourteen") or an amount ("two hundred twenty")."""
    matches = list(_TOKEN.finditer(text))
    words = [m.group(0).lower() for m in matches]
    runs: list[Run] = []
    i = 0
    while i < len(words):
        start, digits, end = i, "", i
        while i < len(words):
            chunk = _chunk(words, i)
            if chunk is None:
                break
            if i > start:
                gap = text[matches[i - 1].end() : matches[i].start()]
                # Across a comma only single digits join ("seven, oh, oh, one"): "fourteen, nineteen" is a date.
                if not _GAP.fullmatch(gap) or (
                    "," in gap and (len(chunk[0]) > 1 or words[i - 1] not in _UNITS)
                ):
                    break
            digits += chunk[0]
            i += chunk[1]
            end = i
        if not digits:
            i += 1
            continue
        before = words[max(0, start - 2) : start]
        after = words[end] if end < len(words) else ""
        # Part of a date ("march fourteen") or an amount ("two hundred and twenty", "forty dollars"): not an id
        amount = after in _AMOUNT_AFTER or bool(
            _SCALE & set(before[-1:] if before[-1:] != ["and"] else before)
        )
        if not (_MONTHS & set(before) or amount):
            runs.append(Run(matches[start].start(), matches[end - 1].end(), digits))
    return runs


def _prefix_before(text: str, start: int) -> str:
    """The two identifier letters just before a digit string ("R E two one ..." -> "RE"), or ""."""
    found = re.search(r"\b([A-Z])[ -]?([A-Z])[ -]?$", text[max(0, start - 6) : start])
    return found.group(1) + found.group(2) if found else ""


def choose_digits(text: str, other: str, hints: DigitHints) -> str:
    """`text` (Whisper's, numbers as words) with its one digit string replaced by `other`'s (pocketsphinx's)
    when only the latter has a length the scenario's identifiers have (see the module docstring)."""
    mine = [r for r in digit_runs(text) if len(r.digits) >= MIN_RUN]
    theirs = [r for r in digit_runs(other) if len(r.digits) >= MIN_RUN]
    if len(mine) != 1 or len(theirs) != 1 or mine[0].digits == theirs[0].digits:
        return text
    run, replacement = mine[0], theirs[0].digits
    expected = hints.expected(_prefix_before(text, run.start))
    if len(replacement) not in expected or len(run.digits) in expected:
        return text
    # The same string with a digit added or lost, not another number (or a part of one) heard elsewhere
    if abs(len(replacement) - len(run.digits)) != 1 or edit_distance(replacement, run.digits) > 2:
        return text
    return text[: run.start] + " ".join(spell_digits(replacement)) + text[run.end :]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def reading_hint(other: str) -> tuple[str, ...]:
    """pocketsphinx's words, lower-case, for `whisper_text.spoken_numbers` to pick how a number was said."""
    return tuple(w.lower() for w in _TOKEN.findall(other))
