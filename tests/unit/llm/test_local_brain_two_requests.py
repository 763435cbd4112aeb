"""Two requests in one breath are both answered, in the caller's order; a declined clause asks for nothing. And
how a question's or a statement's own words steer routing: a "what if" is a coverage question, a loss reported
with its time is a new claim, and "can I file that?" outweighs a slot the same words would fill."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from apps.evals.text_run import TextCall
from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.asked import asks_in_so_many_words
from voice.llm.local_brain.second_requests import clauses

from .harness import SimulatedCall


def tool_calls(call: TextCall) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, dict(c.arguments or {})) for t in call.turns for c in t.tool_calls]  # type: ignore[arg-type]


def test_an_utterance_is_cut_where_a_second_request_starts() -> None:
    assert clauses("How much is in savings, and could you also move fifty to checking?") == [
        "How much is in savings",
        "could you also move fifty to checking?",
    ]
    assert clauses("I went to the store and bought milk") == ["I went to the store and bought milk"]


@pytest.mark.parametrize(
    ("said", "asks"),
    [
        ("can I file that?", True),
        ("I'd like to report it", True),
        ("what's the deductible on it?", True),  # a question about a topic a tool answers
        ("it happened on Tuesday near the mall", False),
        ("H O seven three zero one five five", False),
    ],
)
def test_asking_in_so_many_words(said: str, asks: bool) -> None:
    assert asks_in_so_many_words(said) is asks


async def test_both_requests_are_answered_in_the_order_asked(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one")
    both = await sim.say("How much do I have in checking, and then read me my last three transactions please")
    assert [name for name, _ in both.calls] == ["get_balance", "get_recent_transactions"]
    assert both.calls[1][1].get("limit") == 3


async def test_a_declined_clause_is_not_a_second_request(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Jordan Rivera, four eight two one")
    reply = await sim.say(
        "No replacement card for me. But Harbor Books took thirty-eight sixty from me twice."
    )
    assert "order_replacement_card" not in reply.tools
    assert reply.tools[0] == "dispute_charge"


async def test_a_what_if_is_a_coverage_question_not_a_new_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("my policy is H O seven three zero one five five")
    reply = await sim.say("and what if a pipe bursts and floods the laundry room?")
    assert "handoff_claims_intake" not in reply.tools


async def test_a_loss_reported_with_its_time_is_a_new_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("report-after-question", snapshot, "insurance", live_brain, redis)
    call.greet()
    await call.say("speech", "Does my homeowners policy cover hail? It's H O seven three zero one five five.")
    await call.say("speech", "Good to know. Hail smashed two of my skylights last night.")
    names = [name for name, _ in tool_calls(call)]
    assert names[-1] in ("file_claim", "lookup_policy") and "handoff_claims_intake" in names
    assert call.conv.agent.name == "claims_intake"


async def test_can_i_file_that_outweighs_the_coverage_slot_it_also_fills(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("file-that", snapshot, "insurance", live_brain, redis)
    call.greet()
    await call.say("speech", "Is my car covered for something like this? A U four eight two nine one three.")
    await call.say("speech", "A deer ran into my passenger door on Sunday on the highway. Can I file that?")
    assert "handoff_claims_intake" in [name for name, _ in tool_calls(call)]


@pytest.mark.parametrize(
    "said",
    [
        "I put in a claim last month for the hail damage, did anybody ever look at it?",
        "My claim from October, who is handling it? I haven't heard anything.",
    ],
)
async def test_a_claim_already_filed_is_a_status_question_not_a_new_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, said: str
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say(said)
    assert reply.tools[:1] == ["handoff_policy_questions"]


async def test_a_claim_to_put_in_is_a_new_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say("A tree fell on my fence yesterday and I want to put in a claim for it.")
    assert "handoff_policy_questions" not in reply.tools
    assert reply.text.endswith("policy number?")


async def test_a_yes_that_opens_a_later_sentence_answers_did_you_make_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "fraud")
    await sim.say("Marcus Chen, born November twenty third nineteen seventy eight")
    listed = await sim.say("what do you have flagged")
    assert listed.text.endswith("Did you make it?")
    answer = await sim.say("The watch? Hmm. Oh, actually yes, my wife and I picked it out together.")
    assert answer.calls[:1] == [("confirm_transaction", {"transaction_id": "t504", "recognized": True})]


async def test_keys_the_caller_announced_fill_what_they_announced_not_the_open_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("I want to move money to savings. Jordan Rivera. Let me key in my account number.")
    assert asked.calls == [] and asked.text.startswith("How much")
    keyed = await sim.say("[dtmf] 4821")
    assert keyed.calls[0] == ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    assert "4821" not in keyed.text and "4,821" not in keyed.text
    amount = await sim.say("Two hundred dollars from checking.")
    assert "move 200 dollars from your checking to your savings" in amount.text


async def test_who_the_caller_is_is_verified_even_when_the_rest_is_out_of_scope(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say("Priya Shah, account one one seven seven. I'd like to ask about a car loan.")
    assert reply.calls == [("verify_identity", {"full_name": "Priya Shah", "account_last4": "1177"})]


@pytest.mark.parametrize(
    ("said", "tail"),
    [
        ("I wanted to, um, move some, no actually, just tell me what's in my savings", "just tell me what's in my savings"),
        ("my policy is A U four eight two nine three one, no wait, sorry, nine one three", None),  # a detail
    ],
)  # fmt: skip
def test_what_the_caller_asks_after_taking_back_what_they_started(said: str, tail: str | None) -> None:
    from voice.llm.local_brain.meta_turn import taken_back

    assert taken_back(said) == tail


async def test_where_to_find_the_number_gets_a_hint_and_the_question_stands(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    asked = await sim.say("is rental car coverage part of my auto policy?")
    assert asked.text.endswith("policy number?")
    hint = await sim.say("hmm, where would I find that number?")
    # what it looks like, never an example value (it may be another customer's)
    assert (
        hint.calls == []
        and "two letters and six digits" in hint.text
        and hint.text.endswith("policy number?")
    )
    assert "4 8 2 9 1 3" not in hint.text
    answered = await sim.say("found it, A U four eight two nine one three")
    assert ("get_coverage", {"policy_number": "AU-482913", "coverage_type": "rental"}) in answered.calls


def test_a_name_said_again_in_full() -> None:
    from voice.llm.local_brain.names import parse_name

    assert parse_name("yes this is Priya, Priya Shah, calling about my savings") == "Priya Shah"


def test_wait_then_an_answer_is_an_answer_not_a_hold() -> None:
    from voice.llm.local_brain.meta import Meta, classify

    assert classify("Oh wait. Yes, that one was me, I bought a blender") is None
    assert classify("oh wait, hang on a second") is Meta.HOLD


def test_a_corrected_amount_is_read_near_the_one_it_replaces() -> None:
    from voice.llm.local_brain.quantities import parse_amount

    assert parse_amount("three hundred to savings, actually no, make that two fifty") == 250
    assert parse_amount("it was twelve dollars, no sorry, nine fifty") == 9.5


@pytest.mark.parametrize("said", ["the fastest shipping you have", "quickest way possible please"])
def test_superlatives_of_speed_are_expedited(said: str) -> None:
    from voice.llm.local_brain.yes_no import parse_flag

    assert parse_flag("expedited", said, asked=False) is True


async def test_identity_and_two_requests_in_one_breath_are_all_taken(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(
        "Jordan Rivera, account four eight two one. What's in my savings, and also read me my last two charges?"
    )
    assert ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"}) in reply.calls
    names = [name for name, _ in reply.calls]
    assert names.index("get_balance") < names.index("get_recent_transactions")
    assert ("get_balance", {"account_type": "savings"}) in reply.calls


async def test_a_coverage_question_in_the_same_breath_as_a_deductible_is_answered_too(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    reply = await sim.say(
        "What's my deductible, and do I get rental car coverage? It's A U four eight two nine one three."
    )
    assert [name for name, _ in reply.calls] == ["get_deductible", "get_coverage"]
    assert reply.calls[1][1] == {"policy_number": "AU-482913", "coverage_type": "rental"}
