"""The spoken-number and alphanumeric normaliser on many forms callers use: grouped digits, hyphenated number
words, letters with digits, self-corrections and natural dates of birth."""

from __future__ import annotations

from datetime import date

import pytest

from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.identifiers import parse_identifier, parse_last4
from voice.llm.local_brain.meta import Meta, classify
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.repairs import resolve_repairs
from voice.llm.local_brain.spoken import spoken_digits

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("sixty-six forty", "6640"),
        ("sixty six forty", "6640"),
        ("six six four oh", "6640"),
        ("sixty-six, forty", "6640"),
        ("forty-eight twenty-one", "4821"),
        ("eleven seventy-seven", "1177"),
        ("fifty-five thirty", "5530"),
        ("four eight two one", "4821"),
        ("double seven oh two", "7702"),
        ("seven oh oh one oh oh two", "7001002"),
        ("seventy oh one double oh two", "7001002"),
        ("4821", "4821"),
    ],
)
def test_digits_read_out_in_groups(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        # Groups of three as recognised speech has them (no commas): the shape picks "seven thirty | one
        # fifty-five" over "seven | thirty-one | fifty-five", which has a digit too few.
        ("H O seven thirty-one fifty-five", "HO-730155"),
        ("h o seven thirty one fifty five", "HO-730155"),
        ("h o seven thirty one five", "HO7315"),  # too short however it is read: as heard, the tool says so
        ("a u forty eight twenty nine thirteen", "AU-482913"),  # pairs stay pairs
        ("H O seven thirty, one fifty-five", "HO-730155"),
        ("h o seven three zero one five five", "HO-730155"),
        ("h o seven three oh one double five", "HO-730155"),
        ("it's h. o. 730155", "HO-730155"),
        ("HO-730155", "HO-730155"),
        ("a u four eight two nine one three", "AU-482913"),
        ("policy number a u forty-eight twenty-nine thirteen", "AU-482913"),
        ("r e two one five five six six", "RE-215566"),
        ("the number is four eight two nine one three", "482913"),
    ],
)
def test_letters_and_digits_become_the_identifier(said: str, expected: str) -> None:
    assert parse_identifier(said, "LL-DDDDDD") == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("four eight one two, no wait, sorry, four eight two one", "4821"),
        ("four eight two two, I mean four eight two one", "4821"),
        ("the last four are sixty-six forty", "6640"),
        ("account ending in eleven seventy-seven", "1177"),
    ],
)
def test_last_four_with_self_corrections(said: str, expected: str) -> None:
    assert parse_last4(resolve_repairs(said), asked=True) == expected


def test_a_short_correction_replaces_the_end_of_what_was_read() -> None:
    fixed = resolve_repairs("A U four eight two nine one four, sorry, no, nine one three")
    assert parse_identifier(fixed, "LL-DDDDDD") == "AU-482913"


def test_text_without_a_correction_is_left_alone() -> None:
    for text in ("No, that wasn't me at all.", "four eight two one, no I mean savings", "Jordan Rivera"):
        assert resolve_repairs(text) == text


def test_an_uncued_account_number_counts_only_when_it_is_all_the_digits() -> None:
    assert parse_last4("Jordan Rivera, four eight two one", bare=True) == "4821"
    assert parse_last4("Jordan Rivera, four eight two one", bare=False) is None
    assert parse_last4("born march fourteenth nineteen eighty five", bare=True) is None


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("March fourteenth, nineteen eighty-five", date(1985, 3, 14)),
        ("the fourteenth of March, eighty-five", date(1985, 3, 14)),
        ("fourteen March nineteen eighty five", date(1985, 3, 14)),
        ("march the fourteenth, nineteen eighty-five", date(1985, 3, 14)),
        ("3/14/85", date(1985, 3, 14)),
        ("03-14-1985", date(1985, 3, 14)),
        ("1985-03-14", date(1985, 3, 14)),
        ("I was born on the second of July, nineteen ninety", date(1990, 7, 2)),
        ("july second ninety", date(1990, 7, 2)),
        ("born November twenty-third, nineteen seventy-eight", date(1978, 11, 23)),
        ("nov 23 78", date(1978, 11, 23)),
    ],
)
def test_natural_dates_of_birth(said: str, born: date) -> None:
    assert parse_date(said, today=TODAY, past=True, require_year=True) == born


@pytest.mark.parametrize(
    ("said", "meta"),
    [
        ("hold on a second", Meta.HOLD),
        ("wait, one second", Meta.HOLD),
        ("hang on, let me find my card", Meta.HOLD),
        ("sorry, could you repeat that?", Meta.REPEAT),
        ("sorry?", Meta.REPEAT),
        ("what was that", Meta.REPEAT),
        ("what can you help me with?", Meta.CAPABILITIES),
        ("um what can you actually do for me on this line", Meta.CAPABILITIES),
        ("so what is it you can help me with", Meta.CAPABILITIES),
        ("can you help me with my balance", None),
        ("no, that's everything, thanks, bye", Meta.GOODBYE),
        ("that's all I needed, goodbye", Meta.GOODBYE),
        ("can I talk to an actual human being", Meta.HUMAN),
        ("operator", Meta.HUMAN),
        ("what's my balance", None),
        ("yes, that's it", None),
        ("hold on, what's my savings balance", None),
        ("Jordan Rivera, four eight two one", None),
        ("great, thank you", None),
    ],
)
def test_meta_utterances_are_told_from_requests(said: str, meta: Meta | None) -> None:
    assert classify(said) is meta


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("jordan rivera four eight two one", "Jordan Rivera"),  # recognised speech has no commas
        ("marcus chen checking account ending sixty six forty", "Marcus Chen"),
        ("hi is jordan rivera account four eight two one", "Jordan Rivera"),
        ("what's my balance", None),
        ("hold on a second", None),
    ],
)
def test_an_unprompted_name_ends_where_the_name_words_end(said: str, name: str | None) -> None:
    assert parse_name(said) == name


def test_an_answer_to_the_name_question_is_a_name_only_when_it_is_mostly_name_words() -> None:
    assert parse_name("uh it's priya shah", asked=True) == "Priya Shah"
    assert parse_name("no i never been to las vegas", asked=True) is None


def test_the_last_four_of_an_account_are_not_a_cards() -> None:
    said = "I lost my debit card. my name is jordan rivera and the last four of my account are four eight two one"
    assert parse_last4(said, noun="card") is None
    assert parse_last4(said, noun="account") == "4821"
    assert parse_last4("the card ending in four two one nine", noun="card") == "4219"


# --- read with pauses, corrected, or in numeric form -------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("it ends in twenty, forty-one", "2041"),  # pairs with a pause between them
        ("two, two, oh, five", "2205"),  # digits one by one with pauses; the oh is a zero
        ("oh no wait", ""),  # a sigh, not a zero
    ],
)
def test_digits_read_with_pauses(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


def test_a_thousands_comma_needs_three_digits_after_it() -> None:
    from voice.llm.local_brain.spoken import tokens

    assert tokens("I paid 2,500, then 40, and $1,000.25") == [
        "i",
        "paid",
        "2,500",
        ",",
        "then",
        "40",
        ",",
        "and",
        "$1,000.25",
    ]


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("born four nineteen sixty-two", "1962-04-19"),  # month, day, year as numbers
        ("my birthday is twelve thirty-one ninety nine", "1999-12-31"),
        ("date of birth June 3rd, '71", "1971-06-03"),
        ("born August ninth, nineteen sixty, oh no wait, sixty-one", "1961-08-09"),  # the year corrected
    ],
)
def test_dates_of_birth_in_numeric_and_corrected_forms(said: str, iso: str) -> None:
    from datetime import date

    from voice.llm.local_brain.dates import parse_date
    from voice.llm.local_brain.repairs import resolve_repairs

    found = parse_date(resolve_repairs(said), today=date(2026, 12, 6), past=True, require_year=True)
    assert found is not None and found.isoformat() == iso


def test_a_corrected_claim_number_is_the_last_one_said() -> None:
    said = "it's six four four one two two, sorry, no, six four four one two three"
    assert parse_identifier(said, "DDDDDD") == "644123"


def test_an_amount_is_not_an_account_ending() -> None:
    from voice.llm.local_brain.identifiers import parse_last4

    assert parse_last4("they billed me twelve forty-five twice", bare=True) is None
    assert parse_last4("Dana Wu, twelve forty-five", bare=True) == "1245"


def test_dollars_and_cents_said_as_two_numbers_after_a_charge() -> None:
    from voice.llm.local_brain.quantities import parse_amount

    assert parse_amount("the gym charged me sixty-four ninety this month") == 64.90
    assert parse_amount("it was twelve fifty each") == 12.50
    assert parse_amount("I was there at twelve fifty") is None  # no charge: a time, not money


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("born June the twelfth, seventy-two, no, sorry, the thirteenth", "1972-06-13"),  # the day corrected
        ("date of birth oh four, oh nine, nineteen eighty", "1980-04-09"),  # numbers led by "oh"
    ],
)
def test_dates_of_birth_with_a_corrected_day_or_led_by_oh(said: str, iso: str) -> None:
    from datetime import date

    from voice.llm.local_brain.dates import parse_corrected_date

    found = parse_corrected_date(said, today=date(2026, 12, 6), require_year=True)
    assert found is not None and found.isoformat() == iso


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("uh, my name? Dana Wu. Born May fifth, eighty.", "Dana Wu"),
        ("okay, here it is. Dana Wu, account two two oh five.", "Dana Wu"),
        ("my receipt says twelve forty-five", None),  # a noun phrase before digits is not a name
    ],
)
def test_names_said_next_to_the_details_that_identify(said: str, name: str | None) -> None:
    from voice.llm.local_brain.names import parse_name

    assert parse_name(said, asked=True) == name


def test_that_is_all_correct_is_not_a_goodbye() -> None:
    from voice.llm.local_brain.meta import Meta, classify

    assert classify("yes, that's all correct") is None
    assert classify("that's all right, thanks") is None
    assert classify("okay that's all, bye now") is Meta.GOODBYE


def test_a_pronoun_is_not_the_merchant() -> None:
    from voice.llm.local_brain.names import parse_merchant

    assert parse_merchant("they still took twenty dollars from me") is None
