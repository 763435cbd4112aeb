"""Callers who complain about a charge in their own words, and the details they scatter around it: the
complaint reaches the only agent that can act on it (what the target agent's own tools do counts for the
handoff), the merchant and amount come from the complaint, a business is never taken for the caller's name nor
an amount for their account digits, and who they are, said later or corrected, wins. Also the pieces of
conversation around it: "can you hold on, I need to grab ...", a yes that reads the request back, an id read
out with its dash."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from apps.evals.text_run import TextCall
from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.identifiers import parse_identifier, parse_last4
from voice.llm.local_brain.meta import Meta, classify
from voice.llm.local_brain.names import parse_merchant, parse_name
from voice.llm.local_brain.quantities import parse_amount

from .harness import SimulatedCall


def tool_calls(call: TextCall) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, dict(c.arguments or {})) for t in call.turns for c in t.tool_calls]  # type: ignore[arg-type]


# --- pure pieces ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "merchant"),
    [
        ("Harbor Books took the money out twice last week", "Harbor Books"),
        ("my Lakeside Hardware order never showed up", "Lakeside Hardware"),
        ("I stopped my Streamly membership in the summer", "Streamly"),
        ("I just want the extra charge back", None),  # a kind of charge, not who charged it
        ("the monthly plan went up", None),
    ],
)
def test_the_merchant_is_who_charged_or_what_the_caller_had_with_them(
    said: str, merchant: str | None
) -> None:
    assert parse_merchant(said) == merchant


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("they took twelve forty off my card", 12.4),
        ("and then they billed me, um, nine ninety-nine again", 9.99),
        ("I only want one of them refunded", None),  # "one of them" is no dollar
    ],
)
def test_an_amount_after_what_charging_says_past_fillers(said: str, amount: float | None) -> None:
    assert parse_amount(said) == amount


@pytest.mark.parametrize(
    "said",
    [
        "Corner Deli hit my card three times",
        "Harbor Books took my money and never sent the order",
        "Okay. Bright Gym keeps charging me",
    ],
)
def test_a_business_doing_something_is_not_the_callers_name(said: str) -> None:
    assert parse_name(said) is None


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Right, sorry, I was driving. Jordan Rivera, born the first of May", "Jordan Rivera"),
        ("I want to move some money. Priya Shah here.", "Priya Shah"),
        ("Yes. It was stolen. Pike Place.", None),  # a later sentence names the caller only with who they are
    ],
)
def test_a_name_at_the_start_of_a_later_sentence(said: str, name: str | None) -> None:
    assert parse_name(said) == name


def test_four_digits_said_with_a_charge_are_an_amount_not_the_account() -> None:
    assert parse_last4("Corner Deli charged me, sixty-four twenty, twice", bare=True) is None
    assert parse_last4("Jordan Rivera, sixty-four twenty", bare=True) == "6420"


@pytest.mark.parametrize(
    "said",
    [
        "Um, could you hold on a moment? I have to find my card.",
        "Hang on, let me go get the claim letter, it's upstairs.",
        "could you wait while I grab my policy papers",
    ],
)
def test_asking_the_agent_to_hold_while_fetching_something(said: str) -> None:
    assert classify(said) is Meta.HOLD


def test_a_request_after_wait_is_not_a_hold() -> None:
    assert classify("can you wait, what's my balance in savings") is None


@pytest.mark.parametrize(
    ("said", "shape", "found"),
    [
        ("it's A U dash four eight two nine one three", "LL-DDDDDD", "AU-482913"),
        ("H O hyphen seven three zero one five five", "LL-DDDDDD", "HO-730155"),
    ],
)
def test_an_identifier_read_out_with_its_dash(said: str, shape: str, found: str) -> None:
    assert parse_identifier(said, shape) == found


# --- conversations -------------------------------------------------------------------------------------
async def test_a_charge_complaint_without_the_word_dispute_reaches_card_services(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("complaint", snapshot, "banking", live_brain, redis)
    call.greet()
    await call.say("speech", "I ordered a lamp from Harbor Books, it never arrived, and they kept my money")
    assert tool_calls(call)[0][0] == "handoff_card_services"
    assert call.conv.agent.name == "card_services"


async def test_merchant_and_amount_from_the_complaint_reach_the_dispute_after_verification(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    call = TextCall("dispute-details", snapshot, "banking", live_brain, redis)
    call.greet()
    await call.say("speech", "Bella Pizza took forty-two fifty off me two times for one dinner.")
    await call.say("speech", "Marcus Chen. My account ends in six six four zero.")
    calls = tool_calls(call)
    assert ("verify_identity", {"full_name": "Marcus Chen", "account_last4": "6640"}) in calls
    disputes = [args for name, args in calls if name == "dispute_charge"]
    assert disputes[-1] == {"reason": "duplicate", "merchant": "Bella Pizza", "amount": 42.5}


async def test_account_digits_said_later_replace_an_earlier_guess(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    first = await sim.say("what's my checking balance, the account ends in one two three four")
    assert first.calls == [("get_balance", {"account_type": "checking"})]
    assert first.text.endswith("first and last name?")
    second = await sim.say("Jordan Rivera. Oh wait, no, it ends in four eight two one")
    assert second.calls[0] == ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})


async def test_a_yes_that_reads_the_transfer_back_goes_ahead(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one")
    asked = await sim.say("please move two hundred dollars from savings to checking")
    assert asked.calls == [] and asked.text.endswith("Shall I go ahead?")
    done = await sim.say("Yes, two hundred, savings into checking, that's right.")
    assert done.tools == ["transfer_between_accounts"]


async def test_a_restated_yes_with_a_different_amount_is_not_a_yes(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one")
    await sim.say("please move two hundred dollars from savings to checking")
    changed = await sim.say("Yes, three hundred dollars from savings to checking, that's right.")
    assert "transfer_between_accounts" not in changed.tools and "300" in changed.text


@pytest.mark.parametrize("agent", ["concierge", "card_services"])
async def test_a_charge_the_caller_never_made_goes_to_fraud_not_to_a_dispute(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, agent: str
) -> None:
    """The scenario's rule: a charge the caller does not recognize is fraud's. Disputes are for charges they
    made (twice, wrong amount, never delivered, cancelled); the dispute tool offers no "not recognized"."""
    dispute = {t.name: t for t in snapshot.tools_for("card_services", "banking")}["dispute_charge"]
    assert "not_recognized" not in dispute.parameters["properties"]["reason"]["enum"]
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", agent)
    reply = await sim.say("I see a payment of about three hundred bucks on there that I never authorized")
    assert reply.tools[:1] == ["handoff_fraud"]


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("send four hundred, no wait, make that three hundred and fifty dollars, to savings", 350),
        ("it was eighty dollars, sorry, eighty five", 85),
        ("move two hundred dollars to savings", 200),  # no correction: the one amount
    ],
)
def test_an_amount_corrected_in_the_same_breath(said: str, amount: float) -> None:
    assert parse_amount(said) == amount


@pytest.mark.parametrize(
    ("said", "count"),
    [("read me the last half a dozen", 6), ("the last couple of them", 2), ("just the last few", 3)],
)
def test_counts_said_as_words_for_a_number(said: str, count: int) -> None:
    from voice.llm.local_brain.quantities import parse_count

    assert parse_count(said) == count


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("it got taken on the third, outside the gym", "2026-12-03"),
        ("on the twenty first", "2026-11-21"),  # this month's has not come yet: last month's
        ("we live on the third floor", None),
    ],
)
def test_a_day_of_the_month_after_on_the(said: str, day: str | None) -> None:
    from datetime import date

    from voice.llm.local_brain.dates import parse_date

    found = parse_date(said, today=date(2026, 12, 6))
    assert (found.isoformat() if found else None) == day


def test_a_card_named_by_its_brand_takes_the_four_digits_after_it() -> None:
    assert parse_last4("and the visa too, fifty-five twelve", noun="card") == "5512"
    assert parse_last4("fifty-five twelve", noun="card") is None  # bare digits are no card's without a cue


async def test_no_rush_with_how_to_send_it_is_a_yes_to_the_replacement(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Jordan Rivera, four eight two one")
    locked = await sim.say("my card cracked in half, it's damaged")
    assert locked.text.endswith("order a replacement?")
    ordered = await sim.say("No, no hurry, standard shipping is fine.")
    assert ordered.calls == [("order_replacement_card", {"expedited": False})]


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("my dog bit the delivery driver on my porch", "other"),  # harm done to someone else: liability
        ("I knocked over my neighbor's lamp at his place, it shattered", "other"),
        ("the other car ran the red light and hit me", "auto"),  # "other" as a word names nothing
        ("it's a bit embarrassing, my pipe burst", "water"),
    ],
)
def test_harm_done_to_others_is_filed_as_other_before_what_the_story_names(said: str, kind: str) -> None:
    from voice.llm.local_brain.enums import match_enum

    assert match_enum(said, ["auto", "home", "theft", "water", "other"]) == kind


@pytest.mark.parametrize(
    "said",
    [
        "there's a charge from a hotel in Denver and I haven't been to Denver in years",
        "a store I've never even set foot in billed me",
        "I think somebody's got my card number",
    ],
)
async def test_disowned_charges_in_other_words_go_to_fraud(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, said: str
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(said)
    assert reply.tools[:1] == ["handoff_fraud"]


def test_an_identifier_read_with_a_pause_in_it() -> None:
    assert parse_identifier("It's A U four eight two... nine one three.", "LL-DDDDDD") == "AU-482913"


async def test_which_charge_tell_me_is_a_question_the_next_answer_fills(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    """The tool's error asks "Which charge is it? Tell me the merchant and the amount.": the answer fills it, and
    the reason the caller gave at the start still stands."""
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Marcus Chen, born November twenty-third, seventy-eight")
    asked = await sim.say("a restaurant charged me twice for one meal")
    assert asked.text.endswith("Tell me the merchant and the amount.")
    done = await sim.say("Bella Pizza, forty-two fifty")
    assert done.calls == [
        ("dispute_charge", {"reason": "duplicate", "merchant": "Bella Pizza", "amount": 42.5})
    ]


def test_a_day_named_beats_just_now_about_the_call() -> None:
    from datetime import date

    from voice.llm.local_brain.dates import parse_date

    said = "three days ago someone keyed my car, I only just now found time to call"
    assert parse_date(said, today=date(2026, 12, 6)) == date(2026, 12, 3)


def test_a_value_two_handoff_targets_take_is_no_evidence_for_either(snapshot: RegistrySnapshot) -> None:
    tools = {t.name: t for t in snapshot.tools_for("concierge", "banking")}
    for handoff in ("handoff_card_services", "handoff_fraud"):
        assert not any("lost" in values for values in tools[handoff].routing_values), handoff
