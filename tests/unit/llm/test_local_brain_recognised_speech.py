"""Failure classes of the twelfth blind set (callers as a speech recogniser hands them over), in other words than
its callers': a word or a few said twice while the caller finds their place, contractions written without their
apostrophe, and digits heard as their homophones ("to", "for") inside a number read out, or before "hundred"."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.heard import as_heard
from voice.llm.local_brain.replies import REPLACEMENT_OFFER, offer_after
from voice.llm.local_brain.yes_no import beyond_yes

from .harness import SimulatedCall


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("priya priya shah", "priya shah"),
        ("i'd like to i'd like to lock my card", "i'd like to lock my card"),
        ("is my is my rent payment through", "is my rent payment through"),
        ("Could I speak to a a human being", "Could I speak to a human being"),
        ("no no, savings", "no, savings"),
    ],
)
def test_words_said_twice_are_read_once(said: str, meant: str) -> None:
    assert as_heard(said) == meant


@pytest.mark.parametrize(
    "said",
    [
        "nine nine oh three",  # digits repeat in numbers
        "born in twenty twenty",
        "m a r c u s, s s",  # spelled letters
        "my account ends in five five three zero",
    ],
)
def test_numbers_and_spelled_letters_keep_their_repeats(said: str) -> None:
    assert as_heard(said) == said


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("thats not right i didnt buy that", "that's not right i didn't buy that"),
        ("its marcus chen", "it's marcus chen"),
        ("yeah its priya", "yeah it's priya"),
        ("hi my names dana whitfield", "hi my name's dana whitfield"),
        ("the card has its chip cracked", "the card has its chip cracked"),  # the possessive stays
        ("the names on the statement", "the names on the statement"),
    ],
)
def test_contractions_without_their_apostrophe(said: str, meant: str) -> None:
    assert as_heard(said) == meant


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("ending nine oh three for", "ending nine oh three four"),
        ("one to seven seven", "one two seven seven"),
        ("h o seven three oh one five five", "h o seven three oh one five five"),
        ("r e to one five five six six", "r e two one five five six six"),
        ("send three hundred for rent", "send three hundred for rent"),
        ("a two for one offer", "a two for one offer"),
        ("move it to five five three zero", "move it to five five three zero"),
        ("from nine oh three four to four eight two one", "from nine oh three four to four eight two one"),
        ("put for hundred in savings", "put four hundred in savings"),
        ("send up to a hundred", "send up to a hundred"),
    ],
)
def test_digit_homophones_inside_a_number_read_out(said: str, meant: str) -> None:
    assert as_heard(said) == meant


def test_typed_text_keeps_its_case_and_punctuation() -> None:
    said = "Move $1,200.50 to savings, please. Thanks!"
    assert as_heard(said) == said


async def test_a_name_said_with_a_stumble_verifies(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("whats in my savings")
    reply = await sim.say("its marcus marcus chen date of birth november twenty third seventy eight")
    assert ("verify_identity", {"full_name": "Marcus Chen", "date_of_birth": "1978-11-23"}) in reply.calls


async def test_last_four_with_a_homophone_verifies(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("i need my i need my savings balance")
    reply = await sim.say("jordan rivera the last four four eight to one")
    assert reply.calls[0] == ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    assert reply.calls[1:] == [("get_balance", {"account_type": "savings"})]


async def test_a_policy_number_with_a_homophone_is_found(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("what does my renters cover for my belongings")
    reply = await sim.say("r e to one five five six six")
    assert reply.calls == [  # the number asked for is confirmed first, as the policy prompt says
        ("lookup_policy", {"policy_number": "RE-215566"}),
        ("get_coverage", {"coverage_type": "personal_property", "policy_number": "RE-215566"}),
    ]


@pytest.mark.parametrize(
    ("said", "rest"),
    [
        ("recent transactions please", "recent transactions"),
        ("okay checking balance", "checking balance"),
        ("yes please", ""),
        ("sure, go ahead", ""),
    ],
)
def test_what_an_answer_says_besides_its_yes(said: str, rest: str) -> None:
    assert beyond_yes(said) == rest


async def test_a_bare_request_with_please_is_a_request_not_a_yes(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("recent transactions please")
    assert "What can I help you with" not in asked.text
    reply = await sim.say("marcus chen six six four zero")
    assert reply.tools == ["verify_identity", "get_recent_transactions"]


async def test_yes_please_to_the_opening_question_still_asks_what_they_need(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say("yes please")
    assert not reply.calls and "help" in reply.text.lower()


def test_a_card_locked_on_the_way_is_offered_its_replacement() -> None:
    done = {"card_locked": True, "remaining": 0}
    assert offer_after(done, can_replace=True) == REPLACEMENT_OFFER
    assert offer_after({"card_locked": True, "remaining": 1}, can_replace=True) == ""  # more to review first
    assert offer_after(done, can_replace=False) == ""  # ordered already, or not this agent's to order
    assert offer_after({"card_locked": False, "remaining": 0}, can_replace=True) == ""


async def test_the_last_charge_reported_as_fraud_offers_a_card_sent_fast(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "fraud")
    await sim.say("i think somebody's been using my card")
    listed = await sim.say("marcus chen six six four zero")
    assert "list_flagged_transactions" in listed.tools
    reported = await sim.say("nope never bought any watch")
    assert reported.calls == [("confirm_transaction", {"transaction_id": "t504", "recognized": False})]
    assert reported.text.endswith(REPLACEMENT_OFFER)
    ordered = await sim.say("yeah overnight it if you can")
    assert ordered.calls == [("order_replacement_card", {"expedited": True})]


async def test_a_one_word_request_with_please_is_routed_without_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("checking please, thanks")
    assert "didn't catch" not in asked.text
    reply = await sim.say("jordan rivera nine oh three four")
    assert reply.calls[1:] == [("get_balance", {"account_type": "checking"})]


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("pri- priya shah", "priya shah"),
        ("my chec- checking account", "my checking account"),
        ("it was mon- no tuesday", "it was mon- no tuesday"),  # broken off for another word: kept
    ],
)
def test_a_word_broken_off_and_started_again_is_read_once(said: str, meant: str) -> None:
    assert as_heard(said) == meant
