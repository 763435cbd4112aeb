"""Where PII masking is configured: a tool's decorator marks its personal data, a scenario's YAML may narrow
or switch off masking, and the shipped tools that handle identity, accounts, balances, transactions and
policies are marked."""

from __future__ import annotations

from pathlib import Path

import pytest

from registries.loader import load_registry
from registries.scenariostore.schema import REDACTION_KINDS, RedactionSpec
from registries.toolstore import ToolDefinitionError, spec_of, tool
from tests.unit.registries.trees import load, problems, write

SCENARIO = "scenarios/helpdesk.yaml"


def add_to_scenario(tree: Path, text: str) -> None:
    path = tree / SCENARIO
    path.write_text(path.read_text() + text)


def test_a_scenario_without_redaction_leaves_it_to_the_default(tree: Path) -> None:
    assert load(tree).scenarios["helpdesk"].redaction is None


def test_a_scenario_may_switch_redaction_off_or_narrow_it(tree: Path) -> None:
    add_to_scenario(tree, "redaction: {enabled: false}\n")
    assert load(tree).scenarios["helpdesk"].redaction == RedactionSpec(enabled=False)
    write(tree, SCENARIO, (tree / SCENARIO).read_text().replace("{enabled: false}", "{kinds: [card, dtmf]}"))
    assert load(tree).scenarios["helpdesk"].redaction == RedactionSpec(enabled=True, kinds=("card", "dtmf"))
    assert RedactionSpec().kinds == REDACTION_KINDS


def test_an_unknown_redaction_kind_is_a_registry_error(tree: Path) -> None:
    kinds_line = len((tree / SCENARIO).read_text().splitlines()) + 2
    add_to_scenario(tree, "redaction:\n  kinds: [card, passport]\n")
    assert problems(tree) == [
        f"{SCENARIO}:{kinds_line}: redaction.kinds[1]: "
        "Input should be 'card', 'account', 'ssn', 'dob', 'dtmf' or 'sensitive_tools'"
    ]


def test_the_decorator_marks_a_tools_personal_data() -> None:
    @tool(sensitive=True)
    def whole(name: str) -> dict[str, str]:
        """Everything personal."""
        return {}

    @tool(sensitive_fields=["date_of_birth", "balance_cents"])
    def fields(date_of_birth: str) -> dict[str, str]:
        """Some fields personal."""
        return {}

    @tool
    def plain() -> dict[str, str]:
        """Nothing personal."""
        return {}

    whole_spec, fields_spec, plain_spec = spec_of(whole), spec_of(fields), spec_of(plain)
    assert whole_spec is not None and fields_spec is not None and plain_spec is not None
    assert whole_spec.sensitive and not whole_spec.sensitive_fields
    assert not fields_spec.sensitive and fields_spec.sensitive_fields == {"date_of_birth", "balance_cents"}
    assert not plain_spec.sensitive and not plain_spec.sensitive_fields
    assert fields_spec.to_json()["sensitive_fields"] == ["balance_cents", "date_of_birth"]
    assert whole_spec.to_json()["sensitive"] is True


@pytest.mark.parametrize("bad", ["date_of_birth", ["ok", ""], [3]])
def test_sensitive_fields_must_be_a_list_of_names(bad: object) -> None:
    def lookup(x: str) -> dict[str, str]:
        """Look up."""
        return {}

    with pytest.raises(ToolDefinitionError, match="sensitive_fields must be a list"):
        tool(sensitive_fields=bad)(lookup)  # type: ignore[arg-type]


SHIPPED = load_registry().tools


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("get_balance", {"balance_cents", "balance_text", "account_last4_spoken"}),
        ("get_recent_transactions", {"transactions", "transactions_text"}),
        ("transfer_between_accounts", {"from_balance_cents", "to_balance_cents"}),
        ("dispute_charge", {"merchant", "amount", "amount_text", "location"}),
        ("list_flagged_transactions", {"transactions", "transactions_text", "first_text"}),
        ("confirm_transaction", {"merchant", "amount_text", "location", "next_text"}),
        ("file_claim", {"policy_number", "location", "description"}),
        ("get_claim_status", {"policy_number", "paid_text"}),
        ("lookup_policy", {"policy_number", "policy_number_spoken", "holder_first_name"}),
        ("get_coverage", {"policy_number"}),
        ("get_deductible", {"policy_number"}),
    ],
)
def test_shipped_tools_mark_their_personal_data(name: str, fields: set[str]) -> None:
    assert fields <= SHIPPED[name].sensitive_fields


def test_identity_verification_is_sensitive_throughout() -> None:
    assert SHIPPED["verify_identity"].sensitive


@pytest.mark.parametrize("name", ["lock_card", "order_replacement_card", "transfer_to_human", "end_call"])
def test_tools_without_personal_data_are_not_marked(name: str) -> None:
    assert not SHIPPED[name].sensitive and not SHIPPED[name].sensitive_fields
