"""Identity verification, balances, recent transactions and transfers between the caller's own accounts."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from redis.asyncio import Redis

from registries.toolstore import ToolContext, ToolError
from registries.toolstore.demo import bank
from registries.toolstore.demo.speech import spoken_date
from registries.toolstore.tools.accounts import (
    get_balance,
    get_recent_transactions,
    transfer_between_accounts,
)
from registries.toolstore.tools.identity import verify_identity
from tests.unit.toolstore.conftest import VerifiedAs
from tests.unit.toolstore.replies import spoken

NOT_VERIFIED = "I need to verify your identity first."


async def test_a_caller_is_verified_by_name_and_account_last_four(ctx: ToolContext) -> None:
    out = await verify_identity(ctx, "jordan rivera", account_last4="4 8 2 1")

    assert ctx.session["customer_id"] == "c1"
    assert spoken(verify_identity, out) == "Thank you, Jordan, you're verified."


async def test_a_caller_is_verified_by_name_and_date_of_birth(ctx: ToolContext) -> None:
    await verify_identity(ctx, "Priya Shah", date_of_birth=date(1990, 7, 2))
    assert ctx.session["customer_id"] == "c2"


async def test_the_date_of_birth_may_arrive_as_iso_text(ctx: ToolContext) -> None:
    await verify_identity(ctx, "Marcus Chen", date_of_birth="1978-11-23")  # type: ignore[arg-type]
    assert ctx.session["customer_id"] == "c3"


async def test_verification_needs_a_second_factor(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"last four digits .* or your date of birth"):
        await verify_identity(ctx, "Jordan Rivera")
    assert "customer_id" not in ctx.session
    assert "verification_failures" not in ctx.session  # asking again is not a failed attempt


async def test_someone_elses_account_digits_do_not_verify(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="don't match"):
        await verify_identity(ctx, "Jordan Rivera", account_last4="1177")  # Priya's account
    assert "customer_id" not in ctx.session


async def test_three_failed_attempts_lock_verification_and_suggest_a_person(ctx: ToolContext) -> None:
    for _ in range(2):
        with pytest.raises(ToolError, match="try again"):
            await verify_identity(ctx, "Jordan Rivera", date_of_birth=date(1985, 3, 15))
    with pytest.raises(ToolError, match=r"three attempts.*transfer you") as third:
        await verify_identity(ctx, "Jordan Rivera", account_last4="0000")

    with pytest.raises(ToolError) as fourth:  # even the right details no longer work on this call
        await verify_identity(ctx, "Jordan Rivera", account_last4="4821")
    assert fourth.value.message == third.value.message
    assert "customer_id" not in ctx.session


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: get_balance(ctx),
        lambda ctx: get_recent_transactions(ctx),
        lambda ctx: transfer_between_accounts(ctx, "savings", "checking", 10),
    ],
)
async def test_account_tools_need_a_verified_caller(ctx: ToolContext, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ToolError) as error:
        await call(ctx)
    assert error.value.message == NOT_VERIFIED


async def test_balance_is_read_and_spoken(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")

    checking = await get_balance(ctx)
    savings = await get_balance(ctx, "savings")

    assert checking["balance_cents"] == 245075
    assert spoken(get_balance, checking) == "Your checking balance is 2,450 dollars and 75 cents."
    assert spoken(get_balance, savings) == "Your savings balance is 12,800 dollars."


async def test_an_account_the_caller_does_not_have_is_a_tool_error(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("marcus")  # checking only
    with pytest.raises(ToolError, match="don't see a savings account"):
        await get_balance(ctx, "savings")


async def test_recent_transactions_come_newest_first_and_read_well(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")

    out = await get_recent_transactions(ctx, "checking", limit=2)

    assert [t["merchant"] for t in out["transactions"]] == ["City Power and Light", "QuickFuel Station"]
    text = spoken(get_recent_transactions, out)
    assert text.startswith("Your last 2 checking transactions are: 112 dollars and 40 cents at City Power")
    assert f"75 dollars at QuickFuel Station on {spoken_date(date(2026, 11, 17))}" in text


async def test_deposits_are_found_past_the_latest_charges(verified_as: VerifiedAs) -> None:
    """ "Did my paycheck go in?": the deposit is older than the last three charges, and is still found."""
    ctx = await verified_as("jordan")
    latest = await get_recent_transactions(ctx, "checking", limit=3)
    assert all(t["amount_cents"] < 0 for t in latest["transactions"])
    deposits = await get_recent_transactions(ctx, "checking", limit=3, kind="deposits")
    assert deposits["count"] >= 1 and all(t["amount_cents"] > 0 for t in deposits["transactions"])
    assert spoken(get_recent_transactions, deposits).startswith("Your last")
    assert "deposit" in spoken(get_recent_transactions, deposits)
    charges = await get_recent_transactions(ctx, "checking", limit=2, kind="charges")
    assert charges["transactions"] == latest["transactions"][:2]


async def test_recent_transactions_limit_is_clamped(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")
    one = await get_recent_transactions(ctx, limit=0)
    assert one["count"] == 1
    assert spoken(get_recent_transactions, one).startswith("Your last checking transaction is 112 dollars")
    assert (await get_recent_transactions(ctx, limit=500))["count"] == 6


async def test_a_transfer_moves_money_between_both_accounts(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("jordan")

    out = await transfer_between_accounts(ctx, "savings", "checking", 500.25)

    accounts = await bank.get_accounts(redis, "c1")
    assert accounts["savings"].balance_cents == 1280000 - 50025
    assert accounts["checking"].balance_cents == 245075 + 50025
    assert spoken(transfer_between_accounts, out) == (
        "I moved 500 dollars and 25 cents from your savings to your checking. Your savings balance is now "
        "12,299 dollars and 75 cents, and your checking balance is 2,951 dollars."
    )
    history = await get_recent_transactions(ctx, "savings", limit=1)
    assert history["transactions"][0]["merchant"] == "Transfer to checking"


async def test_the_same_transfer_twice_in_one_call_moves_money_once(
    verified_as: VerifiedAs, redis: Redis
) -> None:
    ctx = await verified_as("jordan")

    first = await transfer_between_accounts(ctx, "checking", "savings", 100)
    again = await transfer_between_accounts(ctx, "checking", "savings", 100.0)

    assert (await bank.get_account(redis, "c1", "checking")).balance_cents == 245075 - 10000  # type: ignore[union-attr]
    assert again["already_done"] is True and first["already_done"] is False
    assert again["from_balance_cents"] == first["from_balance_cents"]
    assert spoken(transfer_between_accounts, again).startswith("That transfer was already made.")


async def test_a_transfer_replayed_concurrently_still_moves_money_once(
    verified_as: VerifiedAs, redis: Redis
) -> None:
    ctx = await verified_as("jordan")

    results = await asyncio.gather(
        *(transfer_between_accounts(ctx, "savings", "checking", 75) for _ in range(4))
    )

    assert sorted(r["already_done"] for r in results) == [False, True, True, True]
    assert (await bank.get_account(redis, "c1", "savings")).balance_cents == 1280000 - 7500  # type: ignore[union-attr]


async def test_another_call_may_make_the_same_transfer(
    verified_as: VerifiedAs, make_ctx, redis: Redis
) -> None:  # type: ignore[no-untyped-def]
    await transfer_between_accounts(await verified_as("jordan"), "checking", "savings", 100)
    other = make_ctx(call_id="call-2")
    other.session["customer_id"] = "c1"

    await transfer_between_accounts(other, "checking", "savings", 100)

    assert (await bank.get_account(redis, "c1", "checking")).balance_cents == 245075 - 20000  # type: ignore[union-attr]


async def test_a_transfer_larger_than_the_balance_is_refused(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("priya")  # 318 dollars and 20 cents in checking

    with pytest.raises(ToolError, match=r"isn't enough money .* 318 dollars and 20 cents"):
        await transfer_between_accounts(ctx, "checking", "savings", 318.21)

    assert (await bank.get_account(redis, "c2", "checking")).balance_cents == 31820  # type: ignore[union-attr]
    assert (await bank.get_account(redis, "c2", "savings")).balance_cents == 420000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "target", "amount", "message"),
    [
        ("checking", "checking", 10, "two different accounts"),
        ("checking", "savings", 0, "more than zero"),
        ("checking", "savings", -5, "more than zero"),
        ("checking", "savings", 0.004, "more than zero"),
        ("checking", "savings", 25000, "up to 10,000 dollars"),
    ],
)
async def test_invalid_transfers_are_refused(
    verified_as: VerifiedAs, source, target, amount, message
) -> None:  # type: ignore[no-untyped-def]
    ctx = await verified_as("jordan")
    with pytest.raises(ToolError, match=message):
        await transfer_between_accounts(ctx, source, target, amount)


async def test_a_transfer_to_an_account_the_caller_does_not_have_is_refused(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("marcus")
    with pytest.raises(ToolError, match="don't see a savings account"):
        await transfer_between_accounts(ctx, "checking", "savings", 10)
