"""Digit-string accuracy of recognised lines: did the caller's account number, id or code come through exactly?

A line's digit strings are read the way the local brain reads them (`digit_runs` over its tokens, fillers
dropped): "four eight two one" -> 4821, "sixty-six forty" -> 6640, "seven oh oh one" -> 7001, and "nine hundred
thirteen" -> 9 and 13 (two runs, as the brain sees them: not 913). A line counts when what was said has a run of
two or more digits; it is right when the recognised text has exactly the same runs of two or more digits, in the
same order. Single digits ("I have one question") and the parts of amounts ("two hundred and fifty", "forty
dollars": a run next to hundred, thousand, point, dollars, cents or percent) are left out on both sides.

A line that says a calendar date ("March fourteenth, nineteen eighty-five") is judged by the date instead, read
by the brain's date parser on both sides: "March 14, 1985" written back as "march fourteen, nineteen eighty
five" is the same date, though its digit runs differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.spoken import MONTHS, digit_runs, tokens, without_fillers

MIN_DIGITS = 2
_SCALE = frozenset(("hundred", "thousand", "million"))
_AMOUNT_AFTER = _SCALE | {"point", "dollar", "dollars", "cents", "percent", "bucks"}


def _in_amount(toks: list[str], start: int, end: int) -> bool:
    before = start - 1
    if before >= 0 and toks[before] == "and":
        before -= 1
    return (before >= 0 and toks[before] in _SCALE) or (end < len(toks) and toks[end] in _AMOUNT_AFTER)


def digit_strings(text: str) -> list[str]:
    """The runs of `MIN_DIGITS` or more digits in `text` that are not part of an amount, in order."""
    toks = tokens(without_fillers(text))
    return [
        run.digits
        for run in digit_runs(toks)
        if len(run.digits) >= MIN_DIGITS and not _in_amount(toks, run.start, run.end)
    ]


_TODAY = date(2026, 1, 15)  # fixed, so a date without a year resolves the same on both sides


def said_date(text: str) -> date | None:
    """The calendar date `text` names with a month ("the second of July"); None for none, or for a day named
    without one ("on Saturday", "last night"), which carries no digits to get wrong."""
    if not any(tok in MONTHS for tok in tokens(text)):
        return None
    return parse_date(text, today=_TODAY)


def has_digits(said: str) -> bool:
    """Whether `said` carries a digit string or a date (the lines `digits_right` judges)."""
    return said_date(said) is not None or bool(digit_strings(said))


def digits_right(said: str, heard: str) -> bool:
    """Whether `heard` carries the date of `said`, or else exactly its digit strings (True for a line without
    either)."""
    when = said_date(said)
    if when is not None:
        return said_date(heard) == when
    return digit_strings(said) == digit_strings(heard)


@dataclass(frozen=True, slots=True)
class DigitScore:
    lines: int
    right: int

    @property
    def rate(self) -> float:
        return self.right / self.lines if self.lines else 1.0

    def __str__(self) -> str:
        return f"{self.right}/{self.lines} ({self.rate:.0%})" if self.lines else "no lines with digits"


def digit_score(pairs: Iterable[tuple[str, str]]) -> DigitScore:
    """Digit accuracy over (said, heard) pairs; lines said without digit strings are not counted."""
    counted = [(s, h) for s, h in pairs if has_digits(s)]
    return DigitScore(len(counted), sum(digits_right(s, h) for s, h in counted))
