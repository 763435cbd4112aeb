"""Policy questions: find a policy, what it covers and its deductible."""

from __future__ import annotations

from typing import Any, Literal

from registries.toolstore import ToolContext, tool
from registries.toolstore.demo.speech import listing, money, spell, spoken_date
from registries.toolstore.tools._insurance import POLICY_FIELDS, known_policy, spoken_kind

CoverageType = Literal[
    "liability", "collision", "comprehensive", "uninsured_motorist", "rental", "roadside",
    "dwelling", "personal_property", "loss_of_use", "water_backup", "flood", "earthquake",
]  # fmt: skip


@tool(
    examples=[
        "my policy number is A U 4 8 2 9 1 3",
        "can you pull up my policy",
        "the policy number is HO-730155",
        "I have my policy number here, it's R E two one five five six six",
        "look up policy four eight two nine one three",
        "is my auto policy still active",
    ],
    reply=(
        "I found {{ holder_first_name }}'s {{ kind }} policy {{ policy_number_spoken }}, covering {{ insured_item }}."
        "{% if active %} It's active through {{ expires_text }}.{% else %} It is not active: it ended on "
        "{{ expires_text }}.{% endif %}"
    ),
    sensitive_fields=(*POLICY_FIELDS, "holder_first_name"),
)
async def lookup_policy(ctx: ToolContext, policy_number: str) -> dict[str, Any]:
    """Find a policy by its number and confirm whose it is, what it insures and whether it is active.

    Args:
        policy_number: The policy number as the caller read it, two letters and six digits, like AU-482913.
    """
    policy = await known_policy(ctx, policy_number)
    active = policy.status == "active" and policy.effective_on <= ctx.clock.today() <= policy.expires_on
    return {
        "policy_number": policy.number,
        "policy_number_spoken": spell(policy.number),
        "kind": policy.kind,
        "holder_first_name": policy.holder_name.split()[0],
        "insured_item": policy.insured_item,
        "active": active,
        "expires_text": spoken_date(policy.expires_on, today=ctx.clock.today()),
        "coverages": [c.type for c in policy.coverages],
    }


@tool(
    examples=[
        "does my policy cover flood damage",
        "am I covered for a rental car while mine is in the shop",
        "what's my liability limit on policy AU-482913",
        "do I have collision coverage",
        "is water backing up from the drain covered on my home policy",
        "how much personal property coverage do I have",
        "would my insurance pay for it if a tree fell on my fence",
    ],
    reply=(
        "{% if covered %}Yes. Your policy includes {{ coverage_text }} coverage for {{ description }}, "
        "up to {{ limit_text }}, with a {{ deductible_text }} deductible."
        "{% else %}Your {{ kind }} policy doesn't include {{ coverage_text }} coverage.{% endif %}"
    ),
    sensitive_fields=POLICY_FIELDS,
)
async def get_coverage(ctx: ToolContext, policy_number: str, coverage_type: CoverageType) -> dict[str, Any]:
    """Tell whether a policy includes a type of coverage, with its limit and deductible.

    Args:
        policy_number: The policy number, like AU-482913.
        coverage_type: The kind of coverage the caller asks about.
    """
    policy = await known_policy(ctx, policy_number)
    coverage = next((c for c in policy.coverages if c.type == coverage_type), None)
    result: dict[str, Any] = {
        "policy_number": policy.number,
        "kind": policy.kind,
        "coverage_type": coverage_type,
        "coverage_text": spoken_kind(coverage_type),
        "covered": coverage is not None,
    }
    if coverage is not None:
        deductible = (
            coverage.deductible_cents if coverage.deductible_cents is not None else policy.deductible_cents
        )
        result |= {
            "description": coverage.description,
            "limit_cents": coverage.limit_cents,
            "limit_text": money(coverage.limit_cents),
            "deductible_cents": deductible,
            "deductible_text": money(deductible),
        }
    return result


@tool(
    examples=[
        "what's my deductible",
        "how much do I have to pay before insurance kicks in",
        "what is the deductible on policy H O 7 3 0 1 5 5",
        "is my deductible five hundred or a thousand",
        "how much is the deductible for my car insurance",
        "do I pay a deductible on a comprehensive claim",
    ],
    reply=(
        "Your {{ kind }} policy deductible is {{ deductible_text }}"
        "{% if exceptions_text %}, except {{ exceptions_text }}{% endif %}."
    ),
    sensitive_fields=POLICY_FIELDS,
)
async def get_deductible(ctx: ToolContext, policy_number: str) -> dict[str, Any]:
    """Read the deductible of a policy, and any coverage with a different deductible.

    Args:
        policy_number: The policy number, like AU-482913.
    """
    policy = await known_policy(ctx, policy_number)
    exceptions = [c for c in policy.coverages if c.deductible_cents not in (None, policy.deductible_cents)]
    return {
        "policy_number": policy.number,
        "kind": policy.kind,
        "deductible_cents": policy.deductible_cents,
        "deductible_text": money(policy.deductible_cents),
        "exceptions_text": listing(
            [f"{spoken_kind(c.type)}, which is {money(c.deductible_cents or 0)}" for c in exceptions]
        ),
    }
