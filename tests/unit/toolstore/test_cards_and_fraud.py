"""Card services (lock, replace, dispute) and fraud review (flagged transactions)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from registries.toolstore import ToolContext, ToolError
from registries.toolstore.demo import bank
from registries.toolstore.demo.speech import spoken_date
from registries.toolstore.tools.cards import dispute_charge, lock_card, order_replacement_card
from registries.toolstore.tools.fraud import confirm_transaction, list_flagged_transactions
from tests.unit.toolstore.conftest import VerifiedAs
from tests.unit.toolstore.replies import spoken

NOV_11, NOV_17 = spoken_date(date(2026, 11, 11)), spoken_date(date(2026, 11, 17))


async def _card_status(redis: Redis, customer_id: str) -> dict[str, str]:
    return {c.last4: c.status for c in await bank.get_cards(redis, customer_id)}


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: lock_card(ctx, "lost"),
        lambda ctx: order_replacement_card(ctx),
        lambda ctx: dispute_charge(ctx, "duplicate", merchant="Bella Pizza"),
        lambda ctx: list_flagged_transactions(ctx),
        lambda ctx: confirm_transaction(ctx, "t104", recognized=False),
    ],
)
async def test_card_and_fraud_tools_need_a_verified_caller(ctx: ToolContext, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ToolError, match="verify your identity first"):
        await call(ctx)


async def test_a_lost_card_is_locked_and_a_replacement_ordered(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("jordan")

    locked = await lock_card(ctx, "stolen", card_last4="4219")
    order = await order_replacement_card(ctx, expedited=True)

    assert await _card_status(redis, "c1") == {"4219": "locked"}
    assert spoken(lock_card, locked) == (
        "I've locked your card ending in 4 2 1 9, so no new purchases can be made with it. "
        "Would you like me to order a replacement?"
    )
    arrival = spoken_date(date.today() + timedelta(days=2))
    assert spoken(order_replacement_card, order) == (
        f"I've ordered a replacement for your card ending in 4 2 1 9. It should arrive by {arrival} "
        "with expedited shipping."
    )


async def test_locking_and_ordering_again_are_idempotent(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")
    await lock_card(ctx, "lost")
    first = await order_replacement_card(ctx)

    again = await lock_card(ctx, "lost")
    reorder = await order_replacement_card(ctx, expedited=True)

    assert again["already_locked"] is True
    assert spoken(lock_card, again).startswith("Your card ending in 4 2 1 9 is already locked.")
    assert reorder["already_ordered"] is True
    assert reorder["arrival_text"] == first["arrival_text"] and reorder["expedited"] is False


async def test_a_caller_with_several_cards_is_asked_which_one(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("priya")

    with pytest.raises(ToolError, match=r"2 cards, ending in 7 7 0 2 and 3 3 8 8\. Which one"):
        await lock_card(ctx, "lost")
    with pytest.raises(ToolError, match="don't see a card ending in 1 2 3 4"):
        await lock_card(ctx, "lost", card_last4="1234")
    assert await _card_status(redis, "c2") == {"7702": "active", "3388": "active"}

    await lock_card(ctx, "damaged", card_last4="3 3 8 8")
    assert await _card_status(redis, "c2") == {"7702": "active", "3388": "locked"}


async def test_a_replacement_needs_the_card_locked_first(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")
    with pytest.raises(ToolError, match="need to lock the card ending in 4 2 1 9"):
        await order_replacement_card(ctx)


async def test_a_duplicate_charge_is_disputed_once(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("marcus")  # charged twice at Bella Pizza

    out = await dispute_charge(ctx, "duplicate", merchant="bella pizza", amount=42.50)
    again = await dispute_charge(ctx, "duplicate", transaction_id="t502")

    assert out["transaction_id"] == "t502"  # the later of the two identical charges
    assert (await bank.get_transaction(redis, "t502")).status == "disputed"  # type: ignore[union-attr]
    assert (await bank.get_transaction(redis, "t501")).status == "posted"  # type: ignore[union-attr]
    text = spoken(dispute_charge, out)
    assert text.startswith(
        f"I've opened a dispute for the 42 dollars and 50 cents charge at Bella Pizza on {NOV_11}."
    )
    assert "temporary credit" in text
    assert again["already_disputed"] is True and again["dispute_id"] == out["dispute_id"]


async def test_an_ambiguous_or_unknown_charge_is_a_question_back(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("marcus")
    with pytest.raises(ToolError, match="found 2 matching charges"):
        await dispute_charge(ctx, "wrong_amount", merchant="Bella Pizza")
    with pytest.raises(ToolError, match="couldn't find that charge"):
        await dispute_charge(ctx, "other", merchant="Nowhere Diner")
    with pytest.raises(ToolError, match="Which charge"):
        await dispute_charge(ctx, "other")
    with pytest.raises(ToolError, match="couldn't find that charge"):
        await dispute_charge(ctx, "other", transaction_id="t101")  # Jordan's


async def test_flagged_transactions_are_listed_oldest_first(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")

    out = await list_flagged_transactions(ctx)

    assert [t["transaction_id"] for t in out["transactions"]] == ["t104", "t105"]
    assert out["transactions"][0]["card_last4_spoken"] == "4 2 1 9"
    assert spoken(list_flagged_transactions, out) == (
        "I found 2 transactions to review. The first is 899 dollars and 99 cents at ElectroMart Online "
        f"on {NOV_17} in Miami. Did you make it?"
    )


async def test_a_customer_with_nothing_flagged_hears_so(verified_as: VerifiedAs) -> None:
    out = await list_flagged_transactions(await verified_as("priya"))
    assert (
        spoken(list_flagged_transactions, out)
        == "I don't see any suspicious transactions on your accounts right now."
    )


async def test_a_denied_transaction_is_fraud_and_locks_the_card(
    verified_as: VerifiedAs, redis: Redis
) -> None:
    ctx = await verified_as("jordan")

    out = await confirm_transaction(ctx, "t104", recognized=False)

    assert (await bank.get_transaction(redis, "t104")).status == "fraud"  # type: ignore[union-attr]
    assert await _card_status(redis, "c1") == {"4219": "locked"}
    assert spoken(confirm_transaction, out) == (
        "I've reported the 899 dollars and 99 cents charge at ElectroMart Online as fraud, so you won't pay for it. "
        "I've also locked your card ending in 4 2 1 9. There's one more transaction to review: "
        f"75 dollars at QuickFuel Station on {NOV_17}. Did you make it?"
    )
    assert (await order_replacement_card(ctx))["card_last4_spoken"] == "4 2 1 9"  # the card just locked


async def test_a_recognized_transaction_is_cleared(verified_as: VerifiedAs, redis: Redis) -> None:
    ctx = await verified_as("jordan")

    out = await confirm_transaction(ctx, "t105", recognized=True)

    assert (await bank.get_transaction(redis, "t105")).status == "confirmed"  # type: ignore[union-attr]
    assert await _card_status(redis, "c1") == {"4219": "active"}
    assert [t["transaction_id"] for t in (await list_flagged_transactions(ctx))["transactions"]] == ["t104"]
    assert spoken(confirm_transaction, out).startswith(
        "Thanks, I've marked the QuickFuel Station charge as yours."
    )


async def test_another_customers_transaction_cannot_be_reviewed(
    verified_as: VerifiedAs, redis: Redis
) -> None:
    ctx = await verified_as("priya")
    with pytest.raises(ToolError, match="couldn't find that transaction"):
        await confirm_transaction(ctx, "t104", recognized=True)
    with pytest.raises(ToolError, match="couldn't find that transaction"):
        await confirm_transaction(ctx, "nope", recognized=True)
    assert (await bank.get_transaction(redis, "t104")).flagged is True  # type: ignore[union-attr]
