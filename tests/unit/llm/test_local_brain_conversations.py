"""Whole conversations: the local brain drives the shipped agents, the real tools run against the embedded Redis
with the demo data, and handoffs move the call between agents as the cascade does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain

from .harness import SimulatedCall


def call(
    brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, scenario: str, agent: str
) -> SimulatedCall:
    return SimulatedCall(brain, snapshot, redis, scenario, agent)


async def test_balance_verification_and_a_confirmed_transfer(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = call(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("what's my balance")
    assert asked.text == "I need to verify your identity first. Can I have your first and last name?"
    await sim.say("jordan rivera")
    verified = await sim.say("four eight two one")
    assert verified.tools == ["verify_identity", "get_balance"]
    assert verified.text == (
        "Thank you, Jordan, you're verified. Your checking balance is 2,450 dollars and 75 cents."
    )
    savings = await sim.say("how much is in my savings")
    assert savings.text == "Your savings balance is 12,800 dollars."
    confirm = await sim.say("move two hundred dollars from savings to checking")
    assert confirm.calls == []
    moved = await sim.say("yes please")
    assert moved.calls == [
        ("transfer_between_accounts", {"from_account": "savings", "to_account": "checking", "amount": 200})
    ]
    assert moved.text.startswith("I moved 200 dollars from your savings to your checking.")
    assert "12,600 dollars" in moved.text


async def test_a_stolen_card_is_handed_to_card_services_locked_and_replaced(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = call(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("my name is Jordan Rivera and the last four of my account are four eight two one")
    handed = await sim.say("someone stole my wallet")
    # The caller is verified, so card services locks the stolen card in the same reply.
    assert handed.calls == [
        ("handoff_card_services", {"reason": "Someone stole my wallet"}),
        ("lock_card", {"reason": "stolen"}),
    ]
    assert sim.agent == "card_services"
    assert handed.text.startswith("You're now with card services.")
    assert handed.text.endswith("Would you like me to order a replacement?")
    replaced = await sim.say("yes please, rush it")
    assert replaced.calls == [("order_replacement_card", {"expedited": True})]
    assert replaced.text.endswith("with expedited shipping.")
    bye = await sim.say("no thanks")
    assert bye.tools == ["end_call"]
    assert bye.text == "Thank you for calling. Goodbye."


async def test_a_fraud_review_goes_through_each_flagged_transaction(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = call(live_brain, snapshot, redis, "banking", "fraud")
    await sim.say("I think someone is using my card")
    await sim.say("jordan rivera")
    listed = await sim.say("my date of birth is march fourteenth nineteen eighty five")
    assert listed.calls == [
        ("verify_identity", {"full_name": "Jordan Rivera", "date_of_birth": "1985-03-14"}),
        ("list_flagged_transactions", {}),
    ]
    assert listed.text.endswith("at ElectroMart Online on November 17th in Miami. Did you make it?")
    first = await sim.say("no I didn't make that purchase")
    assert first.calls == [("confirm_transaction", {"recognized": False, "transaction_id": "t104"})]
    assert "There's one more transaction to review: 75 dollars at QuickFuel Station" in first.text
    second = await sim.say("yes")
    assert second.calls == [("confirm_transaction", {"recognized": True, "transaction_id": "t105"})]
    assert second.text == "Thanks, I've marked the QuickFuel Station charge as yours."


async def test_a_claim_is_filed_across_turns_then_a_coverage_question_reuses_the_policy(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    if not date(2026, 2, 2) <= date.today() <= date(2027, 1, 31):
        pytest.skip("the demo auto policy is only active from 2026-02-01 to 2027-01-31")
    sim = call(live_brain, snapshot, redis, "insurance", "claims_intake")
    assert (await sim.say("I had a car accident yesterday")).text == "What's your policy number?"
    found = await sim.say("a u four eight two nine one three")
    assert found.calls == [("lookup_policy", {"policy_number": "AU-482913"})]
    assert found.text.endswith("Where did it happen?")
    filed = await sim.say("on main street in bellevue")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert filed.calls == [
        (
            "file_claim",
            {
                "incident_type": "auto",
                "incident_date": yesterday,
                "description": "I had a car accident yesterday",
                "policy_number": "AU-482913",
                "location": "Main Street in Bellevue",
            },
        )
    ]
    assert filed.text.startswith("Your claim is filed. Your claim number is 7 0 0 1 1 0 0.")
    handed = await sim.say("what's my deductible")
    # Policy questions answers at once, with the policy the caller gave claims intake.
    assert handed.calls == [
        ("handoff_policy_questions", {"reason": "What's my deductible"}),
        ("get_deductible", {"policy_number": "AU-482913"}),
    ]
    assert sim.agent == "policy_questions"
    assert "deductible is 500 dollars" in handed.text
    coverage = await sim.say("do I have rental car coverage")
    assert coverage.calls == [("get_coverage", {"coverage_type": "rental", "policy_number": "AU-482913"})]
    assert coverage.text.startswith("Yes. Your policy includes rental coverage")


async def test_a_dispute_waits_for_verification_and_claim_status_by_keypad(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = call(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("I was charged twice at Bella Pizza")
    await sim.say("marcus chen")
    disputed = await sim.say("six six four zero")
    assert disputed.calls[1] == ("dispute_charge", {"reason": "duplicate", "merchant": "Bella Pizza"})
    assert "I've opened a dispute for the 42 dollars and 50 cents charge at Bella Pizza" in disputed.text

    insurance = call(live_brain, snapshot, redis, "insurance", "policy_questions")
    assert (await insurance.say("what's the status of my claim")).text == "What's the claim number?"
    status = await insurance.say("[dtmf] 7001002#")
    assert status.calls == [("get_claim_status", {"claim_number": "7001002"})]
    assert status.text.startswith("Claim 7 0 0 1 0 0 2, filed on September 4th, is approved and paid.")
