"""Choosing between Whisper's and pocketsphinx's digits, and reading Whisper's numbers as they were said."""

from __future__ import annotations

import pytest

from voice.stt.digit_choice import DigitHints, choose_digits, digit_hints, digit_runs, reading_hint
from voice.stt.final_pass import final_text
from voice.stt.whisper_text import spoken_numbers

BANKING = DigitHints(frozenset({4}))
INSURANCE = DigitHints(frozenset({4, 6, 7}), (("AU", 6), ("RE", 6)))


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("Jordan Rivera, four eight two one.", ["4821"]),
        ("it's seven, zero, zero, one, zero, zero, one", ["7001001"]),
        ("ends in sixty six forty", ["6640"]),
        ("eleven seventy seven", ["1177"]),
        ("seven oh oh one", ["7001"]),
        ("my last four are four eight two one", ["4821"]),  # "last four" names the digits
        ("born March fourteen, nineteen eighty five", []),  # a date
        ("it was two hundred and twenty dollars", []),  # an amount
        ("forty five dollars", []),
        ("oh well, no numbers", []),
        ("account and six six four zero", ["6640"]),  # "and" alone is no amount
    ],
)
def test_digit_runs(text: str, digits: list[str]) -> None:
    assert [run.digits for run in digit_runs(text)] == digits


def test_hints_are_the_identifier_lengths_of_the_phrases() -> None:
    hints = digit_hints(
        (
            "my policy is AU-482913",
            "R E 2 1 5 5 6 6",
            "status of claim 7001002",
            "born in 1985",  # a year: not an identifier
            "I live at 220 Lake Street",  # an address
            "move $1,200 to savings",  # an amount
        )
    )
    assert hints.lengths == {4, 6, 7}
    assert hints.expected("RE") == {6} and hints.expected("AU") == {6}
    assert hints.expected("") == {4, 6, 7}
    assert digit_hints(()).lengths == {4}  # the last four digits, asked for everywhere


@pytest.mark.parametrize(
    ("whisper", "pocketsphinx", "hints", "chosen"),
    [
        # a repeated digit added by Whisper: pocketsphinx's length is the identifiers'
        (
            "Marcus Chen, six six four zero zero.",
            "marcus chen six six four zero",
            BANKING,
            "Marcus Chen, six six four zero.",
        ),
        # a digit lost by Whisper, with the prefix's length known
        (
            "policy R E two one five five six",
            "policy r e two one five five six six",
            INSURANCE,
            "policy R E two one five five six six",
        ),
        # a digit added to a prefixed id: seven is a claim's length, but R E's numbers have six
        (
            "R E two one five five six six six",
            "r e two one five five six six",
            INSURANCE,
            "R E two one five five six six",
        ),
        (
            "last four four eight two one",
            "last four four eight two one",
            BANKING,
            "last four four eight two one",
        ),
        # Whisper's length fits: kept, whatever pocketsphinx heard
        ("it's four eight two one", "it's four eight two", BANKING, "it's four eight two one"),
        (
            "A U four eight two three one three",
            "a u four eight two nine one three",
            INSURANCE,
            "A U four eight two three one three",
        ),
        # neither fits, or another number entirely: kept
        ("account six six four", "account six six four zero zero", BANKING, "account six six four"),
        ("card eight eight one", "card one two three four", BANKING, "card eight eight one"),
        # not exactly one string on each side: kept
        (
            "four eight one two, no, four eight two one one",
            "four eight one two no four eight two one",
            BANKING,
            "four eight one two, no, four eight two one one",
        ),
        ("six six four zero zero", "", BANKING, "six six four zero zero"),
        ("no digits here", "four eight two one", BANKING, "no digits here"),
    ],
)
def test_choose_digits(whisper: str, pocketsphinx: str, hints: DigitHints, chosen: str) -> None:
    assert choose_digits(whisper, pocketsphinx, hints) == chosen


@pytest.mark.parametrize(
    ("written", "heard", "spoken"),
    [
        ("sorry, no, 913.", "sorry no nine one three", "sorry, no, nine one three."),
        ("220 Lake Street", "two twenty lake street", "two twenty Lake Street"),
        ("220 Lake Street", "two hundred twenty lake street", "two hundred twenty Lake Street"),
        ("220 Lake Street", "", "two hundred twenty Lake Street"),  # no hint: the cardinal
        ("born in 1990", "born in one nine nine zero", "born in one nine nine zero"),
        ("born in 1990", "born in nineteen ninety", "born in nineteen ninety"),
        ("on November 28", "november twenty two eight", "on November twenty eight"),  # two digits: left alone
        ("it's 4821", "it's forty eight twenty one", "it's forty eight twenty one"),  # in pairs, as said
        ("it's 4821", "it's for a to one", "it's four eight two one"),  # no reading in it: digit by digit
    ],
)
def test_a_number_is_read_as_pocketsphinx_heard_it(written: str, heard: str, spoken: str) -> None:
    assert spoken_numbers(written, reading_hint(heard)) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Jordan Rivera, 4A21.", "Jordan Rivera, four eight two one."),
        ("Jordan Rivera, 4a2-1.", "Jordan Rivera, four eight two one."),
        ("it's 7O01", "it's seven zero zero one"),
        ("Jordan Rivera, 482, 1.", "Jordan Rivera, four eight two one."),
        ("It's 7, 0, 0, 1, 0, 0, 2.", "It's seven zero zero one zero zero two."),
        ("I have 2, 3 questions", "I have two, three questions"),
        ("At the house, 14-Birch Lane", "At the house, fourteen Birch Lane"),
        ("a 24-hour line", "a twenty four hour line"),
    ],
)
def test_more_written_forms(written: str, spoken: str) -> None:
    assert spoken_numbers(written) == spoken


def test_the_final_text_combines_the_readings_and_the_choice() -> None:
    phrases = ("R E 2 1 5 5 6 6", "my account ends in 4821")
    assert final_text("Policy RE 215-566.", phrases, "policy r e two one five five six six") == (
        "Policy R E two one five five six six."
    )
    assert final_text("Marcus Chen, 66400.", phrases, "marcus chen six six four zero") == (
        "Marcus Chen, six six four zero."
    )
    # A looping copy is dropped, but digits said three times in a row stay
    assert (
        final_text("Jordan Rivera, 4821, Jordan Rivera, 4821,", phrases)
        == "Jordan Rivera, four eight two one"
    )
    assert final_text("It's 7000101.", phrases) == "It's seven zero zero zero one zero one."


def test_the_prompt_spells_identifiers_as_callers_say_them() -> None:
    from voice.stt.whisper_prompt import scenario_prompt

    prompt = scenario_prompt(("my policy is AU-482913", "Jordan Rivera", "Contoso Insurance"))
    assert "A U four eight two nine one three" in prompt and "482913" not in prompt
    assert spoken_numbers("two twenty-lake street, twenty-one") == "two twenty lake street, twenty-one"
