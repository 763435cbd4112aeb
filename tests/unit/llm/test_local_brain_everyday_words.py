"""Failure classes of the tenth blind set (a tester's ordinary but varied speech), in other words than its
callers': regional and slang names of accounts, cards and coverages ("current account", "the plastic", "hire
car", "windscreen", "nicked"), money arriving described as wages or interest, a transfer asked for only by its
direction, a request the caller denies in the same clause, a name spelled out after it is said, a date with the
month by its number ("the fourth of the tenth"), a "hang on" that answers at once, and a yes to a confirmation
followed by a new question. Then two classes older sets still failed on: someone hurt by the caller's dog or on
their steps, told with no time, is a loss reported; "and I also need ..." starts a second request."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import IntentRouter, LocalBrain
from voice.llm.local_brain.asked import asks_in_so_many_words
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.meta import Meta, classify
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.router import routing_text
from voice.llm.local_brain.second_requests import clauses
from voice.llm.local_brain.spoken import without_spelling

from .harness import SimulatedCall

TODAY = date(2026, 12, 6)
KINDS = ["all", "deposits", "charges"]
INCIDENTS = ["auto", "home", "theft", "water", "other"]
AUTO_COVERAGES = ["liability", "collision", "comprehensive", "uninsured_motorist", "rental", "roadside"]
RENTERS_COVERAGES = ["personal_property", "liability", "loss_of_use"]


def test_regional_names_of_accounts_and_cards_are_routed_as_the_usual_words() -> None:
    assert "checking account" in routing_text("Anything left in the current account?")
    assert "my card" in routing_text("The shop kept my plastic")
    assert (
        routing_text("is the current balance right?") == "is the current balance right?"
    )  # no account named


@pytest.mark.parametrize(
    ("said", "tool"),
    [
        ("Roughly what's there in my current account?", "get_balance"),
        ("what have I got on the savings before the weekend", "get_balance"),
        ("The ticket machine ate my plastic and it never came back out", "handoff_card_services"),
        ("Shift two hundred from the checking over to the savings for me", "transfer_between_accounts"),
        ("No need to move anything from checking to savings, I only want to know the balance", "get_balance"),
        ("Has any interest been paid into my savings this month?", "get_recent_transactions"),
    ],
)
def test_everyday_banking_requests_route(
    router: IntentRouter, snapshot: RegistrySnapshot, said: str, tool: str
) -> None:
    assert router.route(snapshot.tools_for("concierge", "banking"), said).tool == tool


@pytest.mark.parametrize(
    ("said", "values", "value"),
    [
        ("have my wages landed yet", KINDS, "deposits"),
        ("was any interest added on the first", KINDS, "deposits"),
        ("someone pinched my scooter from the bike shed", INCIDENTS, "theft"),
        ("a lorry threw up gravel and chipped the windscreen", INCIDENTS, "auto"),
        ("do I get a courtesy car while it's being repaired", AUTO_COVERAGES, "rental"),
        ("the windscreen has a crack right across it", AUTO_COVERAGES, "comprehensive"),
        ("what if my overflowing bath damaged my neighbor's ceiling", RENTERS_COVERAGES, "liability"),
    ],
)
def test_everyday_words_for_values(said: str, values: list[str], value: str) -> None:
    assert match_enum(said, values) == value


def test_a_name_spelled_out_after_it_is_said() -> None:
    assert parse_name("Hi, it's Marcus, M A R C U S, Chen, that's C H E N.") == "Marcus Chen"
    assert parse_name("jordan, spelled j o r d a n, rivera", asked=True) == "Jordan Rivera"
    # Letters that spell no word just said are kept: a policy's letters, an acronym.
    assert without_spelling("policy a u four eight") == "policy a u four eight"
    assert without_spelling("at the a b c store") == "at the a b c store"


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("the fourteenth of the third, eighty five", date(1985, 3, 14)),
        ("born the 2nd of the 7th 1990", date(1990, 7, 2)),
        ("it's the thirty first of the first, nineteen seventy", date(1970, 1, 31)),
    ],
)
def test_a_date_with_the_month_by_its_number(said: str, born: date) -> None:
    assert parse_date(said, today=TODAY, require_year=True) == born


def test_the_first_of_the_month_is_no_month_by_number() -> None:
    assert parse_date("paid on the first of the month", today=TODAY, require_year=True) is None


def test_a_hold_that_answers_at_once_is_an_answer() -> None:
    assert classify("Hold on, right, yes, I did fill up at that petrol station.") is None
    assert classify("wait, come to think of it, that one is mine") is None
    assert classify("hang on a sec") is Meta.HOLD


async def test_a_yes_then_a_new_question_runs_the_confirmed_transfer_first(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Jordan Rivera, account ending four eight two one")
    asked = await sim.say("please move two hundred dollars from checking to savings")
    assert asked.text.endswith("?") and not asked.calls
    reply = await sim.say("Yes please, do it. Then how much is in checking afterwards?")
    assert reply.calls == [
        ("transfer_between_accounts", {"from_account": "checking", "to_account": "savings", "amount": 200}),
        ("get_balance", {"account_type": "checking"}),
    ]


async def test_a_yes_taken_back_in_the_next_sentence_moves_nothing(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis
) -> None:
    sim = SimulatedCall(live_brain, snapshot, redis, "banking", "concierge")
    await sim.say("Priya Shah, last four one one seven seven")
    await sim.say("move fifty dollars from savings into checking")
    reply = await sim.say("Yes. Actually wait, hold off, what's my savings balance first?")
    assert reply.calls == [("get_balance", {"account_type": "savings"})]


@pytest.mark.parametrize(
    ("said", "tool"),
    [
        (
            "Our puppy nipped a delivery driver on the porch, and the poor guy had to get four stitches.",
            "file_claim",
        ),
        ("A guest slipped on the ice on our driveway and broke her wrist.", "file_claim"),
        (
            "If my dog bit a neighbour, would my policy cover that?",
            "handoff_policy_questions",
        ),  # asks, reports not
    ],
)
def test_someone_hurt_with_no_time_said_is_a_loss_reported(
    router: IntentRouter, snapshot: RegistrySnapshot, said: str, tool: str
) -> None:
    assert router.route(snapshot.tools_for("claims_intake", "insurance"), said).tool == tool


def test_only_a_clause_that_does_not_want_it_denies_a_request() -> None:
    assert not asks_in_so_many_words("I don't want to file a claim, it's only a scratch")
    assert asks_in_so_many_words("I'm not sure it's worth it, but I'd like to file a claim")
    assert asks_in_so_many_words("I don't know if I should, can you put fifty from savings into checking")


def test_a_second_request_after_and_i_also_need() -> None:
    said = "Where's my claim at, seven oh oh one oh oh two, and I really need to report a burst pipe too."
    assert clauses(said) == [
        "Where's my claim at, seven oh oh one oh oh two",
        "I really need to report a burst pipe too.",
    ]
