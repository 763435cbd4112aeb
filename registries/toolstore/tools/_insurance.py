"""Helpers shared by the insurance tools."""

from __future__ import annotations

from registries.toolstore import ToolContext, ToolError
from registries.toolstore.demo import insurance
from registries.toolstore.demo.dataset import Policy
from registries.toolstore.demo.speech import spell

POLICY_FIELDS = ("policy_number", "policy_number_spoken")
"""Masked where calls are stored (`@tool(sensitive_fields=...)`): a policy number is the customer's account
number, the one thing that finds their policy."""


async def known_policy(ctx: ToolContext, policy_number: str) -> Policy:
    policy = await insurance.find_policy(ctx.redis, policy_number)
    if policy is None:
        heard = spell(policy_number)
        said = f" {heard}" if heard else ""
        raise ToolError(f"I couldn't find a policy with the number{said}. Could you read it to me again?")
    ctx.session["policy_number"] = policy.number
    return policy


def spoken_kind(value: str) -> str:
    return value.replace("_", " ")
