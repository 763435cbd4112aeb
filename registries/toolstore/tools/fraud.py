"""Fraud review: read out transactions flagged as suspicious and record whether the caller made them."""

from __future__ import annotations

import logging
from typing import Any

from registries.toolstore import ToolContext, ToolError, tool
from registries.toolstore.demo import bank
from registries.toolstore.demo.speech import listing
from registries.toolstore.tools._common import (
    TRANSACTION_FIELDS,
    describe_transaction,
    transaction_summary,
    verified_customer,
)

log = logging.getLogger(__name__)


@tool(
    examples=[
        "I got a fraud alert text",
        "are there any suspicious charges on my account",
        "you flagged a transaction on my card, what was it",
        "I think someone is using my card",
        "can we go over the transactions you blocked",
        "I got a call saying there was unusual activity on my card ending in four two one nine",
    ],
    reply=(
        "{% if count == 0 %}I don't see any suspicious transactions on your accounts right now."
        "{% elif count == 1 %}I found one transaction to review: {{ transactions_text }}. Did you make it?"
        "{% else %}I found {{ count }} transactions to review. The first is {{ first_text }}. Did you make it?"
        "{% endif %}"
    ),
    sensitive_fields=("transactions", "transactions_text", "first_text"),
)
async def list_flagged_transactions(ctx: ToolContext) -> dict[str, Any]:
    """List the caller's transactions flagged as suspicious that still need their review, oldest first."""
    customer_id = verified_customer(ctx)
    flagged = await bank.flagged_transactions(ctx.redis, customer_id)
    cards = {c.id: c.last4 for c in await bank.get_cards(ctx.redis, customer_id)}
    spoken = [f"{describe_transaction(t)}{f' in {t.location}' if t.location else ''}" for t in flagged]
    return {
        "count": len(flagged),
        "transactions": [transaction_summary(t, cards.get(t.card_id or "")) for t in flagged],
        "transactions_text": listing(spoken),
        "first_text": spoken[0] if spoken else "",
    }


@tool(
    examples=[
        "yes that one was me",
        "no I didn't make that purchase",
        "I don't recognize the ElectroMart charge",
        "the gas station one is mine, I was driving through Orlando",
        "that's not me, I've never been to Las Vegas",
        "I did buy that, you can approve it",
    ],
    reply=(
        "{% if recognized %}Thanks, I've marked the {{ merchant }} charge as yours."
        "{% else %}I've reported the {{ amount_text }} charge at {{ merchant }} as fraud, so you won't pay for it."
        "{% if card_locked %} I've also locked your card ending in {{ card_last4_spoken }}.{% endif %}{% endif %}"
        "{% if remaining == 1 %} There's one more transaction to review: {{ next_text }}. Did you make it?"
        "{% elif remaining > 1 %} There are {{ remaining }} more to review. The next is {{ next_text }}. Did you make it?"
        "{% endif %}"
    ),
    sensitive_fields=(*TRANSACTION_FIELDS, "next_text"),
)
async def confirm_transaction(ctx: ToolContext, transaction_id: str, recognized: bool) -> dict[str, Any]:
    """Record whether the caller made a flagged transaction. A transaction they don't recognize is reported
    as fraud and the card it was made with is locked.

    Args:
        transaction_id: The id of the flagged transaction, from list_flagged_transactions.
        recognized: True if the caller made the transaction, False if they did not.
    """
    customer_id = verified_customer(ctx)
    txn = await bank.get_transaction(ctx.redis, transaction_id.strip())
    accounts = {a.id for a in (await bank.get_accounts(ctx.redis, customer_id)).values()}
    if txn is None or txn.account_id not in accounts:
        raise ToolError("I couldn't find that transaction on your accounts.")
    updated = await bank.resolve_flag(ctx.redis, customer_id, txn, recognized)
    card = next((c for c in await bank.get_cards(ctx.redis, customer_id) if c.id == txn.card_id), None)
    card_locked = False
    if not recognized and card is not None:
        await bank.lock_card(ctx.redis, card, "fraud")
        ctx.session["locked_card_id"] = card.id
        card_locked = True
    log.info(
        "flag resolved", extra={"call_id": ctx.call_id, "transaction_id": txn.id, "fraud": not recognized}
    )
    remaining = await bank.flagged_transactions(ctx.redis, customer_id)
    return {
        **transaction_summary(updated, card.last4 if card else None),
        "recognized": recognized,
        "card_locked": card_locked,
        "remaining": len(remaining),
        "next_transaction_id": remaining[0].id if remaining else None,
        "next_text": describe_transaction(remaining[0]) if remaining else "",
    }
