"""Card services: lock a lost, stolen or damaged card, order its replacement, dispute a charge."""

from __future__ import annotations

import logging
from typing import Any, Literal

from registries.toolstore import ToolContext, ToolError, tool
from registries.toolstore.demo import bank
from registries.toolstore.demo.dataset import Card, Transaction
from registries.toolstore.demo.speech import cents_from_dollars, listing, spell, spoken_date
from registries.toolstore.tools._common import (
    TRANSACTION_FIELDS,
    as_last4,
    describe_transaction,
    transaction_summary,
    verified_customer,
)

log = logging.getLogger(__name__)


def _card_list(cards: list[Card]) -> str:
    return listing([spell(c.last4) for c in cards])


async def choose_card(ctx: ToolContext, customer_id: str, card_last4: str | None) -> Card:
    """The caller's card ending in `card_last4`, or their only card; otherwise ask which one."""
    cards = await bank.get_cards(ctx.redis, customer_id)
    if not cards:
        raise ToolError("I don't see any cards on your profile.")
    if card_last4 is not None:
        last4 = as_last4(card_last4, what="card")
        for card in cards:
            if card.last4 == last4:
                return card
        raise ToolError(
            f"I don't see a card ending in {spell(last4)}. Your cards end in {_card_list(cards)}."
        )
    if len(cards) == 1:
        return cards[0]
    raise ToolError(f"You have {len(cards)} cards, ending in {_card_list(cards)}. Which one do you mean?")


@tool(
    examples=[
        "I lost my debit card",
        "my card ending in four two one nine was stolen",
        "someone stole my wallet, please block my card",
        "can you freeze my card, I can't find it anywhere",
        "my card is cracked and won't work at the register",
        "lock the card that ends in 7702, I think I left it at a restaurant",
    ],
    reply=(
        "{% if already_locked %}Your card ending in {{ card_last4_spoken }} is already locked."
        "{% else %}I've locked your card ending in {{ card_last4_spoken }}, so no new purchases can be made with it."
        "{% endif %} Would you like me to order a replacement?"
    ),
)
async def lock_card(
    ctx: ToolContext, reason: Literal["lost", "stolen", "damaged"], card_last4: str | None = None
) -> dict[str, Any]:
    """Lock one of the caller's debit cards right away so no new purchases go through.

    Args:
        reason: Why the card is being locked.
        card_last4: The last four digits of the card; leave empty if the caller has only one card.
    """
    card = await choose_card(ctx, verified_customer(ctx), card_last4)
    newly_locked = await bank.lock_card(ctx.redis, card, reason)
    ctx.session["locked_card_id"] = card.id
    log.info("card locked", extra={"call_id": ctx.call_id, "reason": reason, "already": not newly_locked})
    return {
        "card_last4_spoken": spell(card.last4),
        "network": card.network,
        "reason": reason,
        "already_locked": not newly_locked,
    }


@tool(
    examples=[
        "yes please send me a new card",
        "I need a replacement card",
        "can you rush the new card, I'm traveling next week",
        "order a replacement for the card ending in four two one nine with expedited shipping",
        "how do I get a new debit card",
        "standard shipping is fine for the new card",
    ],
    reply=(
        "{% if already_ordered %}A replacement for your card ending in {{ card_last4_spoken }} is already on its way."
        "{% else %}I've ordered a replacement for your card ending in {{ card_last4_spoken }}.{% endif %}"
        " It should arrive by {{ arrival_text }}{% if expedited %} with expedited shipping{% endif %}."
    ),
)
async def order_replacement_card(
    ctx: ToolContext, expedited: bool = False, card_last4: str | None = None
) -> dict[str, Any]:
    """Order a replacement for a card that has been locked as lost, stolen or damaged.

    Args:
        expedited: True for delivery in two days, False for standard delivery in about a week.
        card_last4: The last four digits of the card to replace; leave empty for the card just locked.
    """
    customer_id = verified_customer(ctx)
    if card_last4 is None and ctx.session.get("locked_card_id"):
        cards = {c.id: c for c in await bank.get_cards(ctx.redis, customer_id)}
        card = cards.get(str(ctx.session["locked_card_id"])) or await choose_card(ctx, customer_id, None)
    else:
        card = await choose_card(ctx, customer_id, card_last4)
    if card.status != "locked":
        raise ToolError(
            f"Before I order a replacement I need to lock the card ending in {spell(card.last4)}. "
            "Was it lost, stolen or damaged?"
        )
    order, created = await bank.order_replacement(
        ctx.redis, card, expedited=expedited, today=ctx.clock.today()
    )
    return {
        "card_last4_spoken": spell(card.last4),
        "expedited": order.expedited,
        "arrival_text": spoken_date(order.arrives_by, today=ctx.clock.today()),
        "already_ordered": not created,
    }


def _matches(txn: Transaction, merchant: str | None, cents: int | None) -> bool:
    if merchant:
        said, name = merchant.casefold().strip(), txn.merchant.casefold()
        if said not in name and name not in said:
            return False
    return cents is None or abs(txn.amount_cents) == cents


async def find_charge(
    ctx: ToolContext, customer_id: str, transaction_id: str | None, merchant: str | None, amount: float | None
) -> list[Transaction]:
    charges = [t for t in await bank.customer_transactions(ctx.redis, customer_id) if t.amount_cents < 0]
    if transaction_id:
        return [t for t in charges if t.id == transaction_id.strip()]
    if not merchant and amount is None:
        raise ToolError("Which charge is it? Tell me the merchant and the amount.")
    cents = cents_from_dollars(amount) if amount is not None else None
    return [t for t in charges if _matches(t, merchant, cents)]


@tool(
    examples=[
        "I want to dispute a charge",
        "I was charged twice at Bella Pizza",
        "there's a charge from Lakeside Hardware for a hundred and twenty nine dollars that's wrong",
        "I never got the package but I was still charged",
        "I cancelled that subscription and they charged me anyway",
        "the restaurant charged me forty two fifty two times, I want my money back",
    ],
    reply=(
        "{% if already_disputed %}The {{ amount_text }} charge at {{ merchant }} is already being disputed."
        "{% else %}I've opened a dispute for the {{ amount_text }} charge at {{ merchant }} on {{ date_text }}."
        "{% endif %} Your case number is {{ case_number_spoken }}."
        "{% if provisional_credit %} You'll see a temporary credit for that amount within two business days.{% endif %}"
        " We'll follow up within ten business days."
    ),
    sensitive_fields=TRANSACTION_FIELDS,
)
async def dispute_charge(
    ctx: ToolContext,
    reason: Literal["duplicate", "wrong_amount", "not_received", "cancelled", "other"],
    transaction_id: str | None = None,
    merchant: str | None = None,
    amount: float | None = None,
) -> dict[str, Any]:
    """Open a dispute for a charge on the caller's account, found by transaction id or by merchant and amount.

    Args:
        reason: Why the caller disputes the charge.
        transaction_id: The transaction id, if known from an earlier tool result.
        merchant: The merchant name as the caller said it.
        amount: The charge amount in dollars, if the caller said it.
    """
    customer_id = verified_customer(ctx)
    found = await find_charge(ctx, customer_id, transaction_id, merchant, amount)
    if not found:
        raise ToolError(
            "I couldn't find that charge. What's the merchant name as it appears on your statement?"
        )
    if len(found) > 1 and reason == "duplicate" and len({t.amount_cents for t in found}) == 1:
        found = found[:1]  # newest first: the second of two identical charges is the duplicate
    if len(found) > 1:
        options = listing([describe_transaction(t) for t in found[:4]])
        raise ToolError(f"I found {len(found)} matching charges: {options}. Which one is it?")
    txn = found[0]
    dispute, created = await bank.open_dispute(ctx.redis, customer_id, txn, reason, today=ctx.clock.today())
    log.info("dispute opened", extra={"call_id": ctx.call_id, "dispute_id": dispute.id, "new": created})
    return {
        **transaction_summary(txn),
        "dispute_id": dispute.id,
        "case_number_spoken": spell(dispute.id),
        "provisional_credit": dispute.provisional_credit,
        "already_disputed": not created,
    }
