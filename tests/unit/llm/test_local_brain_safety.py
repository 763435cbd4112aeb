"""Someone hurt comes first: the reply opens with the 911 advice, once, and the call goes on."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.safety import CALL_911, in_danger

from .harness import SimulatedCall


@pytest.mark.parametrize(
    ("said", "danger"),
    [
        ("a car hit us and my husband is hurt pretty bad", True),
        ("there's blood everywhere, the window cut my hand", True),
        ("the kitchen is on fire right now", True),
        ("someone rear-ended me but nobody was hurt", False),
        ("a tree fell on the garage, everyone's okay", False),
        ("my card got damaged in the wash", False),
    ],
)
def test_danger_is_told_from_a_report_that_everyone_is_fine(said: str, danger: bool) -> None:
    assert in_danger(said) is danger


async def test_the_911_advice_leads_once_and_the_claim_goes_on(
    brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(brain, snapshot, redis, "insurance", "claims_intake")
    first = await sim.say("I just crashed into a pole, my passenger is injured and bleeding from the head")
    assert first.text.startswith(CALL_911)
    assert first.text.endswith("policy number?")  # the claim is still taken
    again = await sim.say("she is still bleeding, the policy is A U four eight two nine one three")
    assert CALL_911 not in again.text
