"""Whisper's written numbers read back as words: "$2,450.75", "4821", "66-40", "the 2nd", "AU-482913".

Why words. pocketsphinx, the partials, the PII redaction and the eval scripts all carry numbers as spoken words
("four eight two one"), and the local brain reads both forms; turning Whisper's digits back into words keeps one
form for everything downstream of the embedded recogniser, whichever pass produced the text.

How each form is read (the way callers say them, and the forms the brain's parsers take):
- amounts "$300", "$2,450.75" -> "three hundred dollars", "... dollars and seventy five cents"
- ordinals "2nd", "23rd" -> "second", "twenty third"; percentages "5%" -> "five percent"
- decimals "2.5" -> "two point five"; "1,200" -> "one thousand two hundred"; times "7:30" -> "seven thirty"
- "66.40" (two digits, point, two digits): "sixty six forty", as "sixty-six forty" was said (an account's
  last four or a price)
- a "decimal" with three or more digits after the point, "7.001002", is a code read with "oh"s ("seven oh oh
  one oh oh two"): digit by digit, the point dropped
- a price said as two numbers, "a hundred and twenty-nine ninety-nine" -> "129, 99": "one hundred twenty nine
  ninety nine" (a group of three digits then one of two, after a comma; three and three stay a code)
- 1-3 digits "250" -> "two hundred fifty" (a leading zero: digit by digit, "007" -> "zero zero seven")
- 4 digits 1900-2099 "1990" -> "nineteen ninety" (a year; the brain reads a year-shaped group as four
  digits where an identifier is expected); any other run of 4+ digits is read digit by digit
- groups "66-40" -> "sixty six forty" (pairs); other groups "215 566", "482 1", "555-1234" -> digit by digit
- letters before digits "AU-482913", "RE 215 566" -> "A U four eight ...", "R E two one five ..."; two
  lower-case letters hyphenated to digits too ("re-215-566": with a lower-case prompt Whisper writes them so)
- digits in comma-separated groups of one to three, four or more in all ("482, 1", "7, 0, 0, 1"): digit by
  digit, a code read with pauses
- an "A" between digits is the digit eight ("4A21", "4a2-1": "eight" heard as the letter), an "O" the digit
  zero
- a number hyphenated to a word ("14-Birch Lane", "twenty-lake street") is two words

How it was said, when the text allows: Whisper writes "913" for both "nine one three" and "nine hundred thirteen",
and "220" for "two twenty". Given the words pocketsphinx heard in the same turn (`heard`), a number of three or
four digits is read the way they contain it (digit by digit, "two twenty", the cardinal or the year); without
them, or when they contain none of those readings, by the rules above. (Two digits, "28", are left alone: a
day, an age or an amount far more often than two digits read out, and "two eight" turns up inside longer
strings.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from voice.stt.number_words import ONES, TEENS, TENS, cardinal, ordinal, spell_digits, year

_AMOUNT = r"\$(?P<dollars>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?(?!\d)"
_ORDINAL = r"(?P<ordinal>\d{1,2})(?:st|nd|rd|th)\b"
_PERCENT = r"(?P<percent>\d+(?:\.\d+)?)\s?%"
_TIME = r"\b(?P<hour>\d{1,2}):(?P<minute>\d{2})\b"
_DECIMAL = r"(?P<whole>\d+)\.(?P<fraction>\d+)"
_THOUSANDS = r"(?P<thousands>\d{1,3}(?:,\d{3})+)(?!\d)"
_IDENT = r"\b(?P<letters>[A-Z]{2,3}(?=[ -]?\d)|[A-Z](?=-?\d)|[a-z]{2}(?=-\d))[ -]?(?P<tail>\d+(?:[ -]\d+)*)\b"
_GROUPS = r"(?P<groups>\d+(?:[- ]\d+)+|\d{1,3}(?:, \d{1,3})+(?!\d))"
_DIGITS = r"(?P<digits>\d+)"
_PRICE_PAIR = re.compile(r"[1-9]\d{2}, [1-9]\d")
_NUMBER = re.compile(
    "|".join((_AMOUNT, _ORDINAL, _PERCENT, _TIME, _DECIMAL, _THOUSANDS, _IDENT, _GROUPS, _DIGITS))
)


def _number(n: int) -> list[str]:
    if n < 1_000_000:
        return cardinal(n)
    millions, rest = divmod(n, 1_000_000)
    return _number(millions) + ["million"] + (cardinal(rest) if rest else [])


def read_digits(digits: str) -> list[str]:
    """One run of digits as it is most likely said (see the module docstring)."""
    if len(digits) > 1 and digits.startswith("0"):
        return spell_digits(digits)
    if len(digits) <= 3:
        return cardinal(int(digits))
    if len(digits) == 4 and 1900 <= int(digits) <= 2099:
        return year(int(digits))
    return spell_digits(digits)


def _readings(digits: str) -> list[list[str]]:
    """The ways a caller may have said a run of 3-4 digits Whisper wrote as one number."""
    found = [spell_digits(digits), read_digits(digits)]
    if len(digits) == 3 and digits[0] != "0" and int(digits[1:]) >= 10:  # "220": "two twenty"
        found.append([ONES[int(digits[0])], *cardinal(int(digits[1:]))])
    if len(digits) > 1 and digits[0] != "0":
        found.append(cardinal(int(digits)) if len(digits) <= 3 else year(int(digits)))
    return found


def _contains(words: Sequence[str], part: list[str]) -> bool:
    n = len(part)
    return any(list(words[i : i + n]) == part for i in range(len(words) - n + 1))


def _as_heard(digits: str, heard: Sequence[str]) -> list[str]:
    default = read_digits(digits)
    if not heard or not 3 <= len(digits) <= 4 or _contains(heard, default):
        return default
    return next((words for words in _readings(digits) if _contains(heard, words)), default)


def _read(match: re.Match[str], heard: Sequence[str] = ()) -> str:
    g = match.groupdict()
    words: list[str]
    if g["dollars"] is not None:
        dollars = int(g["dollars"].replace(",", ""))
        words = [*_number(dollars), "dollar" if dollars == 1 else "dollars"]
        if g["cents"] and int(g["cents"].ljust(2, "0")):
            words += ["and", *cardinal(int(g["cents"].ljust(2, "0"))), "cents"]
    elif g["ordinal"] is not None:
        n = int(g["ordinal"])
        words = ordinal(n) if n > 0 else ["zeroth"]
    elif g["percent"] is not None:
        whole, _, fraction = g["percent"].partition(".")
        words = _number(int(whole)) + (["point", *spell_digits(fraction)] if fraction else []) + ["percent"]
    elif g["hour"] is not None:
        minute = int(g["minute"])
        words = cardinal(int(g["hour"])) + (
            [] if minute == 0 else ["oh", *cardinal(minute)] if minute < 10 else cardinal(minute)
        )
    elif g["whole"] is not None:
        if len(g["fraction"]) >= 3:  # "7.001002": "seven oh oh one oh oh two", a code
            words = spell_digits(g["whole"] + g["fraction"])
        elif len(g["whole"]) == 2 and len(g["fraction"]) == 2 and g["whole"][0] != "0":
            # "66.40": "sixty-six forty", an account's last four or a price; both read it from pairs
            words = [*read_digits(g["whole"]), *read_digits(g["fraction"])]
        else:
            words = [*_number(int(g["whole"])), "point", *spell_digits(g["fraction"])]
    elif g["thousands"] is not None:
        words = _number(int(g["thousands"].replace(",", "")))
    elif g["letters"] is not None:
        words = [*g["letters"].upper(), *spell_digits(re.sub(r"\D", "", g["tail"]))]
    elif g["groups"] is not None:
        parts = re.split(r"[-, ]+", g["groups"])
        if "," in g["groups"] and len("".join(parts)) < 4:  # "5, 10": two numbers, not a code
            words = [w for part in parts for w in [*read_digits(part), ","]][:-1]
        elif all(len(part) == 2 for part in parts):  # "66-40": "sixty six forty"
            words = [w for part in parts for w in read_digits(part)]
        elif _PRICE_PAIR.fullmatch(g["groups"]):  # "129, 99": "a hundred and twenty-nine ninety-nine"
            words = [*cardinal(int(parts[0])), *cardinal(int(parts[1]))]
        else:  # "215 566", "555-1234": a code read out in groups of digits
            words = spell_digits("".join(parts))
    else:
        words = _as_heard(g["digits"], heard)
    return " ".join(words).replace(" ,", ",")


_DIGIT_LETTER = re.compile(r"(?<=\d)(-?)([AaOo])(?=-?\d)")
_NUMBER_HYPHEN_WORD = re.compile(r"(?<=\d)-(?=[A-Za-z]{3})")
_NUMBER_WORD = "|".join((*ONES, *TEENS, *(t for t in TENS if t), "hundred", "thousand"))
# "two twenty-lake street": a number word hyphenated to a word that is not one ("twenty-one" stays)
_WORD_HYPHEN_WORD = re.compile(rf"\b(?i:({_NUMBER_WORD}))-(?!(?i:{_NUMBER_WORD})\b)(?=[A-Za-z]{{3}})")


def spoken_numbers(text: str, heard: Sequence[str] = ()) -> str:
    """`text` with every written number replaced by the words a caller would have said; `heard`, another
    recogniser's lower-case words for the same speech, picks how a number was said (see the module docstring)."""
    text = _DIGIT_LETTER.sub(lambda m: m.group(1) + ("8" if m.group(2) in "Aa" else "0"), text)
    text = _NUMBER_HYPHEN_WORD.sub(" ", text)
    text = _NUMBER.sub(lambda m: _read(m, heard), text)
    return " ".join(_WORD_HYPHEN_WORD.sub(r"\1 ", text).split())


# How Whisper writes the first letter of a spoken identifier when it takes it for a word: "the U four eight
# ..." for "A U four eight", "our E two one five ..." for "R E two one five".
_LETTER_AS_WORD = {
    "A": ("a", "the", "uh", "eh", "hey", "ay"),
    "R": ("are", "our", "or", "ar"),
    "H": ("age", "each"),
    "O": ("oh",),
    "E": ("he",),
}
_SPOKEN_DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b"
_WRITTEN_PREFIX = re.compile(r"\b([A-Z]{2})-?\d{4,}\b")
_SPELLED_PREFIX = re.compile(r"\b([A-Z]) ([A-Z]) (?:\d|" + _SPOKEN_DIGIT + ")")


def identifier_prefixes(phrases: tuple[str, ...]) -> frozenset[str]:
    """The two-letter prefixes of the identifiers in a scenario's phrases ("AU-482913", "R E 2 1 5 5 6 6")."""
    found: set[str] = set()
    for phrase in phrases:
        found.update(_WRITTEN_PREFIX.findall(phrase))
        found.update(a + b for a, b in _SPELLED_PREFIX.findall(phrase))
    return frozenset(found)


# How Whisper writes a whole spoken prefix it took for words (espeak's caller voice): "a new one one eight ..." for
# "A U one one eight ...", "a read to one five ..." and "sorry to one five ..." for "R E two one five ...". Only
# before four or more spoken digits (an identifier's, not "a new one, two weeks ago").
_PREFIX_AS_WORDS = {
    "AU": ("a new", "a you", "hey you"),
    "RE": ("a read", "sorry", "are he", "our he"),
}
_DIGIT_OR_HOMOPHONE = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|to|too|for)\b"
_FOUR_DIGITS_AFTER = rf"(?=(?:[,.]? {_DIGIT_OR_HOMOPHONE}){{4}})"


def repair_prefix_letters(text: str, prefixes: frozenset[str]) -> str:
    """A known identifier prefix whose first letter came back as a word, before the second letter and spoken
    digits, made letters again: with AU known, "the policy is the U four eight ..." -> "the policy is A U four
    eight ..."; and a prefix ending in O whose O came back as a digit ("H zero seven ..." -> "H O seven ...")."""
    for prefix in sorted(prefixes):
        first, second = prefix[0], prefix[1]
        if second == "O":  # "H zero seven three ...": the letter O read as the digit
            text = re.sub(rf"\b{first} (?:zero|oh)\b(?=[,.]? {_SPOKEN_DIGIT})", f"{first} O", text)
        whole = _PREFIX_AS_WORDS.get(prefix)
        if whole:
            text = re.sub(rf"\b(?i:{'|'.join(whole)}),?{_FOUR_DIGITS_AFTER}", f"{first} {second}", text)
        sounds = _LETTER_AS_WORD.get(first)
        if not sounds:
            continue
        pattern = rf"\b(?i:{'|'.join(sounds)})[,.]? {second}\b(?=[,.]? {_SPOKEN_DIGIT})"
        text = re.sub(pattern, f"{first} {second}", text)
    return text


# Whisper writes espeak's "forty" after digits as "fourD" ("sixty six fourD", "six six fourD"): a digit word with a
# "D" stuck on is its tens.
_TENS_AS_DIGIT_D = re.compile(r"\b(two|three|four|five|six|seven|eight|nine)[dD]\b")
_TENS_OF = {
    "two": "twenty", "three": "thirty", "four": "forty", "five": "fifty", "six": "sixty", "seven": "seventy",
    "eight": "eighty", "nine": "ninety",
}  # fmt: skip


def repair_tens(text: str) -> str:
    """ "six six fourD" -> "six six forty" (see `_TENS_AS_DIGIT_D`)."""
    return _TENS_AS_DIGIT_D.sub(lambda m: _TENS_OF[m.group(1).lower()], text)
