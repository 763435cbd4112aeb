"""A pause part-way through reading a number is not the end of the turn: the length to expect comes from the
agent's question, the scenario's letter prefixes, or the caller's "last four"."""

from __future__ import annotations

import pytest

from voice.expectation import Expectation
from voice.speech_cascade.identifier_progress import Progress, number_progress, trailing_number
from voice.speech_cascade.listening import CallerListener
from voice.stt.digit_choice import DigitHints

POLICY = Expectation(lengths=(6,), letters=2, label="a policy number")
LAST_FOUR = Expectation(lengths=(4,), label="the last four digits")
SCENARIO = DigitHints(frozenset({4, 6, 7}), (("AU", 6), ("HO", 6), ("RE", 6)))


@pytest.mark.parametrize(
    ("text", "digits", "prefix"),
    [
        ("My policy is A U one one eight eight", 4, "AU"),
        ("It's H O seven three", 2, "HO"),  # the O after a letter is a letter, not a zero
        ("seven oh oh one", 4, ""),
        ("forty eight twenty one", 4, ""),
        ("double eight two", 3, ""),
        ("AU-1188", 4, "AU"),
        ("The last four of my account are four eight", 2, ""),
    ],
)
def test_the_number_a_turn_ends_on_is_counted_as_read(text: str, digits: int, prefix: str) -> None:
    number = trailing_number(text)
    assert number is not None
    assert (number.digits, number.prefix) == (digits, prefix)


@pytest.mark.parametrize(
    "text",
    ["The last four of my account are", "it happened on March fourteen", "about five hundred twenty", "yes"],
)
def test_words_that_end_on_no_identifier_have_no_number(text: str) -> None:
    assert trailing_number(text) is None


@pytest.mark.parametrize(
    ("text", "expectation", "progress"),
    [
        # asked for a policy number: six digits after the letters
        ("My policy is A U one one eight eight", POLICY, Progress.READING),
        ("My policy is A U one one eight eight two two", POLICY, Progress.COMPLETE),
        ("It's H O seven three", POLICY, Progress.READING),
        # asked for the last four
        ("four eight", LAST_FOUR, Progress.READING),
        ("four eight two one", LAST_FOUR, Progress.COMPLETE),
        ("forty eight twenty one", LAST_FOUR, Progress.COMPLETE),
        # nothing asked: the scenario's prefixes, then the caller's own "last four"
        ("My policy is A U one one eight eight", None, Progress.READING),
        ("It's R E two one five five six six", None, Progress.COMPLETE),
        ("The last four of my account are four eight", None, Progress.READING),
        ("The last four of my account are four eight two one", None, Progress.COMPLETE),
    ],
)
def test_a_number_short_of_the_length_asked_for_is_still_being_read(
    text: str, expectation: Expectation | None, progress: Progress
) -> None:
    assert number_progress(text, expectation, SCENARIO) is progress


@pytest.mark.parametrize(
    ("text", "expectation"),
    [
        # a correction after a whole number
        ("A U four eight two nine one four, sorry, no, nine one three", POLICY),
        ("my account ends in four eight two one", None),  # no length known: the other rules decide
        ("I have two cars", None),
        ("seven oh oh one double two three", LAST_FOUR),  # longer than asked: not ours to judge
    ],
)
def test_no_opinion_without_a_length_or_after_a_whole_number(
    text: str, expectation: Expectation | None
) -> None:
    assert number_progress(text, expectation, SCENARIO) is None


class _NoStt:
    name = "none"


def test_the_listener_holds_a_turn_that_stops_inside_the_number_it_was_asked_for() -> None:
    listener = CallerListener(_NoStt(), call_id="c1", phrases=("lookup_policy AU-482913",))  # type: ignore[arg-type]
    listener.partial = "four eight two one"
    # Four digit words read as a number said in full...
    assert listener.sounds_complete() and not listener.sounds_unfinished()
    # ...unless the agent asked for six of them: then the caller is pausing between groups.
    listener.expect(POLICY)
    assert listener.sounds_unfinished() and listener.sounds_clearly_unfinished()
    assert not listener.sounds_complete()
    listener.partial = "four eight two one one three"
    assert listener.sounds_complete() and not listener.sounds_unfinished()


def test_the_scenarios_letter_prefix_tells_the_length_before_anything_is_asked() -> None:
    listener = CallerListener(_NoStt(), call_id="c1", phrases=("lookup_policy AU-482913",))  # type: ignore[arg-type]
    listener.partial = "my policy is A U one one eight eight"
    assert listener.sounds_unfinished() and not listener.sounds_complete()
    listener.partial = "my policy is A U one one eight eight two two"
    assert listener.sounds_complete()
