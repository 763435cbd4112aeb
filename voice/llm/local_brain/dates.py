"""Calendar dates as callers say them: "march fourteenth nineteen eighty five", "the 3rd of november",
"1985-03-14", "yesterday", "last tuesday" (pure functions; `today` is always a parameter)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from voice.llm.local_brain.spoken import (
    MONTHS,
    ORDINALS,
    TEENS,
    TENS,
    UNITS,
    WEEKDAYS,
    ZERO_WORDS,
    normalize,
    numbers,
    tokens,
)


# --- dates -----------------------------------------------------------------------------------------------
def _day_at(toks: Sequence[str], i: int) -> tuple[int, int] | None:
    """(day 1-31, end index) for "fourteenth", "twenty third", "14th", "14", "fourteen" at toks[i]."""
    n = len(toks)
    if i < n and toks[i] == "the":
        i += 1
    if i >= n:
        return None
    tok = toks[i]
    if tok in TENS and TENS[tok] in (20, 30) and i + 1 < n:
        nxt = toks[i + 1]
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            day = TENS[tok] + ORDINALS[nxt]
            return (day, i + 2) if day <= 31 else None
        if nxt in UNITS and UNITS[nxt] > 0:
            day = TENS[tok] + UNITS[nxt]
            return (day, i + 2) if day <= 31 else None
    if tok in ORDINALS:
        return ORDINALS[tok], i + 1
    if tok in TENS and TENS[tok] in (20, 30):
        return TENS[tok], i + 1
    if tok in UNITS and UNITS[tok] > 0:
        return UNITS[tok], i + 1
    if tok in TEENS:
        return TEENS[tok], i + 1
    match = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", tok)
    if match and 1 <= int(match.group(1)) <= 31:
        return int(match.group(1)), i + 1
    return None


def _year_at(toks: Sequence[str], i: int, today: date, *, short_ok: bool) -> tuple[int, int] | None:
    """(year, end) for "1985", "nineteen eighty five", "two thousand and five", "twenty twenty five",
    "twenty oh five", and (when `short_ok`) "eighty five" / "'85"."""
    n = len(toks)
    while i < n and (
        toks[i] in {",", "of", "in", "year"} or (toks[i] == "the" and i + 1 < n and toks[i + 1] == "year")
    ):
        i += 1  # "july second, year nineteen ninety", "of the year 1990"
    if i >= n:
        return None
    tok = toks[i]
    if re.fullmatch(r"(1[89]|20)\d\d", tok):
        return int(tok), i + 1
    nxt = toks[i + 1] if i + 1 < n else None
    if tok in {"nineteen", "eighteen", "twenty"} and nxt is not None:
        century = {"nineteen": 1900, "eighteen": 1800, "twenty": 2000}[tok]
        rest = _two_digit_at(toks, i + 1)
        if rest is not None:
            return century + rest[0], rest[1]
    if tok == "two" and nxt == "thousand":
        j = i + 2
        if j < n and toks[j] == "and":
            j += 1
        if j < n and toks[j] in UNITS:
            return 2000 + UNITS[toks[j]], j + 1
        rest = _two_digit_at(toks, j) if j < n else None
        if rest is not None:
            return 2000 + rest[0], rest[1]
        return 2000, i + 2
    if short_ok:
        rest = _two_digit_at(toks, i)
        if rest is not None and rest[0] >= 10:
            century = 1900 if rest[0] > today.year % 100 else 2000
            return century + rest[0], rest[1]
        match = re.fullmatch(r"'?(\d\d)", tok)
        if match:
            value = int(match.group(1))
            return (1900 if value > today.year % 100 else 2000) + value, i + 1
    return None


def _two_digit_at(toks: Sequence[str], i: int) -> tuple[int, int] | None:
    """ "eighty five" -> 85, "ninety" -> 90, "ten" -> 10, "oh five" -> 5, "05" -> 5."""
    n = len(toks)
    if i >= n:
        return None
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < n else None
    if tok in TENS:
        if nxt in UNITS and UNITS[nxt] > 0:
            return TENS[tok] + UNITS[nxt], i + 2
        return TENS[tok], i + 1
    if tok in TEENS:
        return TEENS[tok], i + 1
    if tok in ZERO_WORDS and nxt in UNITS:
        return UNITS[nxt], i + 2
    if re.fullmatch(r"\d\d", tok):
        return int(tok), i + 1
    return None


def _resolve_year(month: int, day: int, today: date, past: bool) -> date | None:
    """A month and day without a year: the most recent one (past) or the next one (future)."""
    for year in (today.year, today.year - 1) if past else (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if (past and candidate <= today) or (not past and candidate >= today):
            return candidate
    return None


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_RELATIVE_TODAY = (
    "today", "this morning", "this afternoon", "this evening", "tonight", "earlier today", "just now",
    r"(?:an|a|one|two|three|four|five|six|a few|a couple of|couple|few) (?:hours?|minutes?) ago", "an hour ago",
)  # fmt: skip
_RELATIVE_YESTERDAY = ("yesterday", "last night", "last evening")


_CORRECTION = re.compile(
    r"\b(?:no wait|no,? sorry|sorry,? no|i mean|i meant|actually|correction|no)\b[,.]?\s+"
)


_SAID_BEFORE = re.compile(
    r"\bi (?:said|told you|put|gave you)\b(?P<old>[^,.;!?]*?)[,.;]?\s+(?=but\b|no\b|actually\b|it was\b|it's\b)"
)
"""The date the caller takes back by quoting it: "I said friday but it was thursday"."""
_NOT_THIS = re.compile(r"\bnot (?P<old>[^,.;!?]{1,30}?)(?=\s*(?:[,.;!?]|$|\bbut\b|\bmy\b|\bsorry\b))")
"""The date the caller rules out: "it was tuesday, not wednesday"."""
_CLAUSE_END = re.compile(r"[,;.!?]")


def without_taken_back(norm: str, *, today: date, past: bool = True) -> str:
    """`norm` without the dates the caller says were wrong ("i said friday but", "not wednesday"), when another
    date is left: what they said it was instead."""
    for pattern in (_SAID_BEFORE, _NOT_THIS):
        for match in reversed(list(pattern.finditer(norm))):
            if parse_date(match.group("old"), today=today, past=past) is None:
                continue
            rest = norm[: match.start()] + " " + norm[match.end() :]
            if parse_date(rest, today=today, past=past) is not None:
                norm = rest
    return norm


def takes_back_a_date(text: str, *, today: date) -> bool:
    """Whether the caller says a date was wrong and gives another ("oh, it was tuesday, not wednesday")."""
    norm = normalize(text)
    return without_taken_back(norm, today=today) != norm


def _first_date(text: str, *, today: date, past: bool, require_year: bool) -> date | None:
    """The date of the first clause that says one ("started friday night, I only noticed it last night")."""
    for clause in _CLAUSE_END.split(text):
        found = parse_date(clause, today=today, past=past, require_year=require_year)
        if found is not None:
            return found
    return parse_date(text, today=today, past=past, require_year=require_year)


def parse_corrected_date(
    text: str, *, today: date, past: bool = True, require_year: bool = False
) -> date | None:
    """A date with a correction after it: "march fifteenth, eighty-five. no wait, the fourteenth" -> the 14th.
    The part after the last correction replaces what it names (a whole date, a day, a year); a date the caller
    quotes or rules out ("I said friday but it was thursday", "tuesday, not wednesday") is not the date."""
    norm = normalize(text)
    if not require_year:
        norm = without_taken_back(norm, today=today, past=past)
    cues = list(_CORRECTION.finditer(norm))
    if not cues:
        return parse_date(norm, today=today, past=past, require_year=require_year)
    head, tail = norm[: cues[-1].start()], norm[cues[-1].end() :]
    said = parse_date(head, today=today, past=past, require_year=require_year)
    full = _first_date(tail, today=today, past=past, require_year=require_year)
    if full is not None or said is None:
        return full or said
    toks = tokens(tail)
    for i in range(len(toks)):
        day = _day_at(toks, i) if (toks[i] == "the" or toks[i] in ORDINALS or toks[i] in TENS) else None
        if day is not None and (day[1] >= len(toks) or toks[day[1]] not in MONTHS):
            return make_date(said.year, said.month, day[0])
        year = _year_at(toks, i, today, short_ok=True) if toks[i] not in ("the",) else None
        if year is not None and year[0] > 1900:
            return make_date(year[0], said.month, said.day)
    return said


_ORDINAL = "|".join(ORDINALS)
_MONTH_FIRST = re.compile(
    rf"\b(?:the )?(?P<month>{_ORDINAL}) month(?: of the year)?,? (?:and )?(?:the )?(?P<day>[a-z-]+(?: [a-z]+)?) day\b"
)
_DAY_FIRST = re.compile(rf"\b(?:the )?(?P<day>[a-z-]+(?: [a-z]+)?) day of the (?P<month>{_ORDINAL}) month\b")
_NUMBERED_MONTH = re.compile(
    rf"\b(?:the )?(?P<day>(?:(?:twenty|thirty)[ -])?(?:{_ORDINAL})|\d{{1,2}}(?:st|nd|rd|th)) of the "
    rf"(?P<month>{_ORDINAL}|\d{{1,2}}(?:st|nd|rd|th))\b(?! (?:month|week|day|year)\b)"
)
"""A British date with the month by its number: "the twenty third of the eleventh" (November 23rd)."""
_MONTH_NAMES = [max((n for n, m in MONTHS.items() if m == number), key=len) for number in range(1, 13)]


def _months_by_number(norm: str) -> str:
    """ "the seventh month, the second day" / "second day of the seventh month" / "the second of the seventh"
    -> "july second"."""

    def named(match: re.Match[str]) -> str:
        month = ORDINALS[match.group("month")]
        return f"{_MONTH_NAMES[month - 1]} {match.group('day')}" if month <= 12 else match.group(0)

    def numbered(match: re.Match[str]) -> str:
        said = match.group("month")
        month = int(said[:-2]) if said[:1].isdigit() else ORDINALS[said]
        return f"{_MONTH_NAMES[month - 1]} {match.group('day')}" if 1 <= month <= 12 else match.group(0)

    return _NUMBERED_MONTH.sub(numbered, _DAY_FIRST.sub(named, _MONTH_FIRST.sub(named, norm)))


def parse_date(text: str, *, today: date, past: bool = True, require_year: bool = False) -> date | None:
    """A calendar date: "march fourteenth nineteen eighty five", "the 3rd of november", "1985-03-14", "3/14/85",
    "yesterday", "last tuesday", "two days ago". A date without a year is the most recent such day (`past`)
    or the next one; with `require_year` (a date of birth) it is not accepted."""
    norm = _months_by_number(normalize(text))
    if match := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", norm):
        return make_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := re.search(r"\b(\d{1,2})-(\d{1,2})-(\d{4})\b", norm):  # 03-14-1985 (US order)
        return make_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    if match := re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", norm):
        month, day = int(match.group(1)), int(match.group(2))
        if match.group(3):
            year = int(match.group(3))
            if year < 100:
                year += 1900 if year > today.year % 100 else 2000
            return make_date(year, month, day)
        return None if require_year else _resolve_year(month, day, today, past)
    toks = tokens(norm)
    for i in range(len(toks)):
        found = _month_date_at(toks, i, today, past=past, require_year=require_year)
        if found is not None:
            return found
    if require_year:
        # A date of birth said as numbers, month first: "eleven twenty-three seventy-eight".
        for i in range(len(toks)):
            found = _numeric_date_at(toks, i, today)
            if found is not None:
                return found
        return None
    return _relative_date(norm, today, past=past) or _day_of_month(toks, today, past=past)


def _day_of_month(toks: Sequence[str], today: date, *, past: bool) -> date | None:
    """ "on the third", "on the twenty first": that day of this month, or of the month before (`past`) or after
    when this month's has not come yet (or has gone). Only an ordinal after "on the": "the third one" is not a
    date."""
    for i in range(len(toks) - 2):
        if toks[i] != "on" or toks[i + 1] != "the":
            continue
        word = toks[i + 2]
        ordinal = (
            word in ORDINALS
            or re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)", word) is not None
            or (word in TENS and i + 3 < len(toks) and toks[i + 3] in ORDINALS)
        )
        found = _day_at(toks, i + 1) if ordinal else None
        if found is None or (
            found[1] < len(toks) and toks[found[1]] in {"of", "floor", "time", "one", "day"}
        ):
            continue
        day = found[0]
        year, month = today.year, today.month
        if past and day > today.day:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        elif not past and day < today.day:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return make_date(year, month, day)
    return None


def _numeric_date_at(toks: Sequence[str], i: int, today: date) -> date | None:
    """ "eleven twenty three seventy eight", "3 14 85", "oh seven, oh two, nineteen ninety": month, day and
    year as numbers (US order), a leading "oh" and pauses allowed."""
    if i and (toks[i - 1] in TENS or toks[i - 1] in ZERO_WORDS):
        return None
    j, month = _zero_led(toks, i)
    if month is None or not 1 <= month <= 12:
        return None
    while j < len(toks) and toks[j] == ",":
        j += 1
    k, day = _zero_led(toks, j)
    day_end = (day, k) if day is not None and toks[j] in ZERO_WORDS else _day_at(toks, j)
    if day_end is None or not 1 <= day_end[0] <= 31:
        return None
    year = _year_at(toks, day_end[1], today, short_ok=True)
    return make_date(year[0], month, day_end[0]) if year is not None else None


def _zero_led(toks: Sequence[str], i: int) -> tuple[int, int | None]:
    """(end, value) of a month or day number at toks[i]: "eleven", "3", "oh seven"."""
    if i >= len(toks):
        return i, None
    tok = toks[i]
    if tok in ZERO_WORDS and i + 1 < len(toks) and toks[i + 1] in UNITS:
        return i + 2, UNITS[toks[i + 1]]
    value = UNITS.get(tok) or TEENS.get(tok) or (int(tok) if re.fullmatch(r"\d{1,2}", tok) else None)
    return i + 1, value


def _month_date_at(
    toks: Sequence[str], i: int, today: date, *, past: bool, require_year: bool
) -> date | None:
    tok = toks[i]
    month = MONTHS.get(tok)
    if month is not None:
        # "march fourteenth [,] [nineteen eighty five]"; "may"/"march" alone are verbs: a day must follow.
        day_end = _day_at(toks, i + 1)
        if day_end is None:
            return None
        day, end = day_end
        year = _year_at(toks, end, today, short_ok=True)
        if year is not None:
            return make_date(year[0], month, day)
        return None if require_year else _resolve_year(month, day, today, past)
    # "the fourteenth of march [1985]", "14 march 1985"
    day_end = _day_at(toks, i)
    if day_end is None:
        return None
    day, end = day_end
    if end < len(toks) and toks[end] == "of":
        end += 1
    elif not (
        toks[end - 1] in ORDINALS
        or re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", toks[end - 1])
        or (end < len(toks) and toks[end] in MONTHS and toks[end] != "may")
    ):
        # "fourteen june" is a day and a month ("may" is too often the verb)
        return None
    if end >= len(toks) or toks[end] not in MONTHS:
        return None
    month = MONTHS[toks[end]]
    year = _year_at(toks, end + 1, today, short_ok=True)
    if year is not None:
        return make_date(year[0], month, day)
    return None if require_year else _resolve_year(month, day, today, past)


def _relative_date(norm: str, today: date, *, past: bool) -> date | None:
    if re.search(r"\b(?:day|night|evening) before (?:yesterday|last)\b", norm):
        return today - timedelta(days=2)  # "the night before last"
    if any(re.search(rf"\b{p}\b", norm) for p in _RELATIVE_YESTERDAY):
        return today - timedelta(days=1)
    if re.search(r"\btomorrow\b", norm):
        return today + timedelta(days=1)
    if match := re.search(r"\b(\w+) (days?|weeks?) ago\b", norm):
        count = {"a": 1, "an": 1, "couple": 2, "few": 3}.get(match.group(1))
        if count is None:
            nums = numbers(tokens(match.group(1)))
            count = int(nums[0].value) if nums else None
        if count is not None:
            days = count * (7 if match.group(2).startswith("week") else 1)
            return today - timedelta(days=days)
    if re.search(r"\blast week\b", norm):
        return today - timedelta(days=7)
    if match := re.search(r"\b(?:(last|this past|past|next|this|on) )?(" + "|".join(WEEKDAYS) + r")\b", norm):
        weekday = WEEKDAYS[match.group(2)]
        qualifier = match.group(1) or ""
        if qualifier == "next" or (not past and qualifier != "last"):
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
        back = (today.weekday() - weekday) % 7 or 7  # the most recent one before today
        return today - timedelta(days=back)
    # Last: "just now" or "this morning" is as often about the call ("I just now got around to calling") as
    # about what happened; a day named anywhere else in the sentence wins.
    if any(re.search(rf"\b{p}\b", norm) for p in _RELATIVE_TODAY):
        return today
    return None
