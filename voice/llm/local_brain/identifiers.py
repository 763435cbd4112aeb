"""Identifiers read out character by character: policy and claim numbers ("a u four eight two nine one
three" -> "AU-482913"), shaped by the example in the parameter's description, and last-4 digits."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from registries.toolstore.shapes import example_shape
from voice.llm.local_brain.spoken import (
    MONTHS,
    ORDINALS,
    TEENS,
    TENS,
    UNITS,
    ZERO_WORDS,
    DigitRun,
    digit_runs,
    digitish,
    tokens,
)

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
    return example_shape(str(prop.get("description", "")))


MAX_READINGS = 16
_SPELLED_BY_WORD = re.compile(r"\b([a-z]),? (?:as in|like|for) \1[a-z]+\b")
"""A letter made plain by a word that starts with it ("h as in hotel", "r for robert")."""
_CORRECTED = re.compile(r"\b(?:no|sorry|wait|actually|i mean|i meant|correction)\b")


def _id_chars(toks: Sequence[str]) -> list[tuple[int, int, list[str]]]:
    """Runs of identifier characters: letters (single letters, or two-letter groups like "au"), spoken or
    written digits. '?' marks "oh"/"o", which is a letter O or a zero depending on the position.

    Each run comes with its readings, the usual one first: "thirty one" is 31, but a caller reading 730155 as
    "seven thirty, one fifty-five" means 30 and then 1, so "30" "1" is a second reading. The shape the
    identifier must have decides between them."""
    runs: list[tuple[int, int, list[str]]] = []
    i, n = 0, len(toks)
    start, bufs = -1, [""]

    def flush(end: int) -> None:
        nonlocal start, bufs
        if bufs[0] and sum(c.isdigit() or c == "?" for c in bufs[0]) >= 3:
            runs.append((start, end, bufs))
        start, bufs = -1, [""]

    while i < n:
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        options: list[str] | None = None
        width = 1
        compact = tok.replace("-", "")
        if tok == "," and bufs[0] and (_starts_digits(toks, i + 1) or _letter_follows(bufs[0], toks, i + 1)):
            i += 1  # "seven thirty, one fifty-five" / "r, e, two one five": a pause between groups
            continue
        if tok in ZERO_WORDS:
            options = ["?"]
        elif tok in {"double", "triple"} and (nxt in UNITS or nxt in ZERO_WORDS):
            digit = "0" if nxt in ZERO_WORDS else str(UNITS[nxt or ""])
            options, width = [digit * (2 if tok == "double" else 3)], 2
        elif tok in TENS:
            after = toks[i + 2] if i + 2 < n else None
            if nxt in UNITS and nxt != "zero":
                # "thirty, one fifty-five": the unit opens the next group only when tens follow it.
                split = after in TENS or after in TEENS
                options = [str(TENS[tok] + UNITS[nxt])] + ([f"{TENS[tok]}{UNITS[nxt]}"] if split else [])
                width = 2
            else:
                options = [str(TENS[tok])]
        elif tok in UNITS or tok in TEENS:
            options = [str(UNITS.get(tok, TEENS.get(tok)))]
        elif (
            compact.isalnum()
            and any(c.isdigit() for c in compact)
            and re.fullmatch(r"[a-z]{0,3}\d+", compact)
        ):
            options = [compact.upper()]
        elif len(tok) == 1 and tok.isalpha():
            options = [tok.upper()]
        elif (
            len(tok) == 2
            and tok.isalpha()
            and tok not in _NOT_LETTERS
            and (_starts_digits(toks, i + 1) or (nxt == "," and _starts_digits(toks, i + 2)))
        ):
            options = [tok.upper()]  # "au four eight ..." / "au, four eight ..."
        if options is None:
            flush(i)
            i += 1
            continue
        if not bufs[0]:
            start = i
        bufs = [b + o for b in bufs for o in options][:MAX_READINGS]
        i += width
    flush(n)
    return runs


def _letter_follows(chars: str, toks: Sequence[str], i: int) -> bool:
    """Letters so far, then a single letter after a pause: "r, e, two one five" spells on."""
    return chars.isalpha() and i < len(toks) and len(toks[i]) == 1 and toks[i].isalpha()


def _starts_digits(toks: Sequence[str], i: int) -> bool:
    return i < len(toks) and (digitish(toks[i]) or toks[i] in ZERO_WORDS or toks[i] in {"double", "triple"})


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
    spelled = re.sub(r"\b([a-z])\.", r"\1", text.lower())  # "h. o. 730155" is read out letter by letter
    spelled = _SPELLED_BY_WORD.sub(r"\1", spelled)  # "r as in robert, e as in edward": the letters
    spelled = re.sub(r"\s+(?:dash|hyphen)\s+", " ", spelled)  # "a u dash four eight ...": the id's own dash
    spelled = re.sub(r"\.{2,}|…", " ", spelled)  # "a u four eight two... nine one three": a pause, not an end
    runs = _id_chars(tokens(spelled))
    candidates: list[str] = []
    partial: list[str] = []  # letters and digits that do not make the shape's count
    for _, _, readings in runs:
        chars = readings[0]
        if shape is None:
            candidates.append(chars.replace("?", "0") if chars[0] == "?" or chars[0].isdigit() else chars)
            continue
        fitted = next((f for r in readings if (f := _fit_end(r, shape)) is not None), None)
        if fitted:
            candidates.append(fitted)
            continue
        need = shape.count("D")
        digits = "".join("0" if c == "?" else c for c in chars if c.isdigit() or c == "?")
        boundary_letter = chars[-need:][:1] == "?" and any(c.isalpha() for c in chars[:-need])
        if (
            shape.count("L")
            and len(digits) == need
            and chars[-need:].replace("?", "0").isdigit()
            and not boundary_letter  # "h o seven ...": that "o" is the letter, not a zero
        ):
            candidates.append(digits)
        elif (lead := _letters_then_digits(chars, shape.count("L"))) is not None:
            partial.append(lead)  # "h o seven thirty-one fifty-five" -> "HO73155": the tool says if unknown
    if shape is None and candidates:
        candidates.sort(key=len, reverse=True)
    if len(candidates) > 1 and _CORRECTED.search(text.lower()):
        candidates.reverse()  # "seven oh oh one oh oh two, no, sorry ... seven oh oh one oh oh one": the last
    # A reading that fits the shape beats one that does not: "r e two one five five six... no, six six. r e two
    # one five five six six" is the number read again in full, after a broken-off first try.
    candidates += partial
    for candidate in candidates:
        if pattern is None or re.fullmatch(pattern, candidate) or re.search(pattern, candidate):
            return candidate
    if shape is not None and re.search(r"\w\.\s+\w", spelled):
        # A pause inside the number, written as a sentence end ("policy h o seven three. zero one five five"):
        # the two parts together, when they make the whole identifier.
        joined = re.sub(r"(?<=\w)\.\s+(?=\w)", " ", spelled)
        for _, _, readings in _id_chars(tokens(joined)):
            fitted = next((f for r in readings if (f := _fit_end(r, shape)) is not None), None)
            if fitted and (pattern is None or re.search(pattern, fitted)):
                return fitted
    return None


def begins_identifier(text: str, shape: str | None) -> bool:
    """Whether `text` ends on the first part of an identifier of `shape` and stops short of the rest: the
    letters and some of the digits ("the policy number is h o seven three"), as a caller breathes mid-number."""
    if shape is None or "L" not in shape:
        return False
    toks = tokens(text)
    runs = _id_chars(toks)
    if not runs or any(t.isalpha() and t not in ("oh", "o") for t in toks[runs[-1][1] :]):
        return False
    chars = runs[-1][2][0]
    slots = [c for c in shape if c in "LD"]
    if not 0 < len(chars) < len(slots):
        return False
    return all(
        ch == "?" or (slot == "L") == ch.isalpha()
        for ch, slot in zip(chars, slots[: len(chars)], strict=True)
    ) and any(ch.isalpha() for ch in chars)


def _fit_end(chars: str, shape: str) -> str | None:
    """`chars` read in `shape`, preferring its end: "policy is a u 482913"."""
    width = sum(c in "LD" for c in shape)
    for offset in range(len(chars) - width, -1, -1):
        if "L" not in shape and chars[offset : offset + 1] == "?" and offset and chars[offset - 1].isalpha():
            continue  # "h o seven three ...": after a letter that "o" is a letter too, not a number's zero
        fitted = fit_shape(chars[offset : offset + width], shape)
        if fitted:
            return fitted
    return None


def _letters_then_digits(chars: str, letters: int) -> str | None:
    """A run that starts with the shape's letters and goes on with 4+ digits but not the shape's count: the
    characters as heard (never padded or cut), so the caller is told what was heard rather than asked blind."""
    if letters == 0 or len(chars) < letters + 4:
        return None
    head = chars[:letters].replace("?", "O")
    tail = chars[letters:].replace("?", "0")
    return head + tail if head.isalpha() and tail.isdigit() else None


_OTHER_NOUN = {"card": ("account", "checking", "savings"), "account": ("card",)}


_MONEY_CUES = frozenset(
    {
        "billed",
        "charged",
        "paid",
        "cost",
        "costs",
        "me",
        "$",
        "dollars",
        "bucks",
        "each",
        "took",
        "take",
        "taken",
    }
)

_CARD_BRANDS = frozenset({"visa", "mastercard", "amex", "discover", "debit", "credit"})
_CHARGING_WORDS = frozenset(
    {"billed", "charged", "charge", "charges", "paid", "cost", "took", "money", "refund"}
)


_SELF_CORRECTION = re.compile(
    r"\b(?:no wait|wait no|sorry|i mean|i meant|actually|not that|scratch that|oops)\b"
)
"""Between two numbers for the same thing: the caller took the first back."""


def _money_around(toks: Sequence[str], run: DigitRun) -> bool:
    """ "they billed me fifteen ninety-nine": four digits that are an amount, not an account's last four."""
    near = [*toks[max(0, run.start - 2) : run.start], *toks[run.end : run.end + 1]]
    return any(t in _MONEY_CUES for t in near)


def _names(tok: str, noun: str) -> bool:
    """Whether the word names the noun: itself, its plural, or for a card its kind or brand ("mastercard")."""
    if tok in (noun, f"{noun}s"):
        return True
    return noun == "card" and (tok.endswith(("card", "cards")) or tok in _CARD_BRANDS)


def parse_last4(text: str, *, asked: bool = False, bare: bool = False, noun: str | None = None) -> str | None:
    """Four digits after a cue ("ending in", "ends with", "last four ... are"), or any four when `asked`; with
    `bare`, also the only digits of an utterance when they are four ("Jordan Rivera, four eight two one")."""
    toks = tokens(text)
    runs = digit_runs(toks)
    fours = [run for run in runs if len(run.digits) == 4]
    charging = any(
        t in _CHARGING_WORDS for t in toks
    )  # "bella pizza took my money. forty-two fifty": an amount
    if bare and len(fours) == 1 and not _money_around(toks, fours[0]) and not charging:
        asked = True  # the one four-digit group said ("priya shah, one one seven seven. move four hundred")
    found: list[DigitRun] = []
    previous_end = 0
    for run in runs:
        if len(run.digits) != 4:
            continue
        near = toks[max(0, run.start - 3) : run.start]
        if any(t in MONTHS or t in ORDINALS or t in {"born", "since", "year"} for t in near):
            continue  # the year of "march fourteenth nineteen eighty five"
        before = toks[max(0, run.start - 7) : run.start]
        while any(t in {".", "?", "!"} for t in before):  # the same sentence only: "wrong card. it's 4821"
            before = before[next(i for i, t in enumerate(before) if t in {".", "?", "!"}) + 1 :]
        said_of = toks[previous_end : run.start]  # what the sentence says since the number before this one
        while any(t in {".", "?", "!"} for t in said_of):
            said_of = said_of[next(i for i, t in enumerate(said_of) if t in {".", "?", "!"}) + 1 :]
        said_of = [
            t for j, t in enumerate(said_of) if not (j and said_of[j - 1] == "wrong")
        ]  # "the wrong card, it's"
        previous_end = run.end
        if (
            noun is not None
            and any(_names(t, other) for t in said_of for other in _OTHER_NOUN.get(noun, ()))
            and not any(_names(t, noun) for t in said_of)
        ):
            continue  # "the last four of my account" is not the card's number
        cued = any(t in {"ending", "ends", "ended", "last"} for t in before) or "four" in before
        cued = cued or (
            noun != "card" and bool(before) and before[-1] in {"account", "number", "checking", "savings"}
        )  # "account 1177", "marcus chen, checking six six four zero"
        # "the mastercard was in there too, thirty-three eighty-eight": the card named by its brand
        cued = cued or (noun == "card" and any(t in _CARD_BRANDS for t in before))
        # "... two two three three, sorry, I mean four eight two one": said again in place of a number given
        cued = cued or bool(found and _SELF_CORRECTION.search(" ".join(toks[found[-1].end : run.start])))
        if asked or cued:
            found.append(run)
    if not found:
        return None
    for earlier, later in pairwise(found):
        if _SELF_CORRECTION.search(" ".join(toks[earlier.end : later.start])) is None:
            return found[0].digits
    return found[-1].digits  # "seven seven zero two, no wait, that's my card: one one seven seven"
