"""Insurance callers whose story comes before the request: a loss told first and a coverage question after it
("... is that covered?") is a question, a claim asked for later ("then file it") is the loss told before, harm
done to a guest stays a liability matter whatever room it happened in, a car that hit the house is filed on
the home policy as home damage, "nobody was hurt" said instead of an answer is no miss, and the everyday words for what comprehensive car coverage pays for."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.safety import in_danger

from .harness import SimulatedCall

COVERAGES = [
    "liability", "collision", "comprehensive", "uninsured_motorist", "rental", "roadside",
    "dwelling", "personal_property", "loss_of_use", "water_backup", "flood", "earthquake",
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "coverage"),
    [
        ("would my auto policy pay if a hailstorm dents the hood?", "comprehensive"),
        ("is hail damage to the car covered", "comprehensive"),
        ("hail tore up shingles on the roof, am I covered?", "dwelling"),
    ],
)
def test_what_comprehensive_pays_for_in_everyday_words(text: str, coverage: str) -> None:
    assert match_enum(text, COVERAGES) == coverage


async def test_a_loss_told_then_a_coverage_question_is_answered_and_then_filed_as_told(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    asked = await sim.say(
        "Hello, my sump pump failed yesterday and the laundry room drain overflowed. Would my policy pay for "
        "that? I don't want to file yet."
    )
    assert asked.tools == ["handoff_policy_questions"]
    answered = await sim.say("H O seven three zero one five five")
    assert answered.calls == [  # the number asked for is confirmed first, as the policy prompt says
        ("lookup_policy", {"policy_number": "HO-730155"}),
        ("get_coverage", {"coverage_type": "water_backup", "policy_number": "HO-730155"}),
    ]
    filing = await sim.say("Alright, in that case please file a claim on it.")
    assert filing.tools[0] == "handoff_claims_intake"
    await sim.say("It was yesterday, at home, fourteen Birch Lane in Redmond. Nobody got hurt.")
    done = [args for name, args in sim_calls(sim) if name == "file_claim"]
    assert done and done[-1]["incident_type"] == "water"
    assert "sump pump" in str(done[-1]["description"])


async def test_a_guest_hurt_at_home_is_filed_as_harm_to_others(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say(
        "My neighbor tripped on a loose stair at my place and broke his ankle. Am I covered for that?"
    )
    await sim.say("The policy is R E two one five five six six")
    await sim.say("It was yesterday, in my apartment, apartment five B, two twenty Lake Street in Chicago.")
    filed = [args for name, args in sim_calls(sim) if name == "file_claim"]
    assert filed and filed[-1]["incident_type"] == "other"


async def test_a_car_that_hit_the_house_is_filed_as_home_damage_on_the_home_policy(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("A delivery van backed into our house yesterday and smashed the porch railing and a wall.")
    await sim.say("My homeowners policy, H O seven three zero one five five.")
    await sim.say("At home, fourteen Birch Lane in Redmond.")
    filed = [(args, i) for i, (name, args) in enumerate(sim_calls(sim)) if name == "file_claim"]
    assert filed and filed[-1][0]["incident_type"] == "home"


async def test_saying_everyone_is_safe_instead_of_the_answer_is_no_miss(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    asked = await sim.say("A tree limb smashed through our back window during the storm last night.")
    assert asked.text.endswith("What's your policy number?")
    for reassurance in ("We're all fine, no one got hurt.", "Luckily I wasn't in the car at the time."):
        reply = await sim.say(reassurance)
        assert reply.calls == []
        assert reply.text == "I'm glad to hear that. What's your policy number?"


def sim_calls(sim: SimulatedCall) -> list[tuple[str, dict[str, object]]]:
    """Every tool call the agents made so far, from the call's history."""
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for m in sim.messages
        if m.get("role") == "assistant"
        for c in (m.get("tool_calls") or [])
    ]


@pytest.mark.parametrize(
    "text", ["no one got hurt, the car is wrecked though", "we're all fine, nobody was injured"]
)
def test_saying_no_one_was_hurt_is_not_danger(text: str) -> None:
    assert not in_danger(text)
