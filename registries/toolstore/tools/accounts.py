"""Balances, recent transactions and transfers between the verified caller's own accounts."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import Field

from registries.toolstore import ToolContext, ToolError, tool
from registries.toolstore.demo import bank
from registries.toolstore.demo.dataset import Account, AccountType
from registries.toolstore.demo.speech import cents_from_dollars, listing, money, spell
from registries.toolstore.tools._common import (
    BALANCE_FIELDS,
    describe_transaction,
    transaction_summary,
    verified_customer,
)

log = logging.getLogger(__name__)

MAX_TRANSFER_CENTS = 1_000_000  # larger transfers need a person
DEPOSIT_SEARCH_WINDOW = 50  # transactions searched for deposits or charges only


async def _own_account(ctx: ToolContext, account_type: AccountType) -> Account:
    customer_id = verified_customer(ctx)
    account = await bank.get_account(ctx.redis, customer_id, account_type)
    if account is None:
        raise ToolError(f"I don't see a {account_type} account in your name.")
    return account


@tool(
    examples=[
        "what's my balance",
        "how much money do I have in checking",
        "can you tell me my savings balance",
        "how much is in my savings account right now",
        "what's the balance on my checking account",
        "do I have enough money in checking",
    ],
    reply="Your {{ account_type }} balance is {{ balance_text }}.",
    sensitive_fields=BALANCE_FIELDS,
)
async def get_balance(
    ctx: ToolContext, account_type: Literal["checking", "savings"] = "checking"
) -> dict[str, Any]:
    """Look up the current balance of one of the caller's accounts.

    Args:
        account_type: Which account to read.
    """
    account = await _own_account(ctx, account_type)
    return {
        "account_type": account.type,
        "balance_cents": account.balance_cents,
        "balance_text": money(account.balance_cents),
        "account_last4_spoken": spell(account.last4),
    }


@tool(
    examples=[
        "what are my recent transactions",
        "read me the last five charges on my checking account",
        "what came out of my account recently",
        "can you go over my last three savings transactions",
        "I want to check my latest purchases",
        "was my paycheck deposited",
    ],
    reply=(
        "{% if count == 0 %}I don't see any recent {{ noun }}s on your {{ account_type }} account."
        "{% elif count == 1 %}Your last {{ account_type }} {{ noun }} is {{ transactions_text }}."
        "{% else %}Your last {{ count }} {{ account_type }} {{ noun }}s are: {{ transactions_text }}.{% endif %}"
    ),
    sensitive_fields=("transactions", "transactions_text"),
)
async def get_recent_transactions(
    ctx: ToolContext,
    account_type: Literal["checking", "savings"] = "checking",
    limit: Annotated[int, Field(ge=1, le=10)] = 3,
    kind: Literal["all", "deposits", "charges"] = "all",
) -> dict[str, Any]:
    """List the most recent transactions on one of the caller's accounts, newest first.

    Args:
        account_type: Which account to read.
        limit: How many transactions to read out, from 1 to 10.
        kind: Only money coming in (deposits, such as a paycheck) or going out (charges), or all of them.
    """
    account = await _own_account(ctx, account_type)
    count = max(1, min(int(limit), 10))
    if kind == "all":
        found = await bank.recent_transactions(ctx.redis, account.id, count)
    else:  # filtered from a longer window: "was my paycheck deposited" must not stop at the last 3 charges
        window = await bank.recent_transactions(ctx.redis, account.id, DEPOSIT_SEARCH_WINDOW)
        found = [t for t in window if (t.amount_cents > 0) == (kind == "deposits")][:count]
    return {
        "noun": {"all": "transaction", "deposits": "deposit", "charges": "charge"}[kind],
        "account_type": account.type,
        "count": len(found),
        "transactions": [transaction_summary(t) for t in found],
        "transactions_text": listing([describe_transaction(t) for t in found]),
    }


@tool(
    examples=[
        "I'd like to move money from savings to checking",
        "transfer five hundred dollars from checking to savings",
        "can you put two hundred and fifty dollars into my savings",
        "move 1200 dollars from my savings account into checking",
        "I need to transfer some money between my accounts",
        "send a hundred bucks from checking over to savings please",
    ],
    reply=(
        "{% if already_done %}That transfer was already made. {% endif %}"
        "I moved {{ amount_text }} from your {{ from_account }} to your {{ to_account }}. "
        "Your {{ from_account }} balance is now {{ from_balance_text }}, "
        "and your {{ to_account }} balance is {{ to_balance_text }}."
    ),
    sensitive_fields=("from_balance_cents", "from_balance_text", "to_balance_cents", "to_balance_text"),
)
async def transfer_between_accounts(
    ctx: ToolContext,
    from_account: Literal["checking", "savings"],
    to_account: Literal["checking", "savings"],
    amount: float,
) -> dict[str, Any]:
    """Move money between two of the caller's own accounts. Confirm the amount and direction with the caller first.

    Args:
        from_account: The account the money comes out of.
        to_account: The account the money goes into.
        amount: The amount in dollars, for example 250 or 99.95.
    """
    if from_account == to_account:
        raise ToolError("The money has to move between two different accounts.")
    try:
        cents = cents_from_dollars(amount)
    except ValueError:
        raise ToolError("I didn't catch the amount. How much would you like to transfer?") from None
    if cents <= 0:
        raise ToolError("The amount has to be more than zero.")
    if cents > MAX_TRANSFER_CENTS:
        raise ToolError(
            f"I can transfer up to {money(MAX_TRANSFER_CENTS)} by phone. A team member can help with more."
        )
    source = await _own_account(ctx, from_account)
    target = await _own_account(ctx, to_account)
    outcome = await bank.transfer(
        ctx.redis, call_id=ctx.call_id, source=source, target=target, amount_cents=cents, now=ctx.clock.now()
    )
    if outcome.status == "insufficient":
        raise ToolError(
            f"There isn't enough money in your {from_account} account for that. "
            f"Its balance is {money(outcome.from_balance_cents)}."
        )
    if outcome.status == "missing":
        raise ToolError("I couldn't find one of those accounts.")
    log.info("transfer done", extra={"call_id": ctx.call_id, "replayed": outcome.status == "duplicate"})
    return {
        "from_account": from_account,
        "to_account": to_account,
        "amount_cents": cents,
        "amount_text": money(cents),
        "from_balance_cents": outcome.from_balance_cents,
        "from_balance_text": money(outcome.from_balance_cents),
        "to_balance_cents": outcome.to_balance_cents,
        "to_balance_text": money(outcome.to_balance_cents),
        "already_done": outcome.status == "duplicate",
    }
