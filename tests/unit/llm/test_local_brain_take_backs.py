"""Callers taking something back or leaning on what just happened: a number said and then corrected in the same
breath, a proposed action called off together with a new question, a failed request retried with a smaller
amount, a yes that names an action already done, a name said as its own sentence after the request, a "was
that all?" that is a question rather than a goodbye, thanks said with a few more words (or after a remark), a
short question about the answer just given, a no given with its reasons, and a birthday whose month is said by
its number."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.identifiers import parse_last4
from voice.llm.local_brain.meta import Meta, classify, says_goodbye
from voice.llm.local_brain.names import parse_name

from .harness import SimulatedCall


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("it ends in two two three three, sorry, I mean four eight two one", "4821"),
        ("account ending five five five five. actually no, six six four zero", "6640"),
        ("ending in four eight two one and my savings ends in nine zero three four", "4821"),
    ],
)
def test_the_later_of_two_numbers_wins_only_when_the_first_was_taken_back(text: str, digits: str) -> None:
    assert parse_last4(text) == digits


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Could you tell me what my savings has in it? Marcus Chen.", "Marcus Chen"),
        ("I'd like to hear my recent transactions. Jordan Rivera.", "Jordan Rivera"),
        ("Someone broke my window. Downtown Bellevue.", None),
        ("I need to dispute a charge. Harbor Books.", None),
        ("The car got hit. Pine Street.", None),
    ],
)
def test_a_name_said_as_its_own_sentence_after_a_request(text: str, name: str | None) -> None:
    assert parse_name(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "Is that all? Nothing else went through?",
        "so nothing else posted this week?",
        "nothing else came out",
        "that's everything? really?",
    ],
)
def test_asking_whether_that_was_everything_is_not_a_goodbye(text: str) -> None:
    assert classify(text) is not Meta.GOODBYE
    assert not says_goodbye(text)


def test_a_plain_nothing_else_is_still_a_goodbye() -> None:
    assert says_goodbye("no, nothing else, thanks")


async def test_calling_off_a_transfer_with_a_new_question_answers_the_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Marcus Chen, born November twenty third nineteen seventy eight")
    proposed = await sim.say("please send two hundred dollars from checking to savings")
    assert proposed.calls == [] and "Shall I go ahead" in proposed.text
    answered = await sim.say("Oh hold up, forget it, rent is due soon. What's my checking balance?")
    assert answered.tools == ["get_balance"]
    assert "15,120" in answered.text
    after = await sim.say("Right. I'll keep it there, thanks.")
    assert "transfer_between_accounts" not in after.tools


async def test_a_refusal_alone_at_a_confirmation_drops_the_request(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one")
    await sim.say("move fifty dollars from savings to checking")
    dropped = await sim.say("no, don't do that")
    assert dropped.calls == []
    assert "won't" in dropped.text


async def test_a_transfer_that_failed_for_money_is_retried_with_the_new_amount(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, account one one seven seven")
    await sim.say("move four hundred dollars from checking to savings")
    failed = await sim.say("yes")
    assert failed.tools == ["transfer_between_accounts"]
    assert "enough" in failed.text
    retried = await sim.say("alright, let's try two hundred then")
    assert retried.calls == []
    assert "200 dollars from your checking to your savings" in retried.text
    done = await sim.say("yes")
    assert done.calls == [
        ("transfer_between_accounts", {"from_account": "checking", "to_account": "savings", "amount": 200})
    ]


async def test_a_yes_naming_an_action_already_done_does_not_answer_the_offer(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Marcus Chen, account six six four zero")
    locked = await sim.say("I lost my debit card on the bus yesterday")
    assert "lock_card" in locked.tools
    assert "replacement?" in locked.text
    again = await sim.say("yes, lock the card please")
    assert "order_replacement_card" not in again.tools
    assert "replacement?" in again.text
    ordered = await sim.say("yes, a new one, as quick as possible")
    assert ordered.calls == [("order_replacement_card", {"expedited": True})]


async def test_thanks_with_more_words_is_answered_not_misheard(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one. What's in my savings?")
    for line in ("Okay, I see. Thank you for your help.", "Got it, that makes sense, thanks."):
        reply = await sim.say(line)
        assert reply.calls == []
        assert reply.text.startswith("You're welcome.")


@pytest.mark.parametrize(
    ("text", "born"),
    [
        ("Marcus Chen, born the eleventh month, the twenty third day, nineteen seventy eight", "1978-11-23"),
        ("my birthday is the fourteenth day of the third month, nineteen eighty five", "1985-03-14"),
    ],
)
def test_a_birthday_with_the_month_said_by_its_number(text: str, born: str) -> None:
    assert str(parse_date(text, today=date(2026, 12, 6), require_year=True)) == born


async def test_a_no_with_its_reasons_answers_the_review_question(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, four eight two one")
    first = await sim.say("there are charges on my card I don't recognize")
    assert "Did you make it?" in first.text
    second = await sim.say("no, I did not")
    assert second.tools == ["confirm_transaction"]
    third = await sim.say("No, not me either. I was sound asleep at that hour and I live in Portland.")
    assert [name for name, args in third.calls if args.get("recognized") is False] == ["confirm_transaction"]


async def test_asking_whether_an_answer_was_complete_is_answered_and_the_call_goes_on(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Marcus Chen, six six four zero. What went through my checking recently?")
    asked = await sim.say("That's everything? Nothing more went out?")
    assert asked.calls == []
    assert asked.text.startswith("Yes, that's everything")
    thanked = await sim.say("Alright, that makes sense. Thanks.")
    assert thanked.calls == [] and thanked.text.startswith("You're welcome.")


async def test_a_remark_closed_with_thanks_is_thanked_back_and_a_question_about_the_answer_repeats_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    told = await sim.say("Priya Shah, one one seven seven. What's my checking balance?")
    assert "318 dollars" in told.text
    remark = await sim.say("Oof, rent is coming up soon. Well, thanks anyway.")
    assert remark.calls == [] and remark.text.startswith("You're welcome.")
    sim2 = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim2.say("Jordan Rivera, four eight two one. Did my salary come in?")
    again = await sim2.say("sorry, when was that?")
    assert again.calls == []
    assert "November 15th" in again.text and "verified" not in again.text
