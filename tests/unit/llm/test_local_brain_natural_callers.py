"""Failure classes of the eighth blind set, in other words than its callers': identifiers spelled with words or
pauses between letters, "double-oh" written with a hyphen, a person asked for with "just", a hold after a
sentence that only says how the caller is, a reading tool asked about two values in one breath, and another
team's request said in the same breath as this agent's (answered here first, then handed over with its own
words)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.enums import values_named_together
from voice.llm.local_brain.identifiers import parse_identifier
from voice.llm.local_brain.meta import Meta, asks_for_person, classify

from .harness import SimulatedCall


@pytest.mark.parametrize(
    ("said", "shape", "number"),
    [
        ("it's A as in apple, U as in uncle, four eight two nine one three", "LL-DDDDDD", "AU-482913"),
        ("H for Henry, O for Oliver, seven three oh one five five", "LL-DDDDDD", "HO-730155"),
        ("the letters are R, E, two one five, five six six", "LL-DDDDDD", "RE-215566"),
        ("policy's AU, four eight two nine one three", "LL-DDDDDD", "AU-482913"),
        ("claim seven double-oh one double-oh one", "DDDDDDD", "7001001"),
        ("seven triple-oh one one two", "DDDDDDD", "7000112"),
    ],
)
def test_identifiers_spelled_with_words_pauses_and_hyphens(said: str, shape: str, number: str) -> None:
    assert parse_identifier(said, shape) == number


def test_a_word_that_does_not_start_with_the_letter_spells_nothing() -> None:
    # "a for my" is not "A as in ...": the letter must open the word that explains it
    assert parse_identifier("I need a for my car, four eight two nine one three", "LL-DDDDDD") == "482913"


@pytest.mark.parametrize(
    ("said", "person"),
    [
        ("Honestly I just want a real person on the line.", True),
        ("I really only need a live agent", True),
        ("I'd just like someone from your team", True),
        ("I just want my deductible", False),
        ("I like somebody who explains things slowly", False),
    ],
)
def test_a_person_asked_for_with_just_or_really(said: str, person: bool) -> None:
    assert asks_for_person(said) is person


@pytest.mark.parametrize(
    ("said", "meta"),
    [
        ("We're all safe. Give me a minute, I have to dig out the paperwork.", Meta.HOLD),
        ("Nobody got hurt. Let me grab my wallet.", Meta.HOLD),
        ("Okay. Sorry. One second.", Meta.HOLD),
        ("It was on Monday. Hang on.", None),  # the first sentence answers when: not a bare hold
        ("The car is totaled. Hold on.", None),
    ],
)
def test_a_hold_after_a_sentence_that_only_says_how_the_caller_is(said: str, meta: Meta | None) -> None:
    assert classify(said) is meta


def test_values_named_together_in_the_callers_order() -> None:
    accounts = ["checking", "savings"]
    assert values_named_together("how's my savings looking, and my checking too?", accounts) == [
        "savings",
        "checking",
    ]
    assert values_named_together("move forty from checking to savings", accounts) == []
    assert values_named_together("what's in savings?", accounts) == []


async def test_a_reading_tool_asked_about_two_values_answers_both(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("my policy is A U four eight two nine one three")
    reply = await sim.say("am I covered for towing and also for a rental car?")
    asked = [(name, args.get("coverage_type")) for name, args in reply.calls if name == "get_coverage"]
    assert asked == [("get_coverage", "roadside"), ("get_coverage", "rental")]


async def test_another_teams_request_in_the_same_breath_is_handed_over_after_this_one(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven")
    reply = await sim.say(
        "What's left in my checking? Also my wallet got stolen at the gym, please block my cards."
    )
    assert reply.tools[:2] == ["get_balance", "handoff_card_services"]
    assert sim.agent == "card_services"
    assert "318" in reply.text  # the balance came first
    # The card team took up the words of that request, not the caller's whole line or a later one.
    assert reply.text.endswith("Which one do you mean?")


async def test_a_no_to_an_offer_then_a_question_of_its_own_is_a_new_request(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Marcus Chen, my account is six six four zero")
    locked = await sim.say("my card fell out of my pocket somewhere downtown, please lock it")
    assert "lock_card" in locked.tools and locked.text.endswith("order a replacement?")
    reply = await sim.say("no, not yet, it may turn up at the office. What's my checking balance though?")
    assert "order_replacement_card" not in reply.tools
    assert reply.tools[-2:] == ["handoff_concierge", "get_balance"]


# --- answers and details in forms the brain missed ----------------------------------------------------------
async def test_a_short_answer_that_disowns_the_purchase_is_a_no(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "fraud")
    await sim.say("Marcus Chen, account six six four zero")
    listed = await sim.say("go over the flagged stuff with me")
    assert listed.text.endswith("Did you make it?")
    answer = await sim.say("yeah, no, not me")
    assert answer.calls[:1] == [("confirm_transaction", {"transaction_id": "t504", "recognized": False})]


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("sorry, Marcus Chen, November twenty third seventy eight", "Marcus Chen"),
        ("well, Jordan Rivera, born March 14 1985", "Jordan Rivera"),
        ("okay, maybe try my date of birth, March 14 1985", None),  # a way of answering, not a name
    ],
)
def test_a_name_after_an_apology_and_words_that_are_no_name(said: str, name: str | None) -> None:
    from voice.llm.local_brain.names import parse_name

    assert parse_name(said, asked=True) == name


@pytest.mark.parametrize(
    ("said", "merchant", "name", "amount"),
    [
        ("Lakeside Hardware, one twenty-nine ninety-nine, but it should have been eighty dollars", "Lakeside Hardware", None, None),
        ("so Northwind Pharmacy, twenty-three fifteen, they charged the wrong price", "Northwind Pharmacy", None, None),
        ("Jordan Rivera, forty-eight twenty-one", None, "Jordan Rivera", None),  # who is calling
        ("Priya Shah, one one seven seven, I was charged twice", None, "Priya Shah", None),
        ("it should have been nine dollars but they charged me fourteen dollars", None, None, 14),
    ],
)  # fmt: skip
def test_a_charge_read_off_a_statement_names_the_merchant_not_the_caller(
    said: str, merchant: str | None, name: str | None, amount: float | None
) -> None:
    from voice.llm.local_brain.names import parse_merchant, parse_name
    from voice.llm.local_brain.quantities import parse_amount

    assert parse_merchant(said) == merchant
    assert parse_name(said) == name
    assert parse_amount(said) == amount


def test_a_price_it_should_have_had_is_a_wrong_amount() -> None:
    from voice.llm.local_brain.enums import match_enum

    reasons = ["duplicate", "wrong_amount", "not_received", "cancelled", "other"]
    assert match_enum("the lamp was only fifteen bucks on the shelf", reasons) == "wrong_amount"


async def test_the_other_either_or_detail_answers_a_retry(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    failed = await sim.say("Jordan Rivera, last four one one one one")
    assert failed.calls[-1][0] == "verify_identity" and "don't match" in failed.text
    retried = await sim.say("hmm, then go by my birthday instead, the fourteenth of March, eighty-five")
    assert retried.calls[:1] == [
        ("verify_identity", {"full_name": "Jordan Rivera", "date_of_birth": "1985-03-14"})
    ]
    assert "you're verified" in retried.text
