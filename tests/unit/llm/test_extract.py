"""Argument extraction: typed values out of what callers say (speech as the recogniser writes it, typed text,
keypad digits), and their mapping onto the shipped tools' parameters."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from registries.snapshot import RegistrySnapshot
from voice.llm.base import DTMF_PREFIX, dtmf_message
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.enums import match_enum, parse_direction
from voice.llm.local_brain.extract import extract_arguments, is_descriptive
from voice.llm.local_brain.identifiers import id_shape, parse_identifier, parse_last4
from voice.llm.local_brain.keypad import dtmf_keys, keypad_value
from voice.llm.local_brain.names import parse_merchant, parse_name, parse_place
from voice.llm.local_brain.params import param_kind
from voice.llm.local_brain.quantities import parse_amount, parse_count
from voice.llm.local_brain.spoken import spoken_digits
from voice.llm.local_brain.yes_no import parse_flag, parse_yes_no

TODAY = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("four eight two one", "4821"),
        ("4821", "4821"),
        ("forty eight twenty one", "4821"),
        ("double five two one", "5521"),
        ("oh four one two", "0412"),
        ("seven seven oh two", "7702"),
        ("seven zero zero one zero zero one", "7001001"),
        ("the last four are nine oh three four", "9034"),
        ("triple seven one", "7771"),
        ("twelve thirty four", "1234"),
        ("no digits here", ""),
    ],
)
def test_digits_spoken_one_by_one(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("five hundred dollars", 500),
        ("transfer five hundred dollars from checking to savings", 500),
        ("$250.50", 250.5),
        ("250.50 dollars", 250.5),
        ("two hundred and fifty dollars", 250),
        ("can you put two hundred and fifty dollars into my savings", 250),
        ("a hundred bucks", 100),
        ("twelve hundred dollars", 1200),
        ("move 1200 dollars from my savings account into checking", 1200),
        ("1,200 dollars", 1200),
        ("one thousand two hundred and fifty dollars", 1250),
        ("ninety nine dollars and ninety five cents", 99.95),
        ("forty two dollars fifty", 42.5),
        ("fifty cents", 0.5),
        ("a hundred and twenty nine dollars", 129),
        ("twelve point five dollars", 12.5),
        ("transfer five hundred from checking to savings", 500),
    ],
)
def test_amounts(said: str, amount: float) -> None:
    assert parse_amount(said) == pytest.approx(amount)


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("two hundred and fifty", 250),
        ("forty two fifty", 42.5),
        ("300", 300),
        ("three hundred", 300),
    ],
)
def test_amount_as_the_answer_to_how_much(said: str, amount: float) -> None:
    assert parse_amount(said, asked=True) == pytest.approx(amount)


@pytest.mark.parametrize(
    "said",
    [
        "my card ending in four two one nine",  # a last-4, not money
        "the last four are four eight two one",
        "march fourteenth nineteen eighty five",  # a date
        "I want to move some money",
        "forty two fifty",  # ambiguous unless the amount was asked for
    ],
)
def test_no_amount_without_one(said: str) -> None:
    assert parse_amount(said) is None


@pytest.mark.parametrize(
    ("said", "count"),
    [("read me the last five charges", 5), ("my last three savings transactions", 3), ("the last 4", 4)],
)
def test_counts(said: str, count: int) -> None:
    assert parse_count(said, minimum=1, maximum=10) == count


def test_count_out_of_bounds_is_ignored() -> None:
    assert parse_count("the last fifty transactions", minimum=1, maximum=10) is None


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("march fourteenth nineteen eighty five", "1985-03-14"),
        ("my birthday is March fourteenth 1985 and my name is Jordan Rivera", "1985-03-14"),
        ("july second nineteen ninety", "1990-07-02"),
        ("November twenty third, nineteen seventy eight", "1978-11-23"),
        ("the fourteenth of march nineteen eighty five", "1985-03-14"),
        ("march 14 1985", "1985-03-14"),
        ("1985-03-14", "1985-03-14"),
        ("3/14/1985", "1985-03-14"),
        ("3/14/85", "1985-03-14"),
        ("january first two thousand and five", "2005-01-01"),
        ("june third twenty twenty", "2020-06-03"),
        ("december 3rd 2025", "2025-12-03"),
        ("september ninth nineteen oh five", "1905-09-09"),
        ("yesterday", "2026-11-19"),
        ("a pipe burst in my kitchen last night", "2026-11-19"),
        ("this morning", "2026-11-20"),
        ("today", "2026-11-20"),
        ("the day before yesterday", "2026-11-18"),
        ("last tuesday", "2026-11-17"),
        ("I had a car accident last tuesday", "2026-11-17"),
        ("on saturday", "2026-11-14"),
        ("last friday", "2026-11-13"),
        ("two days ago", "2026-11-18"),
        ("a week ago", "2026-11-13"),
        ("november third", "2026-11-03"),
        ("the 3rd of november", "2026-11-03"),
        ("december twenty fifth", "2025-12-25"),  # without a year: the most recent one
    ],
)
def test_dates(said: str, iso: str) -> None:
    assert parse_date(said, today=TODAY) == date.fromisoformat(iso)


@pytest.mark.parametrize(
    "said", ["may I ask something", "march on", "the fourth", "nothing", "twenty five march"]
)
def test_no_date_without_one(said: str) -> None:
    assert parse_date(said, today=TODAY, require_year=True) is None
    if said != "twenty five march":
        assert parse_date(said, today=TODAY) is None


def test_a_birth_date_needs_its_year() -> None:
    assert parse_date("march fourteenth", today=TODAY, require_year=True) is None
    assert parse_date("yesterday", today=TODAY, require_year=True) is None


@pytest.mark.parametrize(
    ("said", "shape", "value"),
    [
        ("a u four eight two nine one three", "LL-DDDDDD", "AU-482913"),
        ("my policy number is A U 4 8 2 9 1 3", "LL-DDDDDD", "AU-482913"),
        ("the policy number is HO-730155", "LL-DDDDDD", "HO-730155"),
        ("h o seven three oh one five five", "LL-DDDDDD", "HO-730155"),
        ("h oh seven three zero one five five", "LL-DDDDDD", "HO-730155"),
        ("I have my policy number here, it's R E two one five five six six", "LL-DDDDDD", "RE-215566"),
        ("policy is au482913", "LL-DDDDDD", "AU-482913"),
        (
            "look up policy four eight two nine one three",
            "LL-DDDDDD",
            "482913",
        ),  # digits only: tools accept it
        ("claim number seven zero zero one zero zero one", "DDDDDDD", "7001001"),
        ("who is the adjuster on claim 7001002", "DDDDDDD", "7001002"),
        ("seventy oh one oh oh two", "DDDDDDD", "7001002"),
    ],
)
def test_identifiers_read_out(said: str, shape: str, value: str) -> None:
    assert parse_identifier(said, shape) == value


def test_identifier_must_match_the_pattern() -> None:
    assert (
        parse_identifier("a u four eight two nine one three", "LL-DDDDDD", r"^[A-Z]{2}-\d{6}$") == "AU-482913"
    )
    assert parse_identifier("four eight two nine one three", "LL-DDDDDD", r"^[A-Z]{2}-\d{6}$") is None
    assert parse_identifier("I had a car accident", "LL-DDDDDD") is None


@pytest.mark.parametrize(
    ("description", "shape"),
    [
        ("The policy number, like AU-482913.", "LL-DDDDDD"),
        ("The seven digit claim number, like 7001001.", "DDDDDDD"),
        ("The transaction id.", None),
    ],
)
def test_identifier_shape_from_the_description(description: str, shape: str | None) -> None:
    assert id_shape("x_number", {"description": description}) == shape


@pytest.mark.parametrize(
    ("said", "asked", "last4"),
    [
        ("sure, it's Jordan Rivera, account ending in 4821", False, "4821"),
        ("my name is jordan rivera and the last four of my account are four eight two one", False, "4821"),
        ("lock the card that ends in 7702", False, "7702"),
        ("my card ending in four two one nine was stolen", False, "4219"),
        ("four eight two one", True, "4821"),
        ("four eight two one", False, None),  # no cue, not asked
        ("my date of birth is march fourteenth nineteen eighty five", True, None),  # a year, not a last-4
    ],
)
def test_last_four(said: str, asked: bool, last4: str | None) -> None:
    assert parse_last4(said, asked=asked) == last4


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("my name is jordan rivera", "Jordan Rivera"),
        ("my name is Jordan Rivera and the last four of my account are four eight two one", "Jordan Rivera"),
        ("this is Priya Shah, my date of birth is July second nineteen ninety", "Priya Shah"),
        ("Marcus Chen, born November twenty third, nineteen seventy eight", "Marcus Chen"),
        ("marcus chen born november twenty third nineteen seventy eight", "Marcus Chen"),
        ("sure, it's Jordan Rivera, account ending in 4821", "Jordan Rivera"),
        ("my birthday is March fourteenth 1985 and my name is Jordan Rivera", "Jordan Rivera"),
        ("hi this is mary-jane o'neil", "Mary-Jane O'neil"),
    ],
)
def test_names(said: str, name: str) -> None:
    assert parse_name(said) == name


@pytest.mark.parametrize(
    "said", ["I want to verify my identity", "someone stole my wallet", "it's stolen", "my card is cracked"]
)
def test_no_name_without_one(said: str) -> None:
    assert parse_name(said) is None


def test_a_name_given_as_the_answer() -> None:
    assert parse_name("jordan rivera", asked=True) == "Jordan Rivera"
    assert parse_name("um it's priya shah", asked=True) == "Priya Shah"
    assert parse_name("jordan", asked=True) is None  # a full name has two words


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("yes", True),
        ("yeah sure", True),
        ("yes that one was me", True),
        ("I did buy that, you can approve it", True),
        ("the gas station one is mine, I was driving through Orlando", True),
        ("go ahead", True),
        ("no", False),
        ("nope", False),
        ("no thanks", False),
        ("no I didn't make that purchase", False),
        ("I don't recognize the ElectroMart charge", False),
        ("that's not me, I've never been to Las Vegas", False),
        ("I did not", False),
        ("not sure", None),
        ("I don't know", None),
        ("the weather is nice", None),
    ],
)
def test_yes_no(said: str, answer: bool | None) -> None:
    assert parse_yes_no(said) is answer


@pytest.mark.parametrize(
    ("said", "asked", "value"),
    [
        ("can you rush the new card, I'm traveling next week", False, True),
        ("order a replacement with expedited shipping", False, True),
        ("standard shipping is fine for the new card", False, False),
        ("yes please send me a new card", False, None),  # a yes to the card, not to expedited delivery
        ("yes", True, True),
        ("no", True, False),
    ],
)
def test_flags_with_their_own_cues(said: str, asked: bool, value: bool | None) -> None:
    assert parse_flag("expedited", said, asked=asked) is value


@pytest.mark.parametrize(
    ("said", "values", "value"),
    [
        ("someone stole my wallet, please block my card", ["lost", "stolen", "damaged"], "stolen"),
        ("I lost my debit card", ["lost", "stolen", "damaged"], "lost"),
        ("can you freeze my card, I can't find it anywhere", ["lost", "stolen", "damaged"], "lost"),
        ("my card is cracked and won't work at the register", ["lost", "stolen", "damaged"], "damaged"),
        ("I had a car accident last tuesday", ["auto", "home", "theft", "water", "other"], "auto"),
        ("my car was stolen from the mall parking lot", ["auto", "home", "theft", "water", "other"], "theft"),
        ("a pipe burst in my kitchen last night", ["auto", "home", "theft", "water", "other"], "water"),
        ("a tree fell on my roof during the storm", ["auto", "home", "theft", "water", "other"], "home"),
        ("someone broke into my apartment", ["auto", "home", "theft", "water", "other"], "theft"),
        (
            "I was charged twice at Bella Pizza",
            ["duplicate", "wrong_amount", "not_received", "other"],
            "duplicate",
        ),
        (
            "I never got the package but I was still charged",
            ["duplicate", "not_received", "other"],
            "not_received",
        ),
        ("I cancelled that subscription and they charged me anyway", ["duplicate", "cancelled"], "cancelled"),
        ("does my policy cover flood damage", ["flood", "water_backup", "rental"], "flood"),
        ("is water backing up from the drain covered", ["flood", "water_backup", "rental"], "water_backup"),
        ("am I covered for a rental car", ["flood", "water_backup", "rental", "collision"], "rental"),
        ("am I covered for earthquakes", ["flood", "earthquake"], "earthquake"),
        (
            "how much personal property coverage do I have",
            ["personal_property", "liability"],
            "personal_property",
        ),
        ("what about my savings", ["checking", "savings"], "savings"),
        ("the weather", ["checking", "savings"], None),
    ],
)
def test_enum_values_by_word_or_synonym(said: str, values: list[str], value: str | None) -> None:
    assert match_enum(said, values) == value


@pytest.mark.parametrize(
    ("said", "direction"),
    [
        ("I'd like to move money from savings to checking", ("savings", "checking")),
        ("transfer five hundred dollars from checking to savings", ("checking", "savings")),
        ("can you put two hundred and fifty dollars into my savings", ("checking", "savings")),
        ("send a hundred bucks from checking over to savings please", ("checking", "savings")),
        ("take it out of my savings", ("savings", "checking")),
        ("move some money", (None, None)),
    ],
)
def test_transfer_direction(said: str, direction: tuple[str | None, str | None]) -> None:
    assert parse_direction(said, ["checking", "savings"]) == direction


@pytest.mark.parametrize(
    ("said", "asked", "place"),
    [
        ("I was rear-ended yesterday on Main Street and my policy is A U 4 8 2 9 1 3", False, "Main Street"),
        ("my car was stolen from the mall parking lot this morning", False, "The Mall Parking Lot"),
        ("on main street in bellevue", True, "Main Street in Bellevue"),
        (
            "at the corner of fifth avenue and pine street",
            False,
            "The Corner of Fifth Avenue and Pine Street",
        ),
        ("it happened at home in redmond", True, "Home in Redmond"),
        ("a pipe burst in my kitchen", False, None),
    ],
)
def test_places(said: str, asked: bool, place: str | None) -> None:
    assert parse_place(said, asked=asked) == place


@pytest.mark.parametrize(
    ("said", "merchant"),
    [
        ("I was charged twice at Bella Pizza", "Bella Pizza"),
        (
            "there's a charge from Lakeside Hardware for a hundred and twenty nine dollars that's wrong",
            "Lakeside Hardware",
        ),
        ("I moved money from my savings", None),
        ("the restaurant charged me twice", None),
    ],
)
def test_merchants(said: str, merchant: str | None) -> None:
    assert parse_merchant(said) == merchant


@pytest.mark.parametrize(
    ("said", "descriptive"),
    [
        ("I need to report an accident", False),
        ("I want to file a claim", False),
        ("I had a car accident last tuesday", True),
        ("a pipe burst in my kitchen last night", True),
        ("a u four eight two nine one three", False),
    ],
)
def test_descriptions_of_what_happened(said: str, descriptive: bool) -> None:
    assert is_descriptive(said) is descriptive


def test_dtmf_convention() -> None:
    assert DTMF_PREFIX == "[dtmf]"
    assert dtmf_message("4821#") == "[dtmf] 4821#"
    assert dtmf_keys("[dtmf] 4821#") == "4821"
    assert dtmf_keys("[DTMF]  12*50") == "12*50"
    assert dtmf_keys("four eight two one") is None


@pytest.mark.parametrize(
    ("name", "prop", "keys", "value"),
    [
        ("account_last4", {"type": "string"}, "4821", "4821"),
        ("account_last4", {"type": "string"}, "482", None),
        (
            "claim_number",
            {"type": "string", "description": "The claim number, like 7001001."},
            "7001002",
            "7001002",
        ),
        (
            "policy_number",
            {"type": "string", "description": "The policy number, like AU-482913."},
            "482913",
            "482913",
        ),
        ("date_of_birth", {"type": "string", "format": "date"}, "03141985", "1985-03-14"),
        ("amount", {"type": "number"}, "250*50", 250.5),
        ("amount", {"type": "number"}, "300", 300),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 10}, "5", 5),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 10}, "50", None),
        ("recognized", {"type": "boolean"}, "1", True),
        ("recognized", {"type": "boolean"}, "2", False),
    ],
)
def test_keypad_values(name: str, prop: dict[str, Any], keys: str, value: Any) -> None:
    assert keypad_value(name, prop, keys, today=TODAY) == value


@pytest.mark.parametrize(
    ("name", "prop", "kind"),
    [
        ("account_type", {"type": "string", "enum": ["checking", "savings"]}, "enum"),
        ("expedited", {"type": "boolean"}, "bool"),
        ("limit", {"type": "integer"}, "int"),
        ("amount", {"anyOf": [{"type": "number"}, {"type": "null"}]}, "amount"),
        ("date_of_birth", {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}, "date"),
        ("card_last4", {"anyOf": [{"type": "string"}, {"type": "null"}]}, "last4"),
        ("policy_number", {"type": "string"}, "identifier"),
        ("transaction_id", {"type": "string"}, "reference"),
        ("full_name", {"type": "string"}, "name"),
        ("merchant", {"type": "string"}, "merchant"),
        ("location", {"type": "string"}, "place"),
        ("reason", {"type": "string"}, "reason"),
        ("description", {"type": "string"}, "description"),
        ("favourite_colour", {"type": "string"}, "text"),
    ],
)
def test_parameter_kinds(name: str, prop: dict[str, Any], kind: str) -> None:
    assert param_kind(name, prop) == kind


def _params(snapshot: RegistrySnapshot, tool: str) -> dict[str, Any]:
    return snapshot.tools[tool].parameters


@pytest.mark.parametrize(
    ("tool", "said", "expected"),
    [
        (
            "verify_identity",
            "my name is Jordan Rivera and the last four of my account are four eight two one",
            {"full_name": "Jordan Rivera", "account_last4": "4821"},
        ),
        (
            "verify_identity",
            "Marcus Chen, born November twenty third, nineteen seventy eight",
            {"full_name": "Marcus Chen", "date_of_birth": "1978-11-23"},
        ),
        ("get_balance", "how much is in my savings", {"account_type": "savings"}),
        ("get_recent_transactions", "read me the last five charges on my checking account",
         {"account_type": "checking", "limit": 5, "kind": "charges"}),
        ("get_recent_transactions", "did my paycheck go in? read me the last half a dozen",
         {"limit": 6, "kind": "deposits"}),
        (
            "transfer_between_accounts",
            "transfer five hundred dollars from checking to savings",
            {"amount": 500, "from_account": "checking", "to_account": "savings"},
        ),
        ("lock_card", "my card ending in four two one nine was stolen", {"reason": "stolen", "card_last4": "4219"}),
        ("order_replacement_card", "can you rush the new card", {"expedited": True}),
        (
            "dispute_charge",
            "there's a charge from Lakeside Hardware for a hundred and twenty nine dollars that's wrong",
            {"merchant": "Lakeside Hardware", "amount": 129, "reason": "wrong_amount"},
        ),
        ("confirm_transaction", "no I didn't make that purchase", {"recognized": False}),
        ("lookup_policy", "my policy number is A U 4 8 2 9 1 3", {"policy_number": "AU-482913"}),
        (
            "get_coverage",
            "is water backing up from the drain covered on policy h o seven three oh one five five",
            {"coverage_type": "water_backup", "policy_number": "HO-730155"},
        ),
        ("get_claim_status", "I'm calling to check on claim number seven zero zero one zero zero one",
         {"claim_number": "7001001"}),
        (
            "file_claim",
            "I was rear-ended yesterday on Main Street and my policy is A U 4 8 2 9 1 3",
            {
                "policy_number": "AU-482913",
                "incident_type": "auto",
                "incident_date": "2026-11-19",
                "location": "Main Street",
                "description": "I was rear-ended yesterday on Main Street and my policy is A U 4 8 2 9 1 3",
            },
        ),
        ("file_claim", "I need to report an accident", {"incident_type": "auto"}),
        ("transfer_to_human", "can I talk to a real person", {"reason": "Can I talk to a real person"}),
        ("end_call", "that's all, thanks", {"reason": "That's all, thanks"}),
    ],
)  # fmt: skip
def test_arguments_for_the_shipped_tools(
    snapshot: RegistrySnapshot, tool: str, said: str, expected: dict[str, Any]
) -> None:
    assert extract_arguments(_params(snapshot, tool), said, today=TODAY) == expected


def test_the_asked_slot_takes_the_whole_answer(snapshot: RegistrySnapshot) -> None:
    file_claim = _params(snapshot, "file_claim")
    assert extract_arguments(file_claim, "on main street in bellevue", today=TODAY, asked="location") == {
        "location": "Main Street in Bellevue"
    }
    verify = _params(snapshot, "verify_identity")
    assert extract_arguments(verify, "jordan rivera", today=TODAY, asked="full_name") == {
        "full_name": "Jordan Rivera"
    }
    assert extract_arguments(
        verify, "four eight two one", today=TODAY, asked=["account_last4", "date_of_birth"]
    ) == {"account_last4": "4821"}
    transfer = _params(snapshot, "transfer_between_accounts")
    assert extract_arguments(transfer, "savings", today=TODAY, asked="from_account") == {
        "from_account": "savings",
        "to_account": "checking",
    }


def test_an_asked_enum_takes_other_only_when_the_caller_says_so(snapshot: RegistrySnapshot) -> None:
    file_claim = _params(snapshot, "file_claim")
    for answer in ("a bird flew in", "that's all, bye", "hold on a second"):
        assert "incident_type" not in extract_arguments(
            file_claim, answer, today=TODAY, asked="incident_type"
        )
    said = extract_arguments(file_claim, "something else", today=TODAY, asked="incident_type")
    assert said["incident_type"] == "other"


def test_values_are_validated_against_the_pattern() -> None:
    schema = {"properties": {"order_code": {"type": "string", "pattern": r"^[A-Z]{3}\d{4}$"}}}
    assert extract_arguments(schema, "it's a b c one two three four", today=TODAY) == {
        "order_code": "ABC1234"
    }
    assert extract_arguments(schema, "it's one two three four", today=TODAY) == {}
