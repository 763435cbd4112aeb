"""A money movement is routed only when the caller's words ask for one, and a caller who says who they are in
the breath that asks for something the agent must still ask about is verified first (classes from audio calls
whose request the recogniser garbled: "I'd like my savings, Maryland" for "... savings balance")."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain

from .harness import SimulatedCall


@pytest.mark.parametrize(
    "said",
    [
        "hi, I'd like my savings, Maryland.",
        "yeah so, my savings, please",
    ],
)
async def test_no_money_moves_without_words_that_ask_for_it(
    said: str, live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(said)
    assert "transfer_between_accounts" not in reply.tools, reply
    assert "move" not in reply.text.lower(), reply.text


@pytest.mark.parametrize(
    "said",
    [
        "could you shift two hundred over to savings",
        "I want to put some money into my savings",
        "take three hundred out of checking and into savings",
    ],
)
async def test_a_caller_who_asks_to_move_money_is_still_heard(
    said: str, live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say(said)
    await sim.say("it's Priya Shah, last four one one seven seven")
    reply = await sim.say("two hundred dollars, from checking to savings")
    spoken = " ".join(m.get("content") or "" for m in sim.messages if m.get("role") == "assistant")
    assert "you'd like to move 200 dollars from your checking to your savings" in spoken, spoken
    assert "transfer_between_accounts" not in reply.tools  # nothing moves before the caller says yes


async def test_who_the_caller_is_is_verified_before_the_agent_asks_for_a_missing_detail(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(
        "Marcus Chen here, account ending six six four zero, I need to move some money around"
    )
    assert reply.calls[:1] == [("verify_identity", {"full_name": "Marcus Chen", "account_last4": "6640"})]
    assert "how much" in reply.text.lower(), reply.text
