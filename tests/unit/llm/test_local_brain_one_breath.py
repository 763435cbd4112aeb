"""Callers who say several things at once or refer back: identity and request in one breath, hesitation
sounds, a name said in passing, a correction of one detail, details given before a handoff, "that account",
and a request a handoff carries, answered by the new agent at once. The multi-agent cases run on the cascade's
own brain/tool loop and conversation (`apps/evals/text_run.TextCall`), so per-agent histories and handover
notes are exactly what a call has."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from apps.evals.text_run import TextCall
from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.identity_words import request_without_identity
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.spoken import without_fillers
from voice.speech_cascade.records import split_closing_question

from .harness import SimulatedCall


def tool_calls(call: TextCall) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, dict(c.arguments or {})) for t in call.turns for c in t.tool_calls]  # type: ignore[arg-type]


def agent_said(call: TextCall) -> list[str]:
    return [t.text for t in call.turns if t.speaker == "agent"]


# --- pure pieces ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "left"),
    [
        ("Um, I think, uh, it ends in four four", "I think, it ends in four four"),
        ("hmm, savings please", "savings please"),
        ("the umbrella was under the hummer", "the umbrella was under the hummer"),  # words, not sounds
    ],
)
def test_hesitation_sounds_are_dropped_and_words_kept(said: str, left: str) -> None:
    assert without_fillers(said) == left


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("could you look at my savings for me priya shah one one seven seven", "Priya Shah"),
        ("I want my balance. Marcus Chen, born November twenty third 1978.", "Marcus Chen"),
        ("there was a car accident last week", None),  # "last" of "last week" is no identity cue
        ("I paid the bill last month", None),
    ],
)
def test_a_name_said_in_passing_before_what_identifies_the_caller(said: str, name: str | None) -> None:
    assert parse_name(said) == name


@pytest.mark.parametrize(
    ("said", "asked"),
    [
        ("Priya Shah, ending one one seven seven, can you read me my last purchases", "can you read me my last purchases"),
        ("this is marcus chen born the twenty third of november seventy eight and i lost my card", "i lost my card"),
        ("Jordan Rivera, four eight two one.", None),  # identity only
        ("how much is in savings", None),  # no identity to take out
    ],
)  # fmt: skip
def test_the_request_is_what_is_left_without_the_identity(said: str, asked: str | None) -> None:
    assert request_without_identity(said) == asked


def test_a_greeting_closing_question_is_held_apart_from_its_introduction() -> None:
    assert split_closing_question("You're now with claims. What happened?") == (
        "You're now with claims.",
        "What happened?",
    )
    assert split_closing_question("You're now with the fraud team.") == (
        "You're now with the fraud team.",
        None,
    )
    assert split_closing_question("How can I help?") == ("How can I help?", None)


# --- conversations -------------------------------------------------------------------------------------
async def test_identity_and_a_balance_question_in_one_breath(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(
        "yeah this is Priya Shah, the account ends in one one seven seven, how much is in savings"
    )
    assert reply.tools[-2:] == ["verify_identity", "get_balance"], reply.calls
    assert reply.calls[-1] == ("get_balance", {"account_type": "savings"})


async def test_hesitations_around_an_answered_name(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("um, what do I have in checking")
    reply = await sim.say("uh, it's, um, Marcus Chen, and er, the last four are six six four zero")
    assert reply.calls[0] == ("verify_identity", {"full_name": "Marcus Chen", "account_last4": "6640"})


async def test_a_failed_verification_takes_the_corrected_digits_and_keeps_the_name(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("how much is in checking")
    wrong = await sim.say("Priya Shah, one one seven eight")
    assert wrong.calls == [("verify_identity", {"full_name": "Priya Shah", "account_last4": "1178"})]
    right = await sim.say("oh, my mistake. Seven seven at the end, so one one seven seven.")
    assert right.calls[0] == ("verify_identity", {"full_name": "Priya Shah", "account_last4": "1177"})


async def test_that_account_is_the_one_named_before(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, the savings ending nine zero three four")
    reply = await sim.say("and the recent activity on that account?")
    assert reply.calls[-1][0] == "get_recent_transactions"
    assert reply.calls[-1][1].get("account_type") == "savings"


async def test_a_card_problem_said_with_the_identity_reaches_card_services_and_is_acted_on(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("one-breath-card", snapshot, "banking", live_brain, redis)
    call.greet()
    await call.say(
        "speech",
        "Marcus Chen, account ending six six four zero, my debit card got chewed up, it's in two pieces",
    )
    names = [name for name, _ in tool_calls(call)]
    assert names[:1] == ["handoff_card_services"] and "lock_card" in names, names
    assert ("lock_card", {"reason": "damaged"}) in tool_calls(call)
    assert call.conv.agent.name == "card_services"


async def test_billed_twice_goes_to_the_team_that_can_dispute_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("twice", snapshot, "banking", live_brain, redis)
    call.greet()
    await call.say("speech", "the same coffee shop took money off me two times yesterday")
    assert tool_calls(call)[0][0] == "handoff_card_services"


async def test_a_question_that_caused_a_handoff_is_answered_with_the_policy_given_before(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("carried", snapshot, "insurance", live_brain, redis)
    call.greet()
    await call.say("speech", "My policy number is R E two one five five six six.")
    await call.say("speech", "Actually first, how much would I pay before the insurance kicks in?")
    assert ("get_deductible", {"policy_number": "RE-215566"}) in tool_calls(call)
    assert call.conv.agent.name == "policy_questions"
    answer = agent_said(call)[-1]
    assert answer.startswith("I can help with questions about your coverage") and "deductible" in answer
    assert not answer.endswith("What would you like to know?")


async def test_a_handoff_with_nothing_to_act_on_asks_the_new_agents_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("plain-handoff", snapshot, "banking", live_brain, redis)
    call.greet()
    await call.say("speech", "can you put me through to card services")
    assert [name for name, _ in tool_calls(call)] == ["handoff_card_services"]
    assert agent_said(call)[-1] == snapshot.agents["card_services"].greeting


async def test_a_longer_no_declines_the_offer_and_a_longer_yes_takes_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Jordan Rivera, four eight two one")
    locked = await sim.say("my card fell out of my pocket somewhere, it's lost")
    assert locked.calls[-1][0] == "lock_card" and locked.text.endswith("order a replacement?")
    declined = await sim.say("no, I'll sort out a new one myself when I'm back in town")
    assert declined.calls == [] and "order_replacement_card" not in declined.tools

    again = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services", call_id="sim-2")
    await again.say("Jordan Rivera, four eight two one")
    await again.say("I left my card at a restaurant and it's gone, lock it")
    taken = await again.say("yes, a new card please, and as quick as you can")
    assert taken.calls == [("order_replacement_card", {"expedited": True})]


async def test_i_meant_the_other_account(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven")
    await sim.say("what's the balance on my checking")
    fixed = await sim.say("sorry, I meant savings, not checking")
    assert fixed.calls == [("get_balance", {"account_type": "savings"})]


@pytest.mark.parametrize(
    "said",
    [
        "sorry, the line broke up for a moment there, can you say it again",
        "could you read that back to me please",
    ],
)
async def test_asking_to_hear_it_again_repeats_the_last_reply(
    said: str, live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    answer = await sim.say("Priya Shah, one one seven seven, how much is in savings")
    again = await sim.say(said)
    assert again.calls == [] and again.text == answer.text


async def test_wait_then_a_question_is_a_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven")
    asked = await sim.say("wait, how much do I have in savings right now")
    assert asked.calls == [("get_balance", {"account_type": "savings"})]


async def test_identity_given_instead_of_the_amount_is_verified_and_the_amount_asked_again(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("I'd like to shift some money from savings to checking")
    assert asked.text == "How much would you like to move?"
    verified = await sim.say("it's Priya Shah, born the second of July, nineteen ninety")
    assert verified.tools == ["verify_identity"] and verified.text.endswith(
        "How much would you like to move?"
    )
    confirm = await sim.say("three hundred dollars")
    assert confirm.calls == [] and "move 300 dollars from your savings to your checking" in confirm.text


async def test_a_changed_amount_at_the_confirmation_is_confirmed_again_and_a_question_is_not_a_change(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven. Move four hundred from checking to savings please")
    changed = await sim.say("hmm, let's do two fifty instead")
    assert changed.calls == [] and "move 250 dollars from your checking to your savings" in changed.text
    declined = await sim.say("no, wait, don't do that after all, forget it")
    assert declined.calls == [] and declined.text.startswith("Okay, I won't do that.")


async def test_a_claim_given_in_one_breath_confirms_the_policy_before_filing(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("one-breath-claim", snapshot, "insurance", live_brain, redis)
    call.greet()
    await call.say(
        "speech",
        "A branch came through my kitchen window in the storm yesterday. Policy H O seven three zero one five five, "
        "at fourteen Birch Lane in Redmond.",
    )
    names = [name for name, _ in tool_calls(call)]
    assert names == ["lookup_policy", "file_claim"], names
    said = agent_said(call)[-1]
    assert said.startswith("I found Priya's home policy") and "Your claim is filed." in said
    await call.say("speech", "great, that's all correct")
    assert "end_call" not in [name for name, _ in tool_calls(call)]
