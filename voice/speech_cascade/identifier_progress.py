"""Whether the caller is part-way through reading out a number: "A U one one eight eight" when a policy number
has six digits, "four eight" when the last four digits were asked for.

Callers read identifiers in groups and pause between them ("A U four eight two ... nine one three"). Judged by
the words alone such a pause looks like the end of a turn (four digit words read as a number said in full), so
the lookup ran on the digits heard so far. The length to expect comes from, in order:

1. what the agent just asked for (`Expectation.lengths`: 6 for a policy number, 4 for the last four digits);
2. the letter prefix the caller began with, when the scenario's identifiers use it ("A U" -> 6 digits,
   `DigitHints.prefixed`);
3. the caller's own words: "the last four ... are four eight" -> 4.

Fewer digits than the shortest expected length, and no whole number earlier in the turn (a correction such as
"..., sorry, no, nine one three" replaces the end of one): the caller is still reading (`READING`). An expected length
reached: the number is complete (`COMPLETE`). Anything else (no number at the end, no length known, a length
that fits nothing): no opinion (`None`), the other rules decide. A pure function of the text, cheap enough to
run at every window of a pause.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from voice.expectation import Expectation
from voice.stt.digit_choice import DigitHints
from voice.stt.number_words import ONES, TEENS, TENS

_UNITS = frozenset(ONES)
_ZEROS = frozenset(("oh", "o"))
_TEENS = frozenset(TEENS)
_TENS = frozenset(w for w in TENS if w)
_REPEATS = {"double": 1, "triple": 2}  # "double eight": one more digit than the word after it
_TOKEN = re.compile(r"[a-z']+|\d+")
_LAST_FOUR = re.compile(r"\blast (?:four|4)\b")
# A number right after these is a date or an amount ("March fourteen", "two hundred twenty"), not an identifier.
_NOT_AN_ID_AFTER = frozenset(
    """january february march april may june july august september october november december
    hundred thousand million point""".split()
)
LAST_FOUR = 4


class Progress(enum.Enum):
    READING = "reading"
    """Fewer digits than the number asked for: the caller has more to read."""
    COMPLETE = "complete"
    """The digits read so far make a number of an expected length."""


@dataclass(frozen=True, slots=True)
class TrailingNumber:
    """The digit string the words end on: how many digits, and the letters read just before it ("AU")."""

    digits: int
    prefix: str
    earlier: int
    """The most digits of any digit string before it in the turn (0: none): "A U four eight two nine one four,
    sorry, no, nine one three" ends on 3 digits after 6."""


def trailing_number(text: str) -> TrailingNumber | None:
    """The number the words end on ("... A U one one eight eight" -> 4 digits after "AU"), or None."""
    tokens = _TOKEN.findall(text.lower())
    count = 0
    after_unit = False  # the token after this one (in reading order) was a single digit word
    i = len(tokens) - 1
    while i >= 0:
        token = tokens[i]
        before = tokens[i - 1] if i > 0 else ""
        if token.isdigit():
            count += len(token)
        elif token in _UNITS and not (token == "four" and before == "last"):
            count += 1
        elif token in _ZEROS and not _is_letter(before):  # the "O" of "H O seven ..." is a letter
            count += 1
        elif token in _TEENS:
            count += 2
        elif token in _TENS:
            count += 1 if after_unit else 2  # "twenty one": the "one" was counted already
        elif token in _REPEATS and after_unit:
            count += _REPEATS[token]
        else:
            break
        after_unit = token in _UNITS or token in _ZEROS
        i -= 1
    if count == 0 or (i >= 0 and tokens[i] in _NOT_AN_ID_AFTER):
        return None
    return TrailingNumber(count, _prefix(tokens[: i + 1]), _longest_run(tokens[: i + 1]))


def _longest_run(tokens: list[str]) -> int:
    """The most digit words (or digits) in a row among `tokens`: a rough count, enough to tell a number read."""
    longest = run = 0
    for token in tokens:
        if token.isdigit():
            run += len(token)
        elif token in _UNITS or token in _ZEROS:
            run += 1
        else:
            run = 0
        longest = max(longest, run)
    return longest


def _is_letter(token: str) -> bool:
    return len(token) == 1 and token.isalpha()


def _prefix(tokens: list[str]) -> str:
    """The identifier letters just before a number: two spelled letters ("a u") or one two-letter token ("au")."""
    if len(tokens) >= 2 and _is_letter(tokens[-1]) and _is_letter(tokens[-2]):
        return (tokens[-2] + tokens[-1]).upper()
    if tokens and len(tokens[-1]) == 2 and tokens[-1].isalpha():
        return tokens[-1].upper()
    return ""


def expected_lengths(
    text: str, number: TrailingNumber, expectation: Expectation | None, hints: DigitHints | None
) -> frozenset[int]:
    """How many digits the number being read should have, from the most specific source that knows."""
    if expectation is not None and expectation.lengths:
        return frozenset(expectation.lengths)
    if hints is not None and number.prefix:
        prefixed = frozenset(n for letters, n in hints.prefixed if letters == number.prefix)
        if prefixed:
            return prefixed
    if _LAST_FOUR.search(text.lower()):
        return frozenset((LAST_FOUR,))
    return frozenset()


def number_progress(
    text: str, expectation: Expectation | None = None, hints: DigitHints | None = None
) -> Progress | None:
    """Whether the words end part-way through a number (`READING`), on a whole one (`COMPLETE`), or neither."""
    number = trailing_number(text)
    if number is None:
        return None
    lengths = expected_lengths(text, number, expectation, hints)
    if not lengths:
        return None
    if number.digits < min(lengths):
        # After a whole number, a short one is a correction or an addition ("..., sorry, nine one three"), not
        # the first digits of a number still being read.
        return Progress.READING if number.earlier < min(lengths) else None
    if number.digits in lengths:
        return Progress.COMPLETE
    return None
