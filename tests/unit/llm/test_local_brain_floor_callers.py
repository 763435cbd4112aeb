"""Failure classes of the thirteenth blind set, in other words than its callers': no identifier spoken that the
call did not bring (an example value or another customer's record), a "no" that answers nothing ends nothing,
a person asked for and taken back with "actually", an answer to an offer followed by another request, who the
caller is said after the request, a refusal that never leads to the action refused, unusual goodbyes, and a
bill's payee as a recent charge."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.disclosure import FALLBACK, guard_reply, spoken_identifiers
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.identifiers import parse_last4
from voice.llm.local_brain.meta import Meta, asks_for_person, classify, says_goodbye
from voice.llm.local_brain.names import parse_name, parse_place
from voice.llm.local_brain.router import routing_text
from voice.llm.local_brain.second_requests import with_referents
from voice.llm.local_brain.slots import shape_in_words

from .harness import SimulatedCall


# --- privacy: nothing read out that this call did not bring -------------------------------------------------
def test_identifiers_in_a_reply_are_found_spelled_or_written() -> None:
    assert spoken_identifiers("Your policy is R E 2 1 5 5 6 6, right?") == ["215566"]
    assert spoken_identifiers("The claim 7002002 is open.") == ["7002002"]
    assert spoken_identifiers("Policy XY-120034 is active.") == ["120034"]
    # amounts, days and counts are no identifiers
    assert (
        spoken_identifiers("You have 12,800 dollars and 3 transactions since March 4th, 899.99 in all.") == []
    )


def test_a_sentence_with_an_identifier_nobody_said_is_not_spoken() -> None:
    messages = [{"role": "user", "content": "my roof leaks, the policy is R E two one five five six six"}]
    reply = "Thanks. The number looks like Z Q 9 0 8 0 7 1. What day did it happen?"
    assert guard_reply(reply, messages) == "Thanks. What day did it happen?"
    assert guard_reply("It's Z Q 9 0 8 0 7 1.", messages) == FALLBACK


def test_identifiers_the_caller_said_or_a_tool_returned_are_spoken() -> None:
    messages = [
        {"role": "user", "content": "the policy is R E two one five five six six"},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true, "claim_number": "7003003"}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"ok": true, "case": "CS-4B7E19"}'},
    ]
    for reply in (
        "I found policy R E 2 1 5 5 6 6.",
        "Your claim number is 7 0 0 3 0 0 3.",
        "Your case number is C S 4 B 7 E 1 9.",
    ):
        assert guard_reply(reply, messages) == reply
    # the call about to be made with it counts as brought too (read back before a confirmation)
    assert guard_reply("Policy 5 5 0 0 1 2, right?", [], extra=[{"policy_number": "AB-550012"}]).endswith(
        "right?"
    )


def test_where_to_find_an_identifier_is_answered_with_its_shape_never_a_value() -> None:
    assert shape_in_words("LL-DDDDDD") == "two letters and six digits"
    assert shape_in_words("DDDDDDD") == "seven digits"
    assert shape_in_words("L" * 20) is None


async def test_asked_where_the_number_is_and_reading_it_in_the_same_breath(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    asked = await sim.say("Hail smashed the skylight in our kitchen this morning.")
    assert asked.text.endswith("policy number?")
    hint = await sim.say("Where do I look for it?")
    assert "two letters and six digits" in hint.text
    assert not any(len(d) >= 3 for d in spoken_identifiers(hint.text))  # no value, not even an example's
    found = await sim.say("Is it on the card in my wallet? Yes, got it: H O seven three zero one five five.")
    assert ("lookup_policy", {"policy_number": "HO-730155"}) in found.calls


# --- wrongful actions -----------------------------------------------------------------------------------------
async def test_a_no_that_answers_no_question_does_not_end_the_call(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    told = await sim.say("Priya Shah, one one seven seven. What's in my savings?")
    assert "get_balance" in told.tools and not told.text.rstrip().endswith("?")
    reply = await sim.say("No, that's not right.")
    assert "end_call" not in reply.tools
    bye = await sim.say("Nope, I'm good, thanks.")  # a no with thanks closes, even when nothing was asked
    assert "end_call" in bye.tools


@pytest.mark.parametrize(
    ("said", "person"),
    [
        ("Could I get a live agent? Oh, actually, can you just read me my deductible?", False),
        ("Transfer me to a representative. Actually, what's my balance, just that.", False),
        ("I want a real person. Actually, I want a person right now.", True),
        (
            "Can I speak to somebody, actually, about my claim?",
            True,
        ),  # "actually" adds, it takes nothing back
    ],
)
def test_a_person_taken_back_by_actually_and_a_request_of_its_own(said: str, person: bool) -> None:
    assert asks_for_person(said) is person


# --- two requests in one line ---------------------------------------------------------------------------------
async def test_an_answer_to_the_offer_then_another_request_does_both_in_order(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Marcus Chen, account six six four zero")
    locked = await sim.say("my wallet got nicked on the bus, lock the card please")
    assert locked.text.endswith("order a replacement?")
    reply = await sim.say(
        "Sure, the slow delivery is fine. Also there's a purchase at a gadget shop I never made, nine hundred."
    )
    assert reply.tools[:2] == ["order_replacement_card", "handoff_fraud"]
    assert sim.agent == "fraud"
    assert "list_flagged_transactions" in reply.tools
    assert reply.tools.count("order_replacement_card") == 1  # the fraud team does not answer the yes again


# --- identity said after the request -----------------------------------------------------------------------
def test_a_name_followed_by_a_birth_date_in_a_later_sentence() -> None:
    said = "I'd like to send forty dollars to savings. Marcus Chen, November twenty third, nineteen seventy eight."
    assert parse_name(said) == "Marcus Chen"
    assert parse_name("It got stolen. Downtown Seattle, near the market.") is None


def test_account_digits_named_by_the_account_after_a_charge_story() -> None:
    said = "A store charged me about three hundred bucks twice. Priya Shah, savings one one seven seven."
    assert parse_last4(said, bare=True, noun="account") == "1177"


# --- refusals and goodbyes -----------------------------------------------------------------------------------
async def test_a_refusal_of_the_offered_replacement_never_orders_one(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Marcus Chen, account six six four zero")
    locked = await sim.say("my card went missing at the gym, lock it")
    assert locked.text.endswith("order a replacement?")
    reply = await sim.say("No new card needed, I'll use the other one. Nothing more.")
    assert "order_replacement_card" not in reply.tools
    assert "end_call" in reply.tools


@pytest.mark.parametrize(
    "said",
    [
        "Cool, see ya later.",
        "Alright, I'll let you get back to it.",
        "Perfect, I'll let you go now.",
        "That's the lot.",
    ],
)
def test_unusual_goodbyes(said: str) -> None:
    assert says_goodbye(said)
    assert classify(said) is Meta.GOODBYE


# --- everyday words --------------------------------------------------------------------------------------------
def test_a_bills_payee_is_a_recent_charge() -> None:
    assert routing_text("What did the gas company pull out?") == "what did the bill came out of my account?"
    assert "take out" in routing_text("can I take out fifty from checking?")  # no payee: a withdrawal stays


async def test_a_not_now_then_another_request_orders_nothing(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Marcus Chen, account six six four zero")
    locked = await sim.say("I dropped my card somewhere on the train, lock it")
    assert locked.text.endswith("order a replacement?")
    reply = await sim.say(
        "Not yet, someone may hand it in. But while I have you, what's my checking balance?"
    )
    assert "order_replacement_card" not in reply.tools
    assert "get_balance" in reply.tools


async def test_a_yes_that_answers_a_shipping_question_moves_no_money(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven")
    asked = await sim.say("move sixty dollars from checking to savings")
    assert asked.text.endswith("Shall I go ahead?")
    reply = await sim.say("Yes, express delivery.")
    assert "transfer_between_accounts" not in reply.tools
    assert reply.text.endswith("Shall I go ahead?")
    done = await sim.say("Yes.")
    assert "transfer_between_accounts" in done.tools


def test_a_crossing_of_a_numbered_street_is_a_place() -> None:
    assert parse_place("Friday night, at 5th and Union in Tacoma.") == "5th and Union in Tacoma"
    assert parse_place("at first and then it got worse") is None
    assert parse_place("I left at ninth and we drove home") is None


@pytest.mark.parametrize(
    ("said", "coverage"),
    [
        ("if I scraped the door on a pillar, is that covered?", "collision"),
        ("I ran into a bollard, would that be covered?", "collision"),
        ("hail dented the roof of my car, am I covered?", "comprehensive"),
    ],
)
def test_a_car_against_an_object_is_collision(said: str, coverage: str) -> None:
    values = ["liability", "collision", "comprehensive", "uninsured_motorist", "rental", "roadside"]
    assert match_enum(said, values) == coverage


def test_an_ask_that_points_back_is_read_with_the_statement_before_it() -> None:
    parts = ["My kid threw a ball through the window", "could you report it", "what's my deductible?"]
    assert with_referents(parts) == [
        parts[0],
        "could you report it: My kid threw a ball through the window",
        parts[2],
    ]
    assert with_referents(["what's my deductible", "and is it high?"]) == [
        "what's my deductible",
        "and is it high?",
    ]


async def test_file_it_and_then_another_teams_question_files_first(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say(
        "I clipped a bollard reversing out of the gym car park this morning and cracked a tail light. "
        "Can you file that for me, and then tell me my deductible? Policy A U four eight two nine one three."
    )
    assert "handoff_policy_questions" not in reply.tools  # the claim first; the deductible waits its turn
    assert sim.agent == "claims_intake"
