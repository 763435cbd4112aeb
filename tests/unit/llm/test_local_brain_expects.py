"""What the local brain's question asks for (`ChatDone.expects`), read from its pending slots and their
tools' schemas: the hint the cascade gives the recogniser for the caller's answer."""

from __future__ import annotations

from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.expectation import Expectation
from voice.llm.base import ChatDone
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.expects import slot_expectation

from .harness import Reply, SimulatedCall


def expects(reply: Reply) -> Expectation | None:
    done = reply.rounds[-1][-1]
    assert isinstance(done, ChatDone)
    return done.expects


def test_slot_expectations_come_from_the_tool_schemas(snapshot: RegistrySnapshot) -> None:
    tools = snapshot.tools
    policy = slot_expectation(tools["lookup_policy"], "policy_number")
    assert policy is not None and (policy.lengths, policy.letters) == ((6,), 2)  # "like AU-482913"
    claim = slot_expectation(tools["get_claim_status"], "claim_number")
    assert claim is not None and (claim.lengths, claim.letters) == ((7,), 0)  # "like 7001001"
    last4 = slot_expectation(tools["verify_identity"], "account_last4")
    assert last4 is not None and last4.lengths == (4,)
    birth = slot_expectation(tools["verify_identity"], "date_of_birth")
    assert birth is not None and birth.date and not birth.digits
    assert slot_expectation(tools["verify_identity"], "full_name") is None


async def test_the_identity_question_expects_the_last_four_or_a_date_then_nothing_once_verified(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    asked = await sim.say("how much is in checking")
    hint = expects(asked)
    # The name is asked first; the last four digits or the birth date the tool still needs come with it often
    assert hint is not None and hint.lengths == (4,) and hint.date
    answered = await sim.say("Jordan Rivera, four eight two one")
    assert answered.tools[-1] == "get_balance"
    assert expects(answered) is None


async def test_a_claim_asks_for_a_policy_number_of_two_letters_and_six_digits(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say("someone backed into my car in the parking lot yesterday")
    hint = expects(reply)
    assert hint is not None and hint.lengths == (6,) and hint.letters == 2, reply.text
