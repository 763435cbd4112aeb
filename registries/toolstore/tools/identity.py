"""Caller identity verification for the banking line: full name plus account last four or date of birth."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from registries.toolstore import ToolContext, ToolError, tool
from registries.toolstore.demo import bank
from registries.toolstore.tools._common import as_date, as_last4

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
_LOCKED_OUT = (
    "I'm sorry, I wasn't able to verify your identity after three attempts. "
    "I can transfer you to a member of our team who can help."
)


@tool(
    examples=[
        "I want to verify my identity",
        "my name is Jordan Rivera and the last four of my account are four eight two one",
        "this is Priya Shah, my date of birth is July second nineteen ninety",
        "Marcus Chen, born November twenty third, nineteen seventy eight",
        "sure, it's Jordan Rivera, account ending in 4821",
        "my birthday is March fourteenth 1985 and my name is Jordan Rivera",
    ],
    reply="Thank you, {{ first_name }}, you're verified.",
    sensitive=True,  # names, account digits, birth dates
)
async def verify_identity(
    ctx: ToolContext,
    full_name: str,
    account_last4: str | None = None,
    date_of_birth: date | None = None,
) -> dict[str, Any]:
    """Verify the caller's identity before any account information is shared.

    Needs the caller's full name and either the last four digits of one of their accounts or their date
    of birth. After three failed attempts the caller must be transferred to a human.

    Args:
        full_name: The caller's first and last name as they said it.
        account_last4: The last four digits of any of the caller's checking or savings accounts.
        date_of_birth: The caller's date of birth.
    """
    failures = int(ctx.session.get("verification_failures", 0))
    if failures >= MAX_ATTEMPTS:
        raise ToolError(_LOCKED_OUT)
    if account_last4 is None and date_of_birth is None:
        raise ToolError(
            "I also need either the last four digits of one of your accounts or your date of birth."
        )
    last4 = as_last4(account_last4, what="account") if account_last4 is not None else None
    born = as_date(date_of_birth, what="date of birth") if date_of_birth is not None else None

    for customer in await bank.customers_named(ctx.redis, full_name):
        accounts = await bank.get_accounts(ctx.redis, customer.id)
        if (last4 and any(a.last4 == last4 for a in accounts.values())) or born == customer.date_of_birth:
            ctx.session["customer_id"] = customer.id
            ctx.session["customer_first_name"] = customer.first_name
            ctx.session.pop("verification_failures", None)
            log.info("caller verified", extra={"call_id": ctx.call_id, "customer_id": customer.id})
            return {"verified": True, "first_name": customer.first_name}

    failures += 1
    ctx.session["verification_failures"] = failures
    log.info("caller verification failed", extra={"call_id": ctx.call_id, "attempt": failures})
    if failures >= MAX_ATTEMPTS:
        raise ToolError(_LOCKED_OUT)
    raise ToolError(
        "I'm sorry, those details don't match our records. Could you please check them and try again?"
    )
