"""Long calls where one caller does several things in a row: a person asked for and taken back in the same
breath, and a "that's it" said with thanks (or after a no) as the close of the call, never the yes to a
question."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.asked import answered_by
from voice.llm.local_brain.dates import parse_corrected_date, takes_back_a_date
from voice.llm.local_brain.digit_fixes import corrected_number, tail_correction
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.identifiers import parse_identifier, parse_last4
from voice.llm.local_brain.meta import Meta, asks_for_person, classify, says_goodbye
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.quantities import parse_amount
from voice.llm.local_brain.safety import in_danger
from voice.llm.local_brain.yes_no import parse_flag

from .harness import SimulatedCall


@pytest.mark.parametrize(
    "text",
    [
        "could i get a representative, oh forget it, how much is sitting in checking",
        "put me through to an agent. on second thought, what did I spend recently",
        "i want to talk to someone, scratch that",
    ],
)
def test_a_person_asked_for_then_taken_back_is_not_a_transfer(text: str) -> None:
    assert classify(text) is not Meta.HUMAN
    assert not asks_for_person(text)


def test_a_person_asked_for_without_taking_it_back_still_is() -> None:
    assert asks_for_person("never mind the card, connect me with a real person")
    assert classify("never mind the card, connect me with a real person") is Meta.HUMAN


@pytest.mark.parametrize(
    "text",
    [
        "perfect, thank you so much, that's it",
        "that's it, thank you kindly",
        "nope, that's it",
        "wonderful thanks, that's it for me",
    ],
)
def test_thats_it_with_thanks_or_after_a_no_closes_the_call(text: str) -> None:
    assert says_goodbye(text)
    assert classify(text) is Meta.GOODBYE


@pytest.mark.parametrize(
    "text", ["yeah that's it, thanks", "that's it", "right, that's it thank you", "that's it?"]
)
def test_thats_it_as_a_yes_or_alone_is_not_a_goodbye(text: str) -> None:
    assert not says_goodbye(text)


async def test_a_transfer_request_taken_back_answers_the_question_instead(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, checking ending one one seven seven")
    answered = await sim.say(
        "can you get me an agent, actually never mind, how much is in my savings account"
    )
    assert "transfer_to_human" not in answered.tools
    assert answered.tools == ["get_balance"]
    assert "4,200" in answered.text


@pytest.mark.parametrize(
    "text",
    [
        "my son's back hurts from the seatbelt",
        "the other driver banged his head on the window",
        "I think my passenger broke her wrist",
    ],
)
def test_a_body_part_that_hurts_is_someone_hurt(text: str) -> None:
    assert in_danger(text)


def test_a_sore_neck_said_with_everyone_fine_is_not_danger() -> None:
    assert not in_danger("my neck hurts a little but everyone is okay")


async def test_and_the_other_account_repeats_the_last_answer_for_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, date of birth March fourteenth nineteen eighty five")
    first = await sim.say("how much money is in my savings account")
    assert first.tools == ["get_balance"] and "12,800" in first.text
    other = await sim.say("alright, and what about checking?")
    assert other.tools == ["get_balance"]
    assert "2,450" in other.text


async def test_and_savings_after_a_transfer_moves_no_money(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, date of birth March fourteenth nineteen eighty five")
    await sim.say("please shift forty dollars from checking into savings")
    done = await sim.say("yes, do it")
    assert done.tools == ["transfer_between_accounts"]
    after = await sim.say("and savings?")
    assert "transfer_between_accounts" not in after.tools


async def test_more_of_the_story_after_filing_does_not_start_a_second_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("a pipe under the bathroom sink burst yesterday and soaked the hallway")
    await sim.say("H O seven three zero one five five")
    filed = await sim.say("fourteen Birch Lane in Redmond")
    assert filed.tools == ["file_claim"]
    more = await sim.say("the water got into the carpet and warped the baseboards")
    assert "file_claim" not in more.tools
    assert "What day" not in more.text and "claim number is" in more.text


async def test_a_second_incident_said_outright_is_still_a_new_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("a pipe under the bathroom sink burst yesterday and soaked the hallway")
    await sim.say("H O seven three zero one five five")
    await sim.say("fourteen Birch Lane in Redmond")
    again = await sim.say(
        "I also need to report another thing, my bike was stolen from the porch this morning"
    )
    assert "That's already done" not in again.text


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("could you shift two hundred of it over to savings", 200.0),
        ("stick fifty of that in checking", 50.0),
        ("move eight hundred of my savings into checking", 800.0),
        ("the last two of the charges look odd", None),
    ],
)
def test_a_sum_said_as_part_of_the_money_is_an_amount(text: str, amount: float | None) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "expedited"),
    [
        ("regular is okay. on second thought, express it, I leave town soon", True),
        ("overnight it please, no wait, the normal mail is fine", False),
        ("we really need them by monday for the trip", True),
    ],
)
def test_the_delivery_said_last_after_a_change_of_mind_or_a_need_by_day(text: str, expedited: bool) -> None:
    assert parse_flag("expedited", text, asked=True) is expedited


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hey, jordan rivera here, calling about a weird charge", "Jordan Rivera"),
        ("hi? hello, uh, marcus chen, born november twenty third seventy eight", "Marcus Chen"),
        ("hey. the card got swallowed. downtown tacoma.", None),
    ],
)
def test_a_name_after_a_greeting_alone_is_the_callers(text: str, name: str | None) -> None:
    assert parse_name(text) == name


# --- long calls, second round: what the caller asks for in so many words, wherever the call has got to -------


@pytest.mark.parametrize(
    ("text", "balance"),
    [
        ("morning, could you check on my savings for me", True),
        ("i'd just like to check the checking account", True),
        ("please check my checking for a payment to the gym", False),
        ("check my savings to see if the interest came in", False),
    ],
)
def test_checking_on_an_account_asks_for_its_balance(text: str, balance: bool) -> None:
    assert (r"\bbalance" in answered_by(text)) is balance


async def test_checking_on_an_account_reads_its_balance(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, date of birth March fourteenth nineteen eighty five")
    checked = await sim.say("so i wanted to check on my savings account")
    assert checked.tools == ["get_balance"]
    assert "12,800" in checked.text


async def test_money_moved_between_accounts_in_card_services_goes_to_the_concierge(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    await sim.say("Jordan Rivera, date of birth March fourteenth nineteen eighty five")
    moved = await sim.say("oh while i have you, shift a hundred dollars out of checking into savings")
    assert moved.tools[:1] == ["handoff_concierge"]
    assert "get_recent_transactions" not in moved.tools


@pytest.mark.parametrize(
    ("answer", "recognized"),
    [
        ("certainly not me, i was asleep at home that night", False),
        ("not us, we've never been to nevada", False),
        ("absolutely not, i have never heard of that shop", False),
        ("that was me, a birthday present for my brother", True),
    ],
)
async def test_a_long_answer_that_says_who_it_was_answers_did_you_make_it(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, answer: str, recognized: bool
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "fraud")
    await sim.say("Marcus Chen, the account ends in six six four zero")
    listed = await sim.say("what's been flagged on my account")
    assert "Did you make it?" in listed.text
    answered = await sim.say(answer)
    name, args = answered.calls[0]
    assert name == "confirm_transaction", answered.calls
    assert args["recognized"] is recognized


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("did any payments hit my checking in the past week", "checking"),
        ("was there anything on the checking in november", "checking"),
        ("i'm checking in about my savings", "savings"),
    ],
)
def test_my_checking_followed_by_in_is_the_account(text: str, account: str) -> None:
    assert match_enum(text, ["checking", "savings"]) == account


@pytest.mark.parametrize(
    ("text", "replacement"),
    [
        ("alright, please mail out the new card after all", True),
        ("on second thought ship me a replacement", True),
        ("don't send a new one, i found it in my coat", False),
    ],
)
def test_a_new_card_asked_for_in_so_many_words(text: str, replacement: bool) -> None:
    assert (r"\breplacement\b" in answered_by(text)) is replacement


async def test_a_replacement_asked_for_back_at_the_concierge_goes_to_card_services(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, date of birth March fourteenth nineteen eighty five")
    asked = await sim.say("right, so after all you can go ahead and mail me the replacement, regular post")
    assert asked.tools[:1] == ["handoff_card_services"]


@pytest.mark.parametrize(
    "text",
    [
        "a branch came down on my garage roof last night, would that be covered",
        "my phone was swiped from my bag at the airport, is theft covered on the renters",
        "the dog chewed through the couch, does my policy pay for that",
    ],
)
def test_a_coverage_question_after_the_story_is_a_question(text: str) -> None:
    answered = answered_by(text)
    assert r"\bcover|\bdeductible" in answered
    assert r"\bfile a new claim|\breport a new\b" not in answered


def test_a_clause_that_only_goes_on_with_the_story_is_no_question() -> None:
    answered = answered_by("the pipe burst on monday, was a total mess")
    assert r"\bcover|\bdeductible" not in answered


async def test_a_coverage_question_inside_a_loss_report_is_answered_first(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    first = await sim.say("somebody walked off with my bike from the hallway, is that covered on my renters")
    assert first.tools[:1] == ["handoff_policy_questions"]
    assert "file_claim" not in first.tools
    answered = await sim.say("R E two one five five six six")
    assert answered.tools == ["lookup_policy", "get_coverage"]
    assert "Marcus" in answered.text and "personal property" in answered.text


@pytest.mark.parametrize(
    "text",
    [
        "alright. other question, how much is my deductible",
        "okay, different issue, my card got chewed up by the atm",
        "quick thing, what's my savings balance",
    ],
)
def test_words_that_open_a_new_topic_are_no_name(text: str) -> None:
    assert parse_name(text) is None


async def test_filing_for_the_thing_in_an_earlier_story_takes_its_day(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    asked = await sim.say(
        "so yesterday a hailstorm dented the hood of my car, is hail damage covered, policy a u four eight two "
        "nine one three"
    )
    assert asked.tools == ["get_coverage"]
    filed = await sim.say("great, then i want to file a claim for the hood")
    assert filed.tools[:1] == ["handoff_claims_intake"]
    assert "What day" not in filed.text


SUNDAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("it's on maple avenue. wait, i told you monday but it was really sunday night", date(2026, 11, 29)),
        ("saturday, not friday, sorry about that", date(2026, 12, 5)),
        (
            "my bad, i said yesterday, but actually it happened thursday, i only saw it yesterday",
            date(2026, 12, 3),
        ),
        ("not sure exactly, maybe on wednesday", date(2026, 12, 2)),
    ],
)
def test_a_day_taken_back_in_the_same_breath_is_not_the_day(text: str, day: date) -> None:
    assert parse_corrected_date(text, today=SUNDAY) == day


def test_only_a_day_said_wrong_counts_as_taken_back() -> None:
    assert takes_back_a_date("oh it was monday, not tuesday", today=SUNDAY)
    assert not takes_back_a_date("not sure, maybe monday", today=SUNDAY)
    assert not takes_back_a_date("it was monday, not a big deal", today=SUNDAY)


async def test_a_day_corrected_while_the_claim_is_being_taken_replaces_the_first(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("someone took my scooter from outside my apartment")
    await sim.say("R E two one five five six six")
    await sim.say("i think it was three days ago")
    filed = await sim.say(
        "out front of two twenty lake street in chicago. sorry, i told you three days ago, but it was four days ago"
    )
    assert filed.tools == ["file_claim"]
    assert filed.calls[0][1]["incident_date"] == str(date.today() - timedelta(days=4))


async def test_a_day_corrected_after_the_claim_is_filed_corrects_that_claim(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "claims_intake")
    await sim.say("a shopping cart rolled into my car door in the grocery store lot two days ago")
    await sim.say("A U four eight two nine one three")
    filed = await sim.say("the safeway parking lot on pine street in seattle")
    assert filed.tools == ["file_claim"]
    again = await sim.say("oh shoot, it was three days ago, not two days ago")
    assert again.tools == ["correct_claim"]  # the filed claim put right, not a second claim
    assert again.calls[0][1]["incident_date"] == str(date.today() - timedelta(days=3))


@pytest.mark.parametrize(
    ("number", "said", "fixed"),
    [
        ("7001004", "oops, it ends in one, not four", "7001001"),
        ("7001009", "my mistake, the last digit should be a two", "7001002"),
        ("RE-215567", "no wait, it ends with six six, not six seven", "RE-215566"),
        ("7001004", "it ends in one", None),  # describes, takes nothing back
        ("7001004", "sorry, it ends in seven, not eight", None),  # an end the number does not have
    ],
)
def test_a_number_put_right_by_its_last_digits(number: str, said: str, fixed: str | None) -> None:
    assert corrected_number(number, said) == fixed


def test_a_last_four_said_with_ends_in_is_no_correction() -> None:
    assert tail_correction("sorry, my card ends in five five three zero") is None


def test_a_hold_that_goes_on_to_put_a_number_right_is_no_hold() -> None:
    assert (
        classify("one sec, i'm grabbing the paperwork. oh sorry, it ends in one, not four") is not Meta.HOLD
    )


async def test_a_claim_number_put_right_by_its_end_is_looked_up_again(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    missed = await sim.say("where does my claim stand, seven zero zero one zero zero four")
    assert missed.calls == [("get_claim_status", {"claim_number": "7001004"})]
    found = await sim.say("oh hang on, my bad, it ends in one, not four")
    assert found.calls == [("get_claim_status", {"claim_number": "7001001"})]
    assert "Sam Patel" in found.text


def test_letters_before_a_number_make_it_no_claim_number() -> None:
    assert parse_identifier("the home policy, h o seven three oh one five five", "DDDDDDD") is None
    assert parse_identifier("it's a seven zero zero one zero zero two", "DDDDDDD") == "7001002"


async def test_a_policy_number_after_a_claim_was_not_found_is_a_policy_number(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("any news on claim seven zero zero one zero zero eight")
    asked = await sim.say(
        "never mind that then. how much is my deductible, policy h o seven three oh one five five"
    )
    assert asked.calls == [("get_deductible", {"policy_number": "HO-730155"})]


async def test_the_next_step_after_a_claim_status_hears_it_again(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    status = await sim.say("can you tell me where claim seven zero zero one zero zero one is at")
    assert status.tools == ["get_claim_status"]
    nxt = await sim.say("okay so what's the next step")
    assert "inspect the car" in nxt.text
    assert "didn't catch" not in nxt.text


@pytest.mark.parametrize(
    "text",
    [
        "i'm flying out tomorrow so please hurry",
        "rush it, i'm heading home next week",
        "i'm driving away soon",
    ],
)
def test_where_a_caller_is_going_is_no_name(text: str) -> None:
    assert parse_name(text) is None


def test_a_card_named_by_its_kind_or_brand_is_no_account() -> None:
    said = "my wallet had both cards, one ending five five three zero and the visa ending one two three four"
    assert parse_last4(said, noun="account") is None
    assert parse_last4(said, noun="card") == "5530"
    assert parse_last4("my savings ends in nine oh three four", noun="account") == "9034"


def test_a_replacement_said_as_what_the_caller_wants() -> None:
    assert r"\breplacement\b" in answered_by("sure, a replacement sounds good, overnight if possible")


async def test_two_cards_named_for_which_one_are_both_locked(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "card_services")
    asked = await sim.say(
        "Priya Shah, checking one one seven seven. my bag got snatched on the bus with my cards"
    )
    assert "Which one" in asked.text
    first = await sim.say("the one ending three three eight eight and also the one ending seven seven oh two")
    assert first.calls == [("lock_card", {"reason": "stolen", "card_last4": "3388"})]
    later = await sim.say("no replacements for now thanks")
    assert ("lock_card", {"reason": "stolen", "card_last4": "7702"}) in later.calls


@pytest.mark.parametrize(
    "text",
    [
        "so what does my savings show now",
        "how's the checking account looking after that",
        "what does the checking read",
    ],
)
def test_what_an_account_says_asks_for_its_balance(text: str) -> None:
    assert r"\bbalance" in answered_by(text)


@pytest.mark.parametrize(
    ("text", "card_taken"),
    [
        ("a guy snatched my handbag at the bus stop, my debit card was in it", True),
        ("i think my cards are gone, they were in my coat at the gym", True),
        ("somebody stole my card number and is shopping online with it", False),
        ("there's a charge on my card i never made", False),
    ],
)
def test_the_card_itself_taken_is_for_the_card_team(text: str, card_taken: bool) -> None:
    assert (r"\bit was stolen\b" in answered_by(text)) is card_taken


async def test_a_stolen_wallet_with_who_is_calling_goes_to_card_services(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    reply = await sim.say(
        "my purse got snatched at the farmers market an hour ago with my card in it. Priya Shah, account one one "
        "seven seven, please block it"
    )
    assert reply.tools[:1] == ["handoff_card_services"]


async def test_the_loss_that_brought_the_call_to_claims_is_the_claims_kind(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "insurance", "policy_questions")
    await sim.say("my deductible on H O seven three zero one five five, what is it")
    await sim.say("ugh, and now there's water pouring out of the ceiling from the upstairs bathroom")
    assert sim.agent == "claims_intake"
    await sim.say("policy H O seven three zero one five five")
    filed = await sim.say("at fourteen birch lane in redmond, it started this morning")
    assert filed.tools == ["file_claim"]
    assert filed.calls[0][1]["incident_type"] == "water"
