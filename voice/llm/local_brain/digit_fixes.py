"""A number put right by its last digits: "sorry, it ends in two, not three", "the last digit is a five",
"it ends with one five, not one six". The caller does not read the whole number again; the digits they say
replace as many at its end (pure functions)."""

from __future__ import annotations

import re

from voice.llm.local_brain.spoken import normalize

_DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)"
_DIGITS = rf"{_DIGIT}(?:[\s,-]+{_DIGIT}){{0,2}}"
_VALUES = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_ENDS_IN = re.compile(
    rf"\b(?:it |that |the number |the claim |the policy )?(?:ends?|ending|finishes) (?:in|with|on) (?:a |an )?"
    rf"(?P<new>{_DIGITS})(?![\s,-]*{_DIGIT})(?:,?\s*(?:not|instead of) (?:a |an )?(?P<old>{_DIGITS}))?\b"
)
_LAST_DIGIT = re.compile(
    rf"\bthe last (?:digit|number)(?:'s| is| should be) (?:a |an )?(?P<new>{_DIGIT})"
    rf"(?:,?\s*not (?:a |an )?(?P<old>{_DIGIT}))?\b"
)
_TAKES_BACK = re.compile(r"\b(?:not|sorry|actually|i mean|i meant|my mistake|wrong|instead)\b")
MAX_TAIL = 3
"""At most the last three digits are put right this way: four digits said after "ends in" are a last four."""


def _digits(said: str) -> str:
    return "".join(_VALUES.get(w, w) for w in re.findall(_DIGIT, said))


def tail_correction(text: str) -> tuple[str, str | None] | None:
    """(the digits the number ends in, the ones they replace or None) when the caller puts a number right by
    its end, with a word that takes the first reading back; else None."""
    norm = normalize(text)
    for pattern in (_ENDS_IN, _LAST_DIGIT):
        match = pattern.search(norm)
        if match is None:
            continue
        new = _digits(match.group("new"))
        old = _digits(match.group("old")) if match.group("old") else None
        if not new or len(new) > MAX_TAIL or (old is not None and len(old) != len(new)):
            continue
        if old is None and not _TAKES_BACK.search(norm):
            continue  # "it ends in two" alone describes; "sorry, it ends in two" corrects
        return new, old
    return None


def corrected_number(number: str, text: str) -> str | None:
    """`number` with its end put right as `text` says, or None when `text` does not put it right (or names an
    end the number does not have)."""
    found = tail_correction(text)
    if found is None:
        return None
    new, old = found
    digits_at = [i for i, c in enumerate(number) if c.isdigit()]
    if len(digits_at) <= len(new):
        return None
    tail = "".join(number[i] for i in digits_at[-len(new) :])
    if tail == new or (old is not None and tail != old):
        return None
    chars = list(number)
    for i, digit in zip(digits_at[-len(new) :], new, strict=True):
        chars[i] = digit
    return "".join(chars)
