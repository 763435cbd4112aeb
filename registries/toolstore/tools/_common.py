"""Helpers shared by the shipped tools: session identity and forgiving parsing of spoken values."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

from registries.toolstore import ToolContext, ToolError
from registries.toolstore.demo.dataset import Transaction, TransactionStatus
from registries.toolstore.demo.speech import digits, money, spell, spoken_date

NOT_VERIFIED = "I need to verify your identity first."

# Personal data the tools take or return, masked where calls are stored (`@tool(sensitive_fields=...)`).
# Card last fours stay: they name a card, as the agent does aloud, and transcripts keep them too.
BALANCE_FIELDS = ("balance_cents", "balance_text", "account_last4_spoken")
TRANSACTION_FIELDS = ("merchant", "amount", "amount_cents", "amount_text", "date_text", "location", "spoken")
"""A transaction's details (what the caller bought, where, when); its id stays, to look it up."""


def verified_customer(ctx: ToolContext) -> str:
    """The customer id verified earlier in this call, or a ToolError asking to verify first."""
    customer_id = ctx.session.get("customer_id")
    if not customer_id:
        raise ToolError(NOT_VERIFIED)
    return str(customer_id)


def as_date(value: date | str, *, what: str = "date") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ToolError(f"I didn't catch that {what}. Could you say the month, day and year?") from None


def as_last4(value: str | int, *, what: str = "number") -> str:
    found = digits(str(value))
    if len(found) != 4:
        raise ToolError(f"I need exactly the last four digits of the {what}.")
    return found


def describe_transaction(txn: Transaction) -> str:
    """One transaction as a short spoken phrase, e.g. "75 dollars at QuickFuel Station on November 17th"."""
    when = spoken_date(txn.posted_at.date())
    if txn.amount_cents >= 0:
        return f"a deposit of {money(txn.amount_cents)} from {txn.merchant} on {when}"
    return f"{money(txn.amount_cents)} at {txn.merchant} on {when}"


class TransactionSummary(TypedDict):
    """A transaction as the tools return it to the LLM and their reply templates."""

    transaction_id: str
    merchant: str
    amount_cents: int
    amount_text: str
    date_text: str
    location: str | None
    card_last4_spoken: str | None
    status: TransactionStatus
    spoken: str


def transaction_summary(txn: Transaction, card_last4: str | None = None) -> TransactionSummary:
    return {
        "transaction_id": txn.id,
        "merchant": txn.merchant,
        "amount_cents": txn.amount_cents,
        "amount_text": money(txn.amount_cents),
        "date_text": spoken_date(txn.posted_at.date()),
        "location": txn.location,
        "card_last4_spoken": spell(card_last4) if card_last4 else None,
        "status": txn.status,
        "spoken": describe_transaction(txn),
    }
