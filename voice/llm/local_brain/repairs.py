"""Self-corrections inside one utterance: "four eight one two, no wait, four eight two one" -> "4821";
"A U four eight two nine one four, sorry, nine one three" -> "AU482913" (a shorter correction replaces the
end of what was said, the way people repair a misread number). Pure functions over recognised speech.
"""

from __future__ import annotations

from collections.abc import Sequence

from voice.llm.local_brain.spoken import TEENS, TENS, UNITS, ZERO_WORDS, digit_runs, tokens

_CUE_WORDS = frozenset(
    {"no", "wait", "sorry", "actually", "oops", "correction", "rather", "instead", "i", "mean", "meant", "make",
     "that", "it", "not", "scratch", "um", "uh", ",", ".", "let", "me", "try", "again", "start", "over"}
)  # fmt: skip
_CORRECTING = frozenset({"no", "wait", "sorry", "actually", "oops", "correction", "mean", "meant", "scratch"})
_SPELLING = frozenset({*UNITS, *TEENS, *TENS, *ZERO_WORDS, "double", "triple"})


def _spells(tok: str) -> bool:
    """A token that can be part of a number or code read out: digits, number words, single letters."""
    return tok in _SPELLING or tok.isdigit() or (len(tok) == 1 and tok.isalpha() and tok not in {"a", "i"})


def _names_the_digits(toks: Sequence[str], i: int) -> bool:
    """The "four" of "the last four 4812, no, 4821" names what is read out; it is not one of its digits."""
    return toks[i] in {"four", "4"} and i > 0 and toks[i - 1] == "last"


def _chars(toks: Sequence[str]) -> str:
    """What a read-out run spells: letters upper-case, digits as digits ("h o seven three" -> "HO73")."""
    out, pending = "", list[str]()
    for tok in [*toks, "|"]:
        letter = len(tok) == 1 and tok.isalpha() and tok not in ZERO_WORDS
        if letter or tok == "|":
            out += "".join(r.digits for r in digit_runs(pending))
            pending = []
            if letter:
                out += tok.upper()
        else:
            pending.append(tok)
    return out


def resolve_repairs(text: str) -> str:
    """`text` with each corrected number or code replaced by its correction (unchanged when there is none)."""
    toks = tokens(text)
    changed = False
    i = 0
    while i < len(toks):
        if toks[i] not in _CORRECTING:
            i += 1
            continue
        start = i
        while start > 0 and (
            (toks[start - 1] in _CUE_WORDS and not _spells(toks[start - 1]))
            or (toks[start - 1] == "oh" and toks[start] in _CORRECTING)  # "oh no wait": a sigh, not a zero
        ):
            start -= 1
        end = i
        while end < len(toks) and toks[end] in _CUE_WORDS and not _spells(toks[end]):
            end += 1
        left_start = start
        while (
            left_start > 0 and _spells(toks[left_start - 1]) and not _names_the_digits(toks, left_start - 1)
        ):
            left_start -= 1
        right_end = end
        while right_end < len(toks) and _spells(toks[right_end]):
            right_end += 1
        left, right = _chars(toks[left_start:start]), _chars(toks[end:right_end])
        if len(left) < 2 or not right or not any(c.isdigit() for c in right):
            i = end + 1 if end > i else i + 1
            continue
        fixed = right if len(right) >= len(left) else left[: len(left) - len(right)] + right
        # Digits stay one number ("1978" is a year again); a code with letters is read out again.
        replacement = [fixed] if fixed.isdigit() else [c.lower() if c.isalpha() else c for c in fixed]
        toks = [*toks[:left_start], *replacement, *toks[right_end:]]
        i = left_start + len(replacement)
        changed = True
    return " ".join(toks) if changed else text
