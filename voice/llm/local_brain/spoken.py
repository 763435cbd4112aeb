"""Tokens and numbers as callers say them: "four eight two one" (a digit string), "two hundred and fifty"
(a cardinal), "1,200.50" (pure functions over lower-case speech or typed text).

The building blocks of extraction: the number-word tables, `tokens`, digit runs and cardinals. Amounts and
counts (`quantities.py`), identifiers (`identifiers.py`) and dates (`dates.py`) are read from these.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
    r"\$?\d(?:\d|,(?=\d{3}))*(?:\.\d+)?(?:st|nd|rd|th)?|[a-z0-9]+(?:['’][a-z]+)*(?:-[a-z0-9]+)*|[,.?!;:$]"
)


def normalize(text: str) -> str:
    """Lower-case with typographic quotes folded and whitespace collapsed."""
    return " ".join(text.lower().replace("’", "'").replace("…", " ").split())


_FILLERS = re.compile(
    r"(?:^|(?<=[\s,.]))(?:u+h+|u+m+|e+r+m*|h+m+|a+h+|uh-huh|mm+)(?=[\s,.?!]|$)[,]?\s*", re.IGNORECASE
)


def without_fillers(text: str) -> str:
    """The caller's words without hesitation sounds ("uh, Jordan Rivera. Last four is, um, ..."): they are
    never a name, a value or an intent."""
    return " ".join(_FILLERS.sub(" ", text).split())


_NUMBER_PARTS = NUMBER_WORDS | set(ORDINALS) | {"oh", "double", "triple"}  # "double-oh", "triple-five"


def tokens(text: str) -> list[str]:
    """Words, numbers (with their `$`, thousands commas, decimals, ordinal suffix) and punctuation marks.

    Hyphenated number words are split ("sixty-six" -> "sixty", "six"; "twenty-third" -> "twenty", "third"),
    and so are written dates with dashes ("03-14-1985"): speech and typing then read the same."""
    out: list[str] = []
    for tok in _TOKEN_RE.findall(normalize(text)):
        parts = tok.split("-")
        if len(parts) > 1 and all(p in _NUMBER_PARTS or p.isdigit() for p in parts):
            out.extend(p for p in parts if p)
        else:
            out.append(tok)
    return out


def _digit_chars(token: str, prev: str | None, nxt: str | None) -> str | None:
    """The digits a single token stands for when digits are read out one by one, else None."""
    if token in UNITS:
        return str(UNITS[token])
    if token in TEENS:
        return str(TEENS[token])
    if token.isdigit():
        return token
    if token in ZERO_WORDS and (digitish(prev) or digitish(nxt)):
        return "0"
    return None


def digitish(token: str | None) -> bool:
    """A number word or written digits: a neighbour that makes "oh" a zero."""
    return token is not None and (token in UNITS or token in TEENS or token in TENS or token.isdigit())


def _spells_digits(token: str) -> bool:
    return digitish(token) or token in ZERO_WORDS or token in {"double", "triple"}


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
        if toks[i] == "," and buf and i + 1 < n and _spells_digits(toks[i + 1]):
            i += 1  # "six, six, four, oh" / "ninety, thirty-four": digits read with pauses between them
            continue
        tok = toks[i]
        prev = toks[i - 2] if i > 1 and toks[i - 1] == "," else toks[i - 1] if i else None
        nxt = toks[i + 2] if i + 2 < n and toks[i + 1] == "," else toks[i + 1] if i + 1 < n else None
        chunk: str | None = None
        width = 1
        if (
            tok in {"double", "triple"}
            and nxt is not None
            and (d := _digit_chars(nxt, "0", None))  # "double oh": the oh is a zero
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
        written = _written_number(tok)
        if written is None:
            return None
        j = i + 1
        if j < n and toks[j] in {"hundred", "thousand", "million"} and written == int(written):
            written *= {"hundred": 100, "thousand": 1000, "million": 1_000_000}[toks[j]]
            j += 1
        return j, written
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
