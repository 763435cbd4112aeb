"""Reading a caller's answer by what the agent asked for (`voice.expectation.Expectation`, the brain's pending
slot): the embedded recogniser's final pass uses it three ways, all on the Whisper worker thread.

- The prompt (`answer_prompt`): for a number or a date, the scenario prompt without its places and merchants
  (the names said after "in", "at", "from" or "to" in the phrases); the answer's shape goes into the second
  reading's prompt only (its counting digits, put in the first prompt, were copied into callers' numbers).
  An unrelated place name near the answer is what Whisper copies from a prompt: with "Las Vegas" in it, "last
  four" came back as "Las four".
- The digit choice (`expected_hints`): the lengths the answer has replace the scenario's identifier lengths in
  `digit_choice.choose_digits`, so pocketsphinx's reading wins only when its length is the one asked for and
  Whisper's is not (a 7-digit reading is plausible in an insurance call, not as the last four digits).
- A second reading (`wants_reread`): when the final text has a digit string but none of the expected length,
  Whisper reads the turn again with a prompt of digits only (`digits_prompt`); its text is taken if it has the
  expected length (`fits`). A turn without any digit string (the caller answered something else) is never
  read again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from voice.expectation import Expectation
from voice.stt.digit_choice import MIN_RUN, DigitHints, Run, digit_runs, edit_distance
from voice.stt.number_words import spell_digits
from voice.stt.whisper_prompt import scenario_prompt

_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|to|on)\s+$", re.IGNORECASE)
# The answer's shape as a caller says it: digits one by one, written as words (Whisper writes in its prompt's
# style). The digits are a neutral counting sequence, not a number of the scenario's data.
_EXAMPLE_DIGITS = "one two three four five six seven eight nine"


@lru_cache(maxsize=32)
def _places(phrases: tuple[str, ...]) -> frozenset[str]:
    """Capitalised names the phrases use as places or merchants ("in Las Vegas", "at Bella Pizza")."""
    found: set[str] = set()
    for phrase in phrases:
        for match in re.finditer(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*", phrase):
            if _PLACE_BEFORE.search(phrase[: match.start()]):
                found.add(match.group(0))
    return frozenset(found)


def _example(expectation: Expectation) -> str:
    parts = []
    if expectation.lengths:
        count = expectation.lengths[0]
        letters = " ".join("A B C D"[: 2 * expectation.letters - 1].split()) if expectation.letters else ""
        digits = " ".join(_EXAMPLE_DIGITS.split()[:count])
        parts.append(f"{letters} {digits}".strip())
    return ", ".join(parts)


@lru_cache(maxsize=64)
def _answer_prompt(phrases: tuple[str, ...], expectation: Expectation) -> str:
    base = scenario_prompt(phrases)
    places = _places(phrases)
    kept = [item for item in base.rstrip(".").split(", ") if item and item not in places]
    # No example of the answer's shape here: its counting digits were copied into piper callers' numbers
    # ("five five six six" read as "five five five six"); the shape is the second reading's prompt alone.
    return ", ".join(kept) + "."


def answer_prompt(phrases: Sequence[str], expectation: Expectation | None) -> str:
    """The Whisper prompt for a turn that answers `expectation`: the scenario's (`scenario_prompt`) when nothing
    in particular is expected, or the answer is neither a number nor a date."""
    if expectation is None or not (expectation.digits or expectation.date):
        return scenario_prompt(phrases)
    return _answer_prompt(tuple(phrases), expectation)


def digits_prompt(expectation: Expectation) -> str:
    """The prompt of the second reading: the answer's shape alone."""
    return _example(expectation) + "."


def expected_hints(expectation: Expectation | None, scenario: DigitHints) -> DigitHints:
    """The digit lengths to prefer: the expected answer's when it is a number (for an identifier with letters,
    one more too: `choose_digits` reads an "O" prefix letter as a zero), else the scenario's."""
    if expectation is None or not expectation.lengths:
        return scenario
    lengths = set(expectation.lengths)
    if expectation.letters:  # "H O seven three ...": the prefix's "O" reads as one more digit
        lengths |= {n + 1 for n in expectation.lengths}
    return DigitHints(frozenset(lengths))


_MAX_EDITS = 2
_LETTER_O = re.compile(r"\b[A-Z][ -]?$")


def _long_runs(text: str) -> list[Run]:
    """The digit strings of three or more digits, as identifiers read them: the "O" of an "H O" prefix, which
    reads as a zero, is a letter ("H O seven three zero one five five" has six digits, after the "O")."""
    runs = []
    for run in digit_runs(text):
        if text[run.start : run.start + 1] == "O" and _LETTER_O.search(
            text[max(0, run.start - 3) : run.start]
        ):
            after = re.match(r"O[\s,.\-]*", text[run.start :])
            run = Run(run.start + (after.end() if after else 1), run.end, run.digits[1:])
        if len(run.digits) >= MIN_RUN:
            runs.append(run)
    return runs


def fits(text: str, expectation: Expectation) -> bool:
    """Whether `text` has a digit string of a length the answer has."""
    return any(len(run.digits) in expectation.lengths for run in _long_runs(text))


def wants_reread(text: str, expectation: Expectation | None) -> bool:
    """Whether the turn's final `text` should be read again with the digits prompt: a number was asked for and
    the text has a digit string, but none of the expected length."""
    if expectation is None or not expectation.lengths:
        return False
    runs = _long_runs(text)
    return bool(runs) and not any(len(run.digits) in expectation.lengths for run in runs)


def with_digits_of(text: str, reread: str, expectation: Expectation) -> str:
    """`text` with the digits of the second reading, when those have the expected length and are the first
    reading's with at most two edits: its one digit string replaced by the reading's (the first reading's other
    words, read with the scenario's names, are kept), or the second reading whole when the first has several
    strings. Otherwise `text` unchanged."""
    theirs = [run for run in _long_runs(reread) if len(run.digits) in expectation.lengths]
    mine = _long_runs(text)
    # The same number read better (a digit added or lost, one misheard), not one the prompt talked it into
    if len(theirs) != 1 or not any(edit_distance(run.digits, theirs[0].digits) <= _MAX_EDITS for run in mine):
        return text
    if len(mine) != 1:
        return reread
    run = mine[0]
    return text[: run.start] + " ".join(spell_digits(theirs[0].digits)) + text[run.end :]
