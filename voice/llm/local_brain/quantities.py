"""Quantities as callers say them: money amounts ("two hundred and fifty dollars", "$99.95", "forty two
fifty") and small counts ("the last five charges"), read from the numbers `spoken.numbers` finds."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise

from voice.llm.local_brain.spoken import MONTHS, ORDINALS, Number, normalize, numbers, tokens

# --- amounts ---------------------------------------------------------------------------------------------
MONEY_WORDS = {"dollar", "dollars", "bucks", "buck", "usd"}
CENT_WORDS = {"cent", "cents"}


def amount_readings(text: str) -> list[float]:
    """The ways a bare "two fifty" can be money: 2.50 or 250 ("nine ninety-nine": 9.99 or 999). The caller's
    context decides (a changed amount is near the one it replaces)."""
    toks = tokens(text)
    nums = numbers(toks)
    for first, second in pairwise(nums):
        if second.start == first.end and 10 <= second.value < 100 and first.value == int(first.value) < 10:
            return [_money(first.value + second.value / 100), _money(first.value * 100 + second.value)]
    return []


_CHARGE_CUES = frozenset(
    {"me", "charged", "paid", "billed", "cost", "costs", "was", "of", "took", "taken", "withdrew", "debited"}
)
_SKIPPED = frozenset({"uh", "um", "er", "like", ",", "about", "exactly", "just"})


def _word_before(toks: Sequence[str], index: int) -> str | None:
    """The word before `index`, past fillers and commas ("billed me, uh, fifteen ninety-nine" -> "me")."""
    j = index - 1
    while j >= 0 and toks[j] in _SKIPPED:
        j -= 1
    return toks[j] if j >= 0 else None


_EXPECTED = re.compile(
    r"\b(?:should(?:'ve| have)? been|should be|supposed to (?:be|cost)|instead of|(?:was|is|were) only|"
    r"only (?:cost|costs|was)|(?:the )?price (?:was|is)|tag said|advertised at)$"
)


def _expected_price(toks: Sequence[str], index: int) -> bool:
    """An amount said as what something should have cost ("the book was only like twenty bucks", "it should
    have been twelve dollars"): not the amount charged."""
    before = [t for t in toks[max(0, index - 6) : index] if t not in _SKIPPED]
    return _EXPECTED.search(" ".join(before)) is not None


def parse_amount(text: str, *, asked: bool = False) -> float | None:
    """A money amount in dollars: "$250.50", "five hundred dollars", "two hundred and fifty", "a hundred bucks",
    "ninety nine dollars and ninety five cents", "forty two fifty" (only when the amount was asked for).

    Without a money word or `$`, a lone number counts only when `asked`, or when it is not a digit sequence,
    a last-4, a count ("last five") or part of a date.
    """
    corrected = _corrected_amount(text)
    if corrected is not None:
        return corrected
    toks = tokens(text)
    nums = numbers(toks)
    by_start = {num.start: num for num in nums}
    for num in nums:
        after = toks[num.end] if num.end < len(toks) else None
        written_dollar = toks[num.start].startswith("$") or (num.start > 0 and toks[num.start - 1] == "$")
        if after in CENT_WORDS:
            return round(num.value / 100, 2)
        if (after in MONEY_WORDS or written_dollar) and not _expected_price(toks, num.start):
            value = num.value
            j = num.end + (1 if after in MONEY_WORDS else 0)
            if j < len(toks) and toks[j] == "and":
                j += 1
            cents = by_start.get(j)
            if cents is not None and cents.value < 100 and cents.value == int(cents.value):
                tail = toks[cents.end] if cents.end < len(toks) else None
                if tail in CENT_WORDS or (after in MONEY_WORDS and toks[j - 1] != "and"):
                    value += cents.value / 100
            return _money(value)
    candidates = [
        num for num in nums if _free_standing(toks, num, nums) and not _expected_price(toks, num.start)
    ]
    for first, second in pairwise(nums):
        # "forty two fifty" -> 42.50: when asked, or right after what charging says ("charged me ...").
        charged = _word_before(toks, first.start) in _CHARGE_CUES or (
            second.end < len(toks) and toks[second.end] in {"each", "apiece"}
        )
        in_a_date = any(
            t in MONTHS or t in ORDINALS or t == "born" for t in toks[max(0, first.start - 4) : first.start]
        )
        if ((asked and first is nums[0]) or charged) and not in_a_date:  # "born july second nineteen ninety"
            if (
                second.start == first.end
                and 10 <= second.value < 100
                and first.value == int(first.value)
                and second.value == int(second.value)
                and first.value < 1000
            ):
                return _money(first.value + second.value / 100)
    if not asked:  # "for one order", "that one": the word one is rarely a dollar amount unprompted
        candidates = [num for num in candidates if toks[num.start : num.end] != ["one"]]
    if candidates and (asked or len(candidates) == 1):
        return _money(candidates[0].value)
    return None


_CORRECTION = re.compile(
    r"\b(?:no wait|wait|no|make (?:it|that)|actually|i mean|i meant|sorry|scratch that)\b"
)


def _corrected_amount(text: str) -> float | None:
    """ "five hundred, no wait, make that three hundred" -> 300: an amount said again after a correction."""
    norm = normalize(text)
    cues = list(_CORRECTION.finditer(norm))
    for cue in reversed(cues):
        head, tail = norm[: cue.start()], norm[cue.end() :]
        if not tail.strip(" ,."):
            continue
        before, after = parse_amount(head, asked=True), _amount_in(tail)
        if before is not None and after is not None and before != after:
            readings = amount_readings(tail)  # "two hundred ... make that one fifty": 150, not 1.50
            if readings and before > 0:
                return min(readings, key=lambda r: abs(math.log(r / before)))
            return after
    return None


def _amount_in(text: str) -> float | None:
    """The first amount of a correction's tail ("make that three hundred, from checking")."""
    return parse_amount(text, asked=True) if not _CORRECTION.search(text) else None


def _money(value: float) -> float:
    return float(round(value, 2))


def _free_standing(toks: Sequence[str], num: Number, nums: Sequence[Number]) -> bool:
    """A number that is not glued to other numbers, a date, a count or a last-4 cue."""
    if any(other.end == num.start or other.start == num.end for other in nums if other is not num):
        return False
    before = toks[max(0, num.start - 3) : num.start]
    after = toks[num.end] if num.end < len(toks) else ""
    if "last" in before or "ending" in before or "ends" in before or "past" in before:
        return False
    if any(t in MONTHS for t in before[-2:]) or after in MONTHS or after in ORDINALS:
        return False
    if after == "of" and num.value >= 10 and toks[num.end + 1 : num.end + 2] in (["it"], ["that"], ["my"]):
        return True  # "put a thousand of it into savings": part of a sum, not "three of the charges"
    if after in {
        "days",
        "day",
        "weeks",
        "week",
        "times",
        "o'clock",
        "am",
        "pm",
        "transactions",
        "charges",
        "of",
    }:
        return False
    return num.value > 0


def as_json_number(value: float) -> int | float:
    """500.0 -> 500, 99.95 -> 99.95 (tool arguments read naturally in logs and transcripts)."""
    return int(value) if float(value).is_integer() else value


# --- integers (counts) -----------------------------------------------------------------------------------
_COUNTS = {"half a dozen": "six", "half dozen": "six", "a dozen": "twelve", "dozen": "twelve",
           "a couple of": "two", "a couple": "two", "couple of": "two", "couple": "two", "a few": "three",
           "few": "three", "a handful of": "five"}  # fmt: skip
_COUNT_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _COUNTS), key=len, reverse=True)) + r")\b"
)


def parse_count(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """A small count: "the last five charges" -> 5, "3" -> 3, "half a dozen" -> 6, "a couple" -> 2; must be within
    the bounds when given."""
    toks = tokens(_COUNT_WORDS.sub(lambda m: _COUNTS[m.group(0)], normalize(text)))
    for num in numbers(toks):
        after = toks[num.end] if num.end < len(toks) else ""
        if after in MONEY_WORDS or after in CENT_WORDS or not float(num.value).is_integer():
            continue
        value = int(num.value)
        if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value
    return None
