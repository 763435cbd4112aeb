"""The shipped banking and insurance content: every tool well described, and the registry loads cleanly."""

from __future__ import annotations

import json
import re

import pytest

from registries.loader import load_registry, render_greeting, render_return_greeting
from registries.toolstore import ToolContext, ToolSpec, discover_tools

SHIPPED = discover_tools()
BANKING_TOOLS = {
    "verify_identity", "get_balance", "get_recent_transactions", "transfer_between_accounts", "lock_card",
    "order_replacement_card", "dispute_charge", "list_flagged_transactions", "confirm_transaction",
}  # fmt: skip
INSURANCE_TOOLS = {
    "lookup_policy", "file_claim", "correct_claim", "get_coverage", "get_deductible", "get_claim_status",
}  # fmt: skip
CALL_TOOLS = {"transfer_to_human", "end_call"}
TRIAGE_TOOLS = {"transfer_to_nurse"}


def test_the_shipped_tool_set_is_complete() -> None:
    assert set(SHIPPED) == BANKING_TOOLS | INSURANCE_TOOLS | CALL_TOOLS | TRIAGE_TOOLS


@pytest.mark.parametrize("spec", SHIPPED.values(), ids=lambda s: s.name)
def test_every_tool_has_a_description_five_examples_and_a_spoken_reply(spec: ToolSpec) -> None:
    assert spec.description and spec.description.endswith(".")
    assert len(set(spec.examples)) >= 5, spec.examples
    assert spec.context_param is not None and spec.is_async
    assert spec.reply, "every shipped tool speaks its result"
    words = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", spec.reply)
    assert not re.search(r"[*#`$_<>\[\]]", words), f"replies are spoken, no markdown or symbols: {words!r}"


@pytest.mark.parametrize("spec", SHIPPED.values(), ids=lambda s: s.name)
def test_every_argument_is_described_for_the_llm(spec: ToolSpec) -> None:
    for name, schema in spec.parameters["properties"].items():
        assert schema.get("description"), f"{spec.name}.{name}"


def test_the_shipped_registry_loads_without_errors() -> None:
    registry = load_registry()

    assert registry.scenarios["banking"].start_agent == "concierge"
    assert set(registry.scenarios["banking"].agents) == {"concierge", "card_services", "fraud"}
    assert registry.scenarios["insurance"].start_agent == "claims_intake"
    assert set(registry.scenarios["insurance"].agents) == {"claims_intake", "policy_questions"}
    assert registry.scenario_for_number("+18005550100", "none").name == "banking"
    assert registry.scenario_for_number("+18005550200", "none").name == "insurance"
    handoffs = {t.name for t in registry.tools_for("concierge", "banking") if t.handoff}
    assert handoffs == {"handoff_card_services", "handoff_fraud"}


@pytest.mark.parametrize("scenario", ["banking", "insurance", "triage"])
def test_every_agent_greets_in_plain_speech(scenario: str) -> None:
    registry = load_registry()
    for name in registry.scenarios[scenario].agents:
        agent = registry.agents[name]
        for text in (render_greeting(agent, {}), render_return_greeting(agent, {})):
            assert text and "{" not in text and not text.startswith(" "), name
        assert agent.model.deployment == "gpt-4o-mini" and agent.prompt_template.strip()
    greeting = render_greeting(registry.start_agent(scenario), {"caller_display_name": "Sam Lee"})
    assert "Sam Lee" in greeting


async def test_tools_run_through_the_catalog_with_llm_style_json_arguments(ctx: ToolContext) -> None:
    verified = await SHIPPED.invoke(
        "verify_identity", json.dumps({"full_name": "Jordan Rivera", "date_of_birth": "1985-03-14"}), ctx
    )
    balance = await SHIPPED.invoke("get_balance", '{"account_type": "savings"}', ctx)
    bad = await SHIPPED.invoke("get_balance", '{"account_type": "brokerage"}', ctx)
    refused = await SHIPPED.invoke("transfer_between_accounts", '{"from_account": "checking", '
                                   '"to_account": "savings", "amount": 9999}', ctx)  # fmt: skip
    claim = await SHIPPED.invoke(
        "file_claim",
        {"policy_number": "AU-482913", "incident_type": "auto", "incident_date": "2026-11-10",
         "location": "Bellevue", "description": "Hit a deer."},
        ctx,
    )  # fmt: skip

    assert verified.ok and verified.spoken == "Thank you, Jordan, you're verified."
    assert balance.spoken == "Your savings balance is 12,800 dollars."
    assert not bad.ok and bad.error is not None and bad.error.type == "invalid_arguments"
    assert (
        refused.error is not None
        and refused.error.type == "tool_error"
        and "enough money" in refused.error.message
    )
    assert claim.ok and claim.spoken is not None and "Your claim number is 7 0 0 1 1 0 0." in claim.spoken
