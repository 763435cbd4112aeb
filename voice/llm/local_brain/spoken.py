"""Numbers, digits and identifiers as callers say them: "four eight two one", "two hundred and fifty
dollars", "a u four eight two nine one three" (pure functions over lower-case speech or typed text)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# --- tokens and number words ------------------------------------------------------------------------------
UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9}  # fmt: skip
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}  # fmt: skip
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
            "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
            "twentieth": 20, "thirtieth": 30}  # fmt: skip
MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
          "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
          "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}  # fmt: skip
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
ZERO_WORDS = {"oh", "o"}  # "oh" is a zero inside digits and the letter O inside identifiers
NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | {"hundred", "thousand", "million"}
_TOKEN_RE = re.compile(
    r"\$?\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?|[a-z0-9]+(?:['’][a-z]+)*(?:-[a-z0-9]+)*|[,.?!;:$]"
)


def normalize(text: str) -> str:
    """Lower-case with typographic quotes folded and whitespace collapsed."""
    return " ".join(text.lower().replace("’", "'").split())


def tokens(text: str) -> list[str]:
    """Words, numbers (with their `$`, thousands commas, decimals, ordinal suffix) and punctuation marks."""
    return _TOKEN_RE.findall(normalize(text))


def _digit_chars(token: str, prev: str | None, nxt: str | None) -> str | None:
    """The digits a single token stands for when digits are read out one by one, else None."""
    if token in UNITS:
        return str(UNITS[token])
    if token in TEENS:
        return str(TEENS[token])
    if token.isdigit():
        return token
    if token in ZERO_WORDS and (_digitish(prev) or _digitish(nxt)):
        return "0"
    return None


def _digitish(token: str | None) -> bool:
    return token is not None and (token in UNITS or token in TEENS or token in TENS or token.isdigit())


@dataclass(frozen=True, slots=True)
class DigitRun:
    """Consecutive tokens read as a digit string ("forty eight twenty one" -> "4821")."""

    start: int
    end: int  # exclusive token index
    digits: str


def digit_runs(toks: Sequence[str]) -> list[DigitRun]:
    """Digit strings spoken or written in `toks`: units, teens, "twenty one" (-> 21), "double five", "oh".

    "four" in "last four" is the name of the thing, not a digit, and is skipped.
    """
    runs: list[DigitRun] = []
    i, n = 0, len(toks)
    start, buf = -1, ""
    while i < n:
        tok, prev = toks[i], toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < n else None
        chunk: str | None = None
        width = 1
        if (
            tok in {"double", "triple"}
            and nxt is not None
            and (d := _digit_chars(nxt, tok, None))
            and len(d) == 1
        ):
            chunk, width = d * (2 if tok == "double" else 3), 2
        elif tok in TENS:
            if nxt in UNITS and nxt != "zero":
                chunk, width = str(TENS[tok] + UNITS[nxt]), 2
            else:
                chunk = str(TENS[tok])
        elif prev == "last" and tok in {"four", "4"}:
            chunk = None
        else:
            chunk = _digit_chars(tok, prev, nxt)
        if chunk is None:
            if buf:
                runs.append(DigitRun(start, i, buf))
            start, buf = -1, ""
            i += 1
            continue
        if not buf:
            start = i
        buf += chunk
        i += width
    if buf:
        runs.append(DigitRun(start, n, buf))
    return runs


@dataclass(frozen=True, slots=True)
class Number:
    """A number said as words ("two hundred and fifty") or written ("1,200.50"), at tokens [start, end)."""

    start: int
    end: int
    value: float


def numbers(toks: Sequence[str]) -> list[Number]:
    """Every cardinal number, read greedily: "four eight two one" is four numbers, "twelve hundred" one."""
    found: list[Number] = []
    i, n = 0, len(toks)
    while i < n:
        parsed = _cardinal_at(toks, i)
        if parsed is None:
            i += 1
            continue
        end, value = parsed
        found.append(Number(i, end, value))
        i = end
    return found


def _written_number(token: str) -> float | None:
    text = token.lstrip("$")
    text = re.sub(r"(st|nd|rd|th)$", "", text).replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def _cardinal_at(toks: Sequence[str], i: int) -> tuple[int, float] | None:
    """Parse one cardinal starting at toks[i]; (end index, value) or None."""
    n = len(toks)
    tok = toks[i]
    if tok[0].isdigit() or (tok.startswith("$") and len(tok) > 1):
        value = _written_number(tok)
        if value is None:
            return None
        j = i + 1
        if j < n and toks[j] in {"hundred", "thousand", "million"} and value == int(value):
            value *= {"hundred": 100, "thousand": 1000, "million": 1_000_000}[toks[j]]
            j += 1
        return j, value
    if tok not in NUMBER_WORDS and not (tok == "a" and i + 1 < n and toks[i + 1] in {"hundred", "thousand"}):
        return None
    total, current = 0, 0
    last = None  # kind of the previous token: unit, teen, tens, hundred, thousand
    j = i
    while j < n:
        t = toks[j]
        if t == "a" and last is None and j + 1 < n and toks[j + 1] in {"hundred", "thousand"}:
            current, last = 1, "unit"
        elif t in UNITS and last in (None, "tens", "hundred", "thousand"):
            if last == "tens" and UNITS[t] == 0:
                break
            current += UNITS[t]
            last = "unit"
        elif t in TEENS and last in (None, "hundred", "thousand"):
            current += TEENS[t]
            last = "teen"
        elif t in TENS and last in (None, "hundred", "thousand"):
            current += TENS[t]
            last = "tens"
        elif t == "hundred" and last in ("unit", "teen") and current % 100 == current:
            current *= 100
            last = "hundred"
        elif t in {"thousand", "million"} and last in ("unit", "teen", "tens", "hundred"):
            total += current * (1000 if t == "thousand" else 1_000_000)
            current, last = 0, "thousand"
        elif t == "and" and last in ("hundred", "thousand") and j + 1 < n and toks[j + 1] in NUMBER_WORDS:
            pass
        else:
            break
        j += 1
    if last is None:
        return None
    value: float = total + current
    # "twelve point five", "ninety nine point nine five"
    if j + 1 < n and toks[j] == "point" and toks[j + 1] in UNITS:
        k, decimals = j + 1, ""
        while k < n and toks[k] in UNITS:
            decimals += str(UNITS[toks[k]])
            k += 1
        value = float(f"{int(value)}.{decimals}")
        j = k
    return j, value


def spoken_digits(text: str) -> str:
    """All digits in `text`, spoken or written, joined: "four eight two one" -> "4821"."""
    return "".join(run.digits for run in digit_runs(tokens(text)))


# --- amounts ---------------------------------------------------------------------------------------------
MONEY_WORDS = {"dollar", "dollars", "bucks", "buck", "usd"}
CENT_WORDS = {"cent", "cents"}


def parse_amount(text: str, *, asked: bool = False) -> float | None:
    """A money amount in dollars: "$250.50", "five hundred dollars", "two hundred and fifty", "a hundred bucks",
    "ninety nine dollars and ninety five cents", "forty two fifty" (only when the amount was asked for).

    Without a money word or `$`, a lone number counts only when `asked`, or when it is not a digit sequence,
    a last-4, a count ("last five") or part of a date.
    """
    toks = tokens(text)
    nums = numbers(toks)
    by_start = {num.start: num for num in nums}
    for num in nums:
        after = toks[num.end] if num.end < len(toks) else None
        written_dollar = toks[num.start].startswith("$") or (num.start > 0 and toks[num.start - 1] == "$")
        if after in CENT_WORDS:
            return round(num.value / 100, 2)
        if after in MONEY_WORDS or written_dollar:
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
    candidates = [num for num in nums if _free_standing(toks, num, nums)]
    if asked and len(nums) >= 2 and nums[1].start == nums[0].end and 10 <= nums[1].value < 100:
        first, second = nums[0], nums[1]  # "forty two fifty" -> 42.50
        if first.value == int(first.value) and second.value == int(second.value) and first.value < 1000:
            return _money(first.value + second.value / 100)
    if candidates and (asked or len(candidates) == 1):
        return _money(candidates[0].value)
    return None


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
    if after in {"days", "day", "weeks", "week", "times", "o'clock", "am", "pm", "transactions", "charges"}:
        return False
    return num.value > 0


def as_json_number(value: float) -> int | float:
    """500.0 -> 500, 99.95 -> 99.95 (tool arguments read naturally in logs and transcripts)."""
    return int(value) if float(value).is_integer() else value


# --- integers (counts) -----------------------------------------------------------------------------------
def parse_count(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """A small count: "the last five charges" -> 5, "3" -> 3; must be within the bounds when given."""
    toks = tokens(text)
    for num in numbers(toks):
        after = toks[num.end] if num.end < len(toks) else ""
        if after in MONEY_WORDS or after in CENT_WORDS or not float(num.value).is_integer():
            continue
        value = int(num.value)
        if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value
    return None


# --- identifiers -----------------------------------------------------------------------------------------
_NOT_LETTERS = {
    "is", "it", "in", "on", "at", "my", "to", "of", "as", "or", "an", "am", "be", "by", "do", "go", "he", "if",
    "me", "no", "so", "up", "us", "we", "ok", "hi", "and", "the", "its", "for", "number",
}  # fmt: skip


def id_shape(name: str, prop: Mapping[str, Any]) -> str | None:
    """The shape of an identifier parameter: 'L' letter, 'D' digit, other characters literal.

    From the example in its description ("like AU-482913" -> "LL-DDDDDD", "like 7001001" -> "DDDDDDD"), or
    "DDDD" for last-4 parameters.
    """
    if "last4" in name or "last_four" in name:
        return "DDDD"
    description = str(prop.get("description", ""))
    match = re.search(r"\b(?:like|e\.g\.|for example|such as)\s+([A-Za-z0-9][A-Za-z0-9-]*[0-9])", description)
    if not match:
        return None
    return "".join("L" if c.isalpha() else "D" if c.isdigit() else c for c in match.group(1).upper())


def _id_chars(toks: Sequence[str]) -> list[tuple[int, int, str]]:
    """Runs of identifier characters: letters (single letters, or two-letter groups like "au"), spoken or
    written digits. '?' marks "oh"/"o", which is a letter O or a zero depending on the position."""
    runs: list[tuple[int, int, str]] = []
    i, n = 0, len(toks)
    start, buf = -1, ""

    def flush(end: int) -> None:
        nonlocal start, buf
        if buf and sum(c.isdigit() or c == "?" for c in buf) >= 3:
            runs.append((start, end, buf))
        start, buf = -1, ""

    while i < n:
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        chunk, width = None, 1
        compact = tok.replace("-", "")
        if tok in ZERO_WORDS:
            chunk = "?"
        elif tok in {"double", "triple"} and nxt in UNITS:
            chunk, width = str(UNITS[nxt]) * (2 if tok == "double" else 3), 2
        elif tok in TENS:
            chunk = str(TENS[tok] + UNITS[nxt]) if nxt in UNITS and nxt != "zero" else str(TENS[tok])
            width = 2 if nxt in UNITS and nxt != "zero" else 1
        elif tok in UNITS or tok in TEENS:
            chunk = str(UNITS.get(tok, TEENS.get(tok)))
        elif (
            compact.isalnum()
            and any(c.isdigit() for c in compact)
            and re.fullmatch(r"[a-z]{0,3}\d+", compact)
        ):
            chunk = compact.upper()
        elif len(tok) == 1 and tok.isalpha():
            chunk = tok.upper()
        elif len(tok) == 2 and tok.isalpha() and tok not in _NOT_LETTERS and _starts_digits(toks, i + 1):
            chunk = tok.upper()
        if chunk is None:
            flush(i)
            i += 1
            continue
        if not buf:
            start = i
        buf += chunk
        i += width
    flush(n)
    return runs


def _starts_digits(toks: Sequence[str], i: int) -> bool:
    return i < len(toks) and (_digitish(toks[i]) or toks[i] in ZERO_WORDS)


def fit_shape(chars: str, shape: str) -> str | None:
    """`chars` (letters, digits, '?') read in `shape` (see id_shape), or None."""
    slots = [c for c in shape if c in "LD"]
    if len(chars) != len(slots):
        return None
    out: list[str] = []
    for ch, slot in zip(chars, slots, strict=True):
        if ch == "?":
            out.append("O" if slot == "L" else "0")
        elif (slot == "L") != ch.isalpha():
            return None
        else:
            out.append(ch)
    it = iter(out)
    return "".join(next(it) if c in "LD" else c for c in shape)


def parse_identifier(text: str, shape: str | None, pattern: str | None = None) -> str | None:
    """An identifier read out: "a u four eight two nine one three" -> "AU-482913" for shape "LL-DDDDDD".

    A run that does not fit the shape but holds exactly its digits (a caller reading only the numeric part,
    or typing it on the keypad) comes back as those digits. Without a shape, the longest run with 3+ digits.
    """
    runs = _id_chars(tokens(text))
    candidates: list[str] = []
    for _, _, chars in runs:
        if shape is None:
            candidates.append(chars.replace("?", "0") if chars[0] == "?" or chars[0].isdigit() else chars)
            continue
        width = sum(c in "LD" for c in shape)
        fitted = None
        for offset in range(len(chars) - width, -1, -1):  # prefer the end: "policy is a u 482913"
            fitted = fit_shape(chars[offset : offset + width], shape)
            if fitted:
                break
        if fitted:
            candidates.append(fitted)
            continue
        need = shape.count("D")
        digits = "".join("0" if c == "?" else c for c in chars if c.isdigit() or c == "?")
        if shape.count("L") and len(digits) == need and chars[-need:].replace("?", "0").isdigit():
            candidates.append(digits)
    if shape is None and candidates:
        candidates.sort(key=len, reverse=True)
    for candidate in candidates:
        if pattern is None or re.fullmatch(pattern, candidate) or re.search(pattern, candidate):
            return candidate
    return None


def parse_last4(text: str, *, asked: bool = False) -> str | None:
    """Four digits after a cue ("ending in", "ends with", "last four ... are"), or any four when `asked`."""
    toks = tokens(text)
    for run in digit_runs(toks):
        if len(run.digits) != 4:
            continue
        near = toks[max(0, run.start - 3) : run.start]
        if any(t in MONTHS or t in ORDINALS or t in {"born", "since", "year"} for t in near):
            continue  # the year of "march fourteenth nineteen eighty five"
        before = toks[max(0, run.start - 7) : run.start]
        cued = any(t in {"ending", "ends", "ended", "last"} for t in before) or "four" in before
        if asked or cued:
            return run.digits
    return None
