"""Claims: first notice of loss (file a claim) and claim status."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Literal

from registries.toolstore import ToolContext, ToolError, tool
from registries.toolstore.demo import insurance
from registries.toolstore.demo.speech import money, spell, spoken_date
from registries.toolstore.tools._common import as_date
from registries.toolstore.tools._insurance import POLICY_FIELDS, known_policy

log = logging.getLogger(__name__)

FILED_THIS_CALL = "claims_filed"
"""Session key: the claim numbers filed in this call, the only claims `correct_claim` may change."""

# Which policy kinds can carry which incidents: a car accident needs an auto policy, a burst pipe a home one.
_ALLOWED_KINDS = {"auto": {"auto"}, "home": {"home", "renters"}, "water": {"home", "renters"}}
_STATUS_TEXT = {
    "received": "received and waiting for review",
    "under_review": "under review",
    "adjuster_assigned": "assigned to an adjuster",
    "approved": "approved",
    "paid": "approved and paid",
    "denied": "closed without payment",
}


@tool(
    examples=[
        "I need to report an accident",
        "I was rear-ended yesterday on Main Street and my policy is A U 4 8 2 9 1 3",
        "a pipe burst in my kitchen last night",
        "someone broke into my apartment on Saturday and took my laptop",
        "I want to file a claim, a tree fell on my roof during the storm on November third",
        "my car was stolen from the mall parking lot this morning",
    ],
    reply=(
        "{% if already_filed %}That claim was already filed. {% else %}Your claim is filed. {% endif %}"
        "Your claim number is {{ claim_number_spoken }}. {{ next_step }}"
    ),
    sensitive_fields=(*POLICY_FIELDS, "location", "description"),
)
async def file_claim(
    ctx: ToolContext,
    policy_number: str,
    incident_type: Literal["auto", "home", "theft", "water", "other"],
    incident_date: date,
    location: str,
    description: str,
) -> dict[str, Any]:
    """File a new claim (first notice of loss) once you know the policy number, what happened, when and where.

    Args:
        policy_number: The policy number, like AU-482913.
        incident_type: auto for a vehicle accident, home for damage to a home, theft, water for leaks and floods, or other.
        incident_date: The day it happened.
        location: Where it happened: an address, an intersection or a city.
        description: What happened, in the caller's words, in one or two sentences.
    """
    policy = await known_policy(ctx, policy_number)
    when = as_date(incident_date, what="date")
    today = ctx.clock.today()
    if when > today:
        raise ToolError("That date is in the future. What day did it happen?")
    if not policy.effective_on <= when <= policy.expires_on or (
        policy.status != "active" and when > policy.expires_on
    ):
        start, end = (
            spoken_date(policy.effective_on, today=today),
            spoken_date(policy.expires_on, today=today),
        )
        raise ToolError(
            f"Policy {spell(policy.number)} wasn't active on {spoken_date(when, today=today)}. "
            f"It covers {start} to {end}."
        )
    if policy.kind not in _ALLOWED_KINDS.get(incident_type, {policy.kind}):
        raise ToolError(
            f"Policy {spell(policy.number)} is a {policy.kind} policy, so it can't cover that incident."
        )
    if not location.strip() or not description.strip():
        raise ToolError("I need to know where it happened and a short description of what happened.")
    claim, created = await insurance.file_claim(
        ctx.redis,
        call_id=ctx.call_id,
        policy=policy,
        incident_type=incident_type,
        incident_date=when,
        location=location,
        description=description,
        today=today,
    )
    ctx.session["claim_number"] = claim.number
    filed = [str(n) for n in ctx.session.get(FILED_THIS_CALL, ()) if n != claim.number]
    ctx.session[FILED_THIS_CALL] = [*filed, claim.number]
    log.info("claim filed", extra={"call_id": ctx.call_id, "claim_number": claim.number, "new": created})
    return {
        "claim_number": claim.number,
        "claim_number_spoken": spell(claim.number),
        "policy_number": policy.number,
        "incident_type": claim.incident_type,
        "incident_date_text": spoken_date(claim.incident_date, today=today),
        "next_step": claim.next_step,
        "already_filed": not created,
    }


@tool(
    examples=[
        "can you fix the date you just put down, it was Tuesday",
        "that should say Tuesday, not Wednesday",
        "I gave you the wrong day for the accident, it was the fourth",
        "please change the location you wrote down to Pine Street",
        "it happened at the mall, not at home, can you correct that",
    ],
    reply=(
        "I've corrected claim {{ claim_number_spoken }}: it now says it happened on {{ incident_date_text }}"
        "{% if location %} at {{ location }}{% endif %}. {{ next_step }}"
    ),
    sensitive_fields=("location",),
)
async def correct_claim(
    ctx: ToolContext, claim_number: str, incident_date: date | None = None, location: str | None = None
) -> dict[str, Any]:
    """Correct the day or the place of a claim filed earlier in this call, when the caller puts it right.

    Args:
        claim_number: The number file_claim gave the claim earlier in this call.
        incident_date: The day it really happened, if that is what the caller corrected.
        location: Where it really happened, if that is what the caller corrected.
    """
    number = insurance.claim_number_from(claim_number)
    if number not in ctx.session.get(FILED_THIS_CALL, ()):
        raise ToolError(
            "I can only correct a claim filed on this call. For an older claim, I'll get you a person."
        )
    if incident_date is None and not (location or "").strip():
        raise ToolError("What should I correct on the claim, the day or the place?")
    claim = await insurance.get_claim(ctx.redis, number)
    if claim is None:
        raise ToolError("I couldn't find that claim. Could you read the number to me again?")
    when = as_date(incident_date, what="date") if incident_date is not None else None
    today = ctx.clock.today()
    if when is not None and when > today:
        raise ToolError("That date is in the future. What day did it happen?")
    if when is not None:
        policy = await known_policy(ctx, claim.policy_number)
        if not policy.effective_on <= when <= policy.expires_on:
            raise ToolError(
                f"Policy {spell(policy.number)} wasn't active on {spoken_date(when, today=today)}, "
                "so the claim keeps its day."
            )
    corrected = await insurance.correct_claim(ctx.redis, claim, incident_date=when, location=location)
    log.info("claim corrected", extra={"call_id": ctx.call_id, "claim_number": corrected.number})
    return {
        "claim_number": corrected.number,
        "claim_number_spoken": spell(corrected.number),
        "incident_date_text": spoken_date(corrected.incident_date, today=today),
        "location": location.strip() if location and location.strip() else None,
        "next_step": corrected.next_step,
    }


@tool(
    examples=[
        "what's the status of my claim",
        "I'm calling to check on claim number seven zero zero one zero zero one",
        "has my claim been approved yet",
        "who is the adjuster on claim 7001002",
        "did you send the payment for my claim",
        "any update on the claim I filed last week",
    ],
    reply=(
        "Claim {{ claim_number_spoken }}, filed on {{ filed_text }}, is {{ status_text }}."
        "{% if adjuster %} Your adjuster is {{ adjuster }}.{% endif %}"
        "{% if paid_text %} We paid {{ paid_text }}.{% endif %} {{ next_step }}"
    ),
    sensitive_fields=(*POLICY_FIELDS, "paid_text"),
)
async def get_claim_status(ctx: ToolContext, claim_number: str) -> dict[str, Any]:
    """Look up where a claim stands: its status, adjuster, payment and next step.

    Args:
        claim_number: The seven digit claim number, like 7001001.
    """
    claim = await insurance.get_claim(ctx.redis, claim_number)
    if claim is None:
        heard = spell(insurance.claim_number_from(claim_number))
        raise ToolError(
            f"I couldn't find a claim numbered {heard or 'like that'}. Could you read it to me again?"
        )
    return {
        "claim_number": claim.number,
        "claim_number_spoken": spell(claim.number),
        "policy_number": claim.policy_number,
        "status": claim.status,
        "status_text": _STATUS_TEXT[claim.status],
        "incident_type": claim.incident_type,
        "filed_text": spoken_date(claim.filed_on, today=ctx.clock.today()),
        "adjuster": claim.adjuster,
        "paid_text": money(claim.paid_cents) if claim.paid_cents else None,
        "next_step": claim.next_step,
    }
