"""Failure classes from the fifteenth blind set (distracted everyday callers), tested in other words than its
calls: a closing followed by a go-ahead is no goodbye; "the night before last"; a guest room is no guest; a
surname put right as soon as it was said; a number read again in full after a broken-off first try; keys
locked in the car as a roadside question."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.meta import Meta, classify, says_goodbye
from voice.llm.local_brain.names import parse_name

from .harness import SimulatedCall

SUNDAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    "said",
    [
        "okay, that's all of it, you can go ahead and send it in",
        "Right, that is everything. Please file it.",
        "I think that's everything, go ahead",
    ],
)
def test_a_closing_followed_by_a_go_ahead_is_an_answer_not_a_goodbye(said: str) -> None:
    assert classify(said) is not Meta.GOODBYE
    assert not says_goodbye(said)


@pytest.mark.parametrize("said", ["that's everything, go ahead. bye now", "that's all, thanks, bye"])
def test_a_goodbye_after_the_go_ahead_still_closes(said: str) -> None:
    assert says_goodbye(said)


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("the pipe let go the night before last", date(2026, 12, 4)),
        ("it must have been the evening before last", date(2026, 12, 4)),
    ],
)
def test_the_night_before_last_is_two_days_ago(said: str, day: date) -> None:
    assert parse_date(said, today=SUNDAY) == day


def test_a_room_named_for_guests_is_no_harm_done_to_a_guest() -> None:
    values = ("auto", "home", "theft", "water", "other")
    assert match_enum("a limb fell on the house and there's a hole in the guest bedroom", values) == "home"
    assert match_enum("a guest slipped on our icy steps", values) == "other"


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("hi, it's Priya Sha... Shah, sorry", "Priya Shah"),
        ("Marcus Chan, no, Chen, and the account ends six six four zero", "Marcus Chen"),
        ("this is Jordan Rivera, no I don't have the card", "Jordan Rivera"),
    ],
)
def test_a_surname_put_right_at_once_is_the_one_said_second(said: str, name: str) -> None:
    assert parse_name(said) == name


@pytest.mark.parametrize(
    ("said", "number"),
    [
        (
            "policy a u four eight two nine one... no, one three. a u four eight two nine one three",
            "AU-482913",
        ),
        ("it's a u one one eight eight two... no, two two. a u one one eight eight two two", "AU-118822"),
    ],
)
async def test_a_number_read_again_in_full_after_a_broken_off_try_is_the_full_one(
    said: str, number: str, live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("somebody keyed the whole side of my car last night")
    reply = await sim.say(said)
    assert reply.calls == [("lookup_policy", {"policy_number": number})]


@pytest.mark.parametrize("said", ["I locked my keys in the car at the mall", "do you cover a locksmith"])
def test_keys_locked_in_the_car_are_a_roadside_question(said: str) -> None:
    values = ("collision", "comprehensive", "liability", "roadside", "rental")
    assert match_enum(said, values) == "roadside"


@pytest.mark.parametrize(
    "said",
    ["could I get an actual live human on the line", "put me through to a real, flesh and blood agent"],
)
def test_a_person_asked_for_with_more_than_one_word_for_real(said: str) -> None:
    assert classify(said) is Meta.HUMAN


@pytest.mark.parametrize("said", ["lovely, cheerio", "right, ta-ra", "okay, so long", "take care then"])
def test_regional_goodbyes_close(said: str) -> None:
    assert classify(said) is Meta.GOODBYE


def test_taking_care_of_something_is_no_goodbye() -> None:
    assert classify("can you take care of my card") is not Meta.GOODBYE


async def test_did_it_go_through_right_after_a_transfer_is_answered(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, one one seven seven. please move twenty dollars from checking to savings")
    moved = await sim.say("yes please")
    assert [name for name, _ in moved.calls] == ["transfer_between_accounts"]
    reply = await sim.say("So it's done? All set?")
    assert reply.text == "Yes, it went through. Is there anything else I can help you with?"


def test_a_car_hit_while_parked_is_an_auto_claim() -> None:
    values = ("auto", "home", "theft", "water", "other")
    assert match_enum("someone knocked my mirror off while it was parked outside work", values) == "auto"
