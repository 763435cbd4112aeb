"""What the stored transcript and call events may keep of what was said: each kind of PII masked, written or
spoken as the recogniser transcribes it, and what merely looks like it left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registries.scenariostore.schema import RedactionSpec
from registries.toolstore.decorator import ToolSpec, spec_of
from registries.toolstore.tools.accounts import get_balance
from registries.toolstore.tools.identity import verify_identity
from voice.session.redaction import (
    REDACTED,
    REDACTION_OFF,
    RedactionPolicy,
    luhn_valid,
    redact_text,
    redact_tool_call,
    redact_turn,
)
from voice.transcript import ToolCallRecord, TranscriptTurn

ALL = RedactionPolicy()
TODAY = date(2026, 1, 10)


def redact(text: str, policy: RedactionPolicy = ALL) -> str:
    return redact_text(text, policy, today=TODAY)


def tool(fn: object) -> ToolSpec:
    spec = spec_of(fn)
    assert spec is not None
    return spec


# --- cards ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "said",
    [
        "my card number is 4111 1111 1111 1111",
        "my card number is 4111111111111111",
        "it's 4111-1111-1111-1111",
        "4111, 1111, 1111, 1111, that's it",
        "four one one one one one one one one one one one one one one one",
        "forty one eleven, eleven eleven, eleven eleven, eleven eleven",
    ],
)
def test_a_card_number_keeps_only_its_last_four(said: str) -> None:
    redacted = redact(said)
    assert "[card ••••1111]" in redacted
    assert "4111" not in redacted and "four one one one" not in redacted


def test_a_card_number_followed_by_its_expiry_is_still_found() -> None:
    assert redact("4111 1111 1111 1111 12 27") == "[card ••••1111] 12 27"


def test_a_long_number_that_fails_luhn_is_not_a_card() -> None:
    assert not luhn_valid("4111111111111112")
    assert redact("the reference is 4111111111111112") == "the reference is 4111111111111112"


def test_said_about_a_card_a_misheard_number_is_masked_anyway() -> None:
    assert redact("my card number is 4111 1111 1111 1112") == "my card number is [card ••••1112]"


def test_a_card_security_code_is_masked() -> None:
    assert redact("the security code is 123") == "the security code is [card code]"
    assert redact("CVV four five six") == "CVV [card code]"


def test_a_cards_last_four_names_the_card_and_stays() -> None:
    said = "my card ending in four two one nine was stolen"
    assert redact(said) == said


# --- accounts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "My name is Jordan Rivera and the last four of my account are four eight two one.",
            "My name is Jordan Rivera and the last four of my account are [account].",
        ),
        (
            "sure, it's Jordan Rivera, account ending in 4821",
            "sure, it's Jordan Rivera, account ending in [account]",
        ),
        ("I'm Jordan Rivera, last four 4821.", "I'm Jordan Rivera, last four [account]."),
        ("my checking account number is 12345678", "my checking account number is [account]"),
        ("routing number zero two one zero zero zero zero two one", "routing number [account]"),
        ("12345678 is my savings account", "[account] is my savings account"),
        ("my policy number is A U 4 8 2 9 1 3", "my policy number is A U [account]"),
    ],
)
def test_account_numbers_and_last_fours_are_masked_without_digits(said: str, expected: str) -> None:
    assert redact(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "I'm calling about 2 accounts",
        "I have two accounts with you",
        "move 1200 dollars from my savings account into checking",
        "I opened the account in 2024",
        "I opened my account in twenty twenty four",
        "my claim number is 7 0 0 1 0 0 1",
        "call me back at extension 123456",  # six digits, but not about an account
    ],
)
def test_numbers_not_about_an_account_stay(said: str) -> None:
    assert redact(said) == said


# --- social security numbers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("it's 123-45-6789", "it's [ssn]"),
        ("my social is 123 45 6789", "my social is [ssn]"),
        (
            "social security number one two three four five six seven eight nine",
            "social security number [ssn]",
        ),
        ("my SSN is 123456789", "my SSN is [ssn]"),
        ("the last four of my social are 6789", "the last four of my social are [ssn]"),
    ],
)
def test_social_security_numbers_are_masked(said: str, expected: str) -> None:
    assert redact(said) == expected


def test_nine_digits_without_a_social_security_context_are_not_an_ssn() -> None:
    assert redact("order 123456789 arrived") == "order 123456789 arrived"


# --- dates of birth ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "this is Priya Shah, my date of birth is July second nineteen ninety",
            "this is Priya Shah, my date of birth is [dob]",
        ),
        ("Marcus Chen, born November twenty third, nineteen seventy eight", "Marcus Chen, born [dob]"),
        (
            "my birthday is March fourteenth 1985 and my name is Jordan",
            "my birthday is [dob] and my name is Jordan",
        ),
        ("I was born on July second nineteen ninety five.", "I was born on [dob]."),
        ("date of birth 03/14/1985, thanks", "date of birth [dob], thanks"),
        ("DOB: 1985-03-14", "DOB: [dob]"),
        ("born on the fourteenth of march", "born on the [dob]"),
    ],
)
def test_dates_of_birth_are_masked(said: str, expected: str) -> None:
    assert redact(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "I was charged twice on March 3rd 2024",
        "I've been a customer since 2024",
        "the tree fell on November third",
        "I was born in Ohio and moved here yesterday",
    ],
)
def test_dates_that_are_not_a_birth_date_stay(said: str) -> None:
    assert redact(said) == said


# --- policy --------------------------------------------------------------------------------------------
def test_only_the_kinds_a_policy_covers_are_masked() -> None:
    said = "card 4111111111111111, account 12345678, ssn 123-45-6789, born on July 2nd 1990"
    cards_only = RedactionPolicy(kinds=frozenset({"card"}))
    assert redact(said, cards_only) == (
        "card [card ••••1111], account 12345678, ssn 123-45-6789, born on July 2nd 1990"
    )
    assert redact(said, REDACTION_OFF) == said
    assert redact(said) == "card [card ••••1111], account [account], ssn [ssn], born on [dob]"


def test_a_scenarios_redaction_overrides_the_default() -> None:
    assert ALL.for_scenario(None) is ALL
    assert REDACTION_OFF.for_scenario(None) is REDACTION_OFF
    assert not ALL.for_scenario(RedactionSpec(enabled=False)).enabled
    only_dtmf = REDACTION_OFF.for_scenario(RedactionSpec(kinds=("dtmf",)))
    assert only_dtmf.covers("dtmf") and not only_dtmf.covers("card")


# --- turns and tool calls ------------------------------------------------------------------------------
AT = datetime(2026, 1, 10, tzinfo=UTC)


def turn(**fields: object) -> TranscriptTurn:
    base: dict[str, object] = {
        "call_id": "c1",
        "seq": 0,
        "speaker": "caller",
        "kind": "speech",
        "text": "",
        "started_at": AT,
        "ended_at": AT,
    }
    return TranscriptTurn.model_validate({**base, **fields})


def no_tools(name: str) -> ToolSpec | None:
    return None


def test_keyed_digits_are_masked() -> None:
    keyed = turn(kind="dtmf", text="[dtmf] 4821#")
    assert redact_turn(keyed, ALL, no_tools).text == "[dtmf]"
    assert redact_turn(keyed, RedactionPolicy(kinds=frozenset({"card"})), no_tools).text == "[dtmf] 4821#"


def test_an_agent_turn_is_masked_as_heard_and_as_meant() -> None:
    said = turn(
        speaker="agent",
        kind="reply",
        text="I have your card 4111 1111",
        full_text="I have your card 4111 1111 1111 1111 on file.",
        interrupted=True,
    )
    redacted = redact_turn(said, ALL, no_tools)
    assert redacted.full_text == "I have your card [card ••••1111] on file."
    assert redacted.text == said.text  # eight digits are not a card number


def verify_call() -> ToolCallRecord:
    return ToolCallRecord(
        id="t1",
        name="verify_identity",
        arguments={"full_name": "Jordan Rivera", "account_last4": "4821"},
        ok=True,
        output={"verified": True, "first_name": "Jordan"},
    )


def test_a_sensitive_tool_keeps_its_field_names_and_loses_every_value() -> None:
    redacted = redact_tool_call(verify_call(), tool(verify_identity), ALL)
    assert redacted.arguments == {"full_name": REDACTED, "account_last4": REDACTED}
    assert redacted.output == {"verified": REDACTED, "first_name": REDACTED}
    assert redacted.ok and redacted.name == "verify_identity"
    garbled = verify_call().model_copy(update={"arguments": '{"full_name": "Jordan Rivera", "account_l'})
    assert redact_tool_call(garbled, tool(verify_identity), ALL).arguments == REDACTED


def test_a_tools_sensitive_fields_are_masked_at_any_depth_and_the_rest_kept() -> None:
    record = ToolCallRecord(
        id="t2",
        name="get_balance",
        arguments={"account_type": "checking"},
        ok=True,
        output={
            "account_type": "checking",
            "balance_cents": 245075,
            "balance_text": "2,450 dollars and 75 cents",
            "account_last4_spoken": "4 8 2 1",
            "history": [{"balance_cents": 1}],
        },
    )
    redacted = redact_tool_call(record, tool(get_balance), ALL)
    assert redacted.arguments == {"account_type": "checking"}
    assert redacted.output == {
        "account_type": "checking",
        "balance_cents": REDACTED,
        "balance_text": REDACTED,
        "account_last4_spoken": REDACTED,
        "history": [{"balance_cents": REDACTED}],
    }


def test_other_tools_values_get_the_text_rules() -> None:
    record = ToolCallRecord(
        id="t3",
        name="transfer_to_human",
        arguments={"reason": "wants to dispute card 4111111111111111"},
        ok=True,
        output={"transferring": True},
    )
    redacted = redact_tool_call(record, None, ALL)
    assert redacted.arguments == {"reason": "wants to dispute card [card ••••1111]"}
    assert redacted.output == {"transferring": True}


def test_without_the_sensitive_tools_kind_tool_fields_are_kept() -> None:
    policy = RedactionPolicy(kinds=frozenset({"card", "account", "ssn", "dob", "dtmf"}))
    assert redact_tool_call(verify_call(), tool(verify_identity), policy).arguments == {
        "full_name": "Jordan Rivera",
        "account_last4": "4821",
    }
    assert redact_tool_call(verify_call(), tool(verify_identity), REDACTION_OFF) == verify_call()


def test_a_turns_tool_calls_are_masked_by_their_tools_flags() -> None:
    said = turn(
        speaker="agent", kind="reply", text="Thank you, Jordan, you're verified.", tool_calls=[verify_call()]
    )
    specs = {"verify_identity": tool(verify_identity)}
    redacted = redact_turn(said, ALL, specs.get)
    assert redacted.tool_calls[0].arguments == {"full_name": REDACTED, "account_last4": REDACTED}
    assert said.tool_calls[0].arguments["account_last4"] == "4821"  # type: ignore[index]  # the original is untouched


@pytest.mark.parametrize(
    "said",
    [
        "my name is jordan rivera and the last four on my account are four eight two one eight",
        "the last four of my account are 48218",
    ],
)
def test_a_last_four_heard_with_an_extra_digit_is_masked_all_the_same(said: str) -> None:
    """A recogniser's partial (or a misheard final) may add a digit to a last four: it is still the caller's
    account digits and must not pass in clear."""
    masked = redact(said)
    assert "four eight two one" not in masked and "4821" not in masked, masked
    assert masked.endswith("[account]"), masked
