"""Failure classes seen when eval callers were played as audio (espeak voices, Whisper's text), in other words
than those calls': the cue of "the last four" read as a digit when the caller corrects the number; digits given
as the account's after "the wrong card"; a number's end heard as a sentence of its own; a lookup that found a
policy from its digits alone; a question whose words sit beside a policy number."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.heard import as_heard
from voice.llm.local_brain.identifiers import parse_last4
from voice.llm.local_brain.meta import Meta, classify
from voice.llm.local_brain.meta_turn import without_read_out
from voice.llm.local_brain.repairs import resolve_repairs
from voice.llm.local_brain.second_requests import reads_out_only

from .harness import SimulatedCall

_VERIFY = {
    "properties": {
        "full_name": {"type": "string"},
        "account_last4": {"type": "string", "pattern": "^[0-9]{4}$"},
    }
}


def test_the_cue_of_the_last_four_is_not_a_digit_of_a_corrected_number() -> None:
    said = "marcus chen, last four six six four one, no sorry, six six four zero"
    assert "6640" in resolve_repairs(said)
    assert "46640" not in resolve_repairs(said)
    found = extract_arguments(_VERIFY, said, today=date(2026, 12, 6), asked=["full_name"])
    assert found == {"full_name": "Marcus Chen", "account_last4": "6640"}


def test_digits_said_after_the_wrong_card_are_the_accounts() -> None:
    said = "oops, that was off the wrong card, the right one is nine oh three four"
    assert parse_last4(said, asked=True, bare=True, noun="account") == "9034"
    # A card named as the digits' owner still keeps them from the account.
    assert parse_last4("my card ends in four two one nine", asked=True, bare=True, noun="account") is None


def test_a_clause_that_only_reads_out_digits_or_letters_asks_for_nothing() -> None:
    assert reads_out_only("five five three zero")
    assert reads_out_only("and h o seven")
    assert not reads_out_only("what's my deductible")
    assert not reads_out_only("transfer two hundred")


def test_the_words_beside_a_number_read_out() -> None:
    assert without_read_out("okay my liability limit, the policy number is r e two one five") == (
        "okay my liability limit"
    )
    assert without_read_out("policy h o seven three zero one five five") == ""


async def test_the_end_of_a_policy_number_heard_as_its_own_sentence_stays_with_the_loss_report(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say(
        "a pipe burst in my kitchen this morning and flooded the floor, policy h o seven three. zero one five five"
    )
    assert not any(name.startswith("handoff") for name in reply.tools), reply.calls
    assert ("lookup_policy", {"policy_number": "HO-730155"}) in reply.calls


async def test_a_claim_is_filed_on_the_policy_number_the_lookup_found(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("somebody broke my car window and took my gym bag on friday")
    found = await sim.say("the number is four eight two nine one three")
    assert found.calls == [("lookup_policy", {"policy_number": "482913"})]
    filed = await sim.say("in the lot behind my office on pine street in seattle")
    assert [name for name, _ in filed.calls] == ["file_claim"]
    assert filed.calls[0][1]["policy_number"] == "AU-482913"


async def test_a_coverage_question_said_beside_the_policy_number_is_answered(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    reply = await sim.say("uh, my deductible, the policy is r e two one five five six six")
    assert "lookup_policy" not in reply.tools
    assert reply.tools and reply.tools[0] == "handoff_policy_questions"


async def test_a_number_read_again_after_it_was_not_found_keeps_its_letters(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("a shopping cart rolled into my car at the grocery store this afternoon")
    missed = await sim.say("it's a u four eight two nine three one")
    assert missed.calls == [("lookup_policy", {"policy_number": "AU-482931"})]
    found = await sim.say("hang on, I flipped the end, it's four eight two nine one three")
    assert found.calls[0] == ("lookup_policy", {"policy_number": "AU-482913"})


async def test_the_place_told_more_precisely_after_filing_files_nothing_new(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say(
        "my car was scraped in the parking garage on monday, policy a u four eight two nine one three"
    )
    filed = await sim.say("that's all the details")
    filed_before = sum(name == "file_claim" for name, _ in filed.calls)
    more = await sim.say("parking garage on fifth avenue in seattle, monday morning")
    assert "file_claim" not in more.tools
    assert filed_before <= 1


async def test_the_start_of_a_policy_number_then_its_rest_after_a_pause(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("the basement flooded when the sump pump quit last night")
    held = await sim.say("okay the policy is h o seven three")
    assert not held.calls and "didn't catch" not in held.text
    rest = await sim.say("zero one five five")
    assert rest.calls == [("lookup_policy", {"policy_number": "HO-730155"})]


def test_five_heard_as_find_or_fine_inside_a_number_read_out() -> None:
    assert as_heard("it's h o seven three find one five five") == "it's h o seven three five one five five"
    assert as_heard("one one fine three") == "one one five three"
    assert as_heard("i can't find it, two one") == "i can't find it, two one"  # the verb, beside digits


async def test_a_day_put_right_after_the_claim_was_filed_corrects_that_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    filed = await sim.say(
        "a delivery van clipped my mirror on friday outside my office on pine street in seattle, "
        "policy a u four eight two nine one three"
    )
    assert [name for name, _ in filed.calls][-1] == "file_claim"
    claim = sim.messages[-1]  # the claim's number comes from the filing's result
    assert claim is not None
    fixed = await sim.say("oh wait, it was thursday, not friday, sorry")
    assert [name for name, _ in fixed.calls] == ["correct_claim"], fixed.text
    assert set(fixed.calls[0][1]) == {"claim_number", "incident_date"}
    assert "file_claim" not in fixed.tools


@pytest.mark.parametrize(
    ("said", "holds"),
    [
        ("oh wait, it was the ninth, not the tenth", False),
        ("hang on, I meant checking not savings", False),
        ("hang on, it's not here, let me look", True),
        ("wait, not yet", True),
    ],
)
def test_wait_then_something_put_right_is_no_pause(said: str, holds: bool) -> None:
    assert (classify(said) is Meta.HOLD) is holds


async def test_asking_whether_the_insurance_pays_for_something_is_a_coverage_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    """ "Does my insurance pay for X" asks what is covered, not what the caller pays (the deductible)."""
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("is my insurance gonna pay for the scratch on my bumper")
    reply = await sim.say("it's a u four eight two nine one three")
    assert "get_deductible" not in reply.tools, reply.calls
    assert reply.text.endswith("What's the kind of coverage you're asking about?"), reply.text
