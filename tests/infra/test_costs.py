"""infra/README.md's cost tables are what `python -m apps.backend.cost_estimate` computes from the shipped price
table, so a price change cannot leave the deployment docs behind."""

from __future__ import annotations

import pytest

from tests.infra import tools

# The estimate prices with the call ledger's code (pydantic): the app venv (`make test`) runs this test.
cost_estimate = pytest.importorskip("apps.backend.cost_estimate", reason="needs the app venv (make test)")


def test_readme_carries_the_computed_cost_tables() -> None:
    readme = (tools.ROOT / "infra/README.md").read_text()
    rendered = cost_estimate.render()
    assert rendered in readme, "re-run `.venv/bin/python -m apps.backend.cost_estimate` into infra/README.md"


def test_every_usage_line_is_priced_by_the_shipped_table() -> None:
    from voice.usage.prices import load_price_table

    table = load_price_table()
    for minute in (cost_estimate.CASCADE_MINUTE, cost_estimate.VOICELIVE_MINUTE):
        rows = cost_estimate.usage_rows(table, minute)
        assert all(value > 0 for _, value in rows[1:]), rows
    acs = table.entry_for("acs", "pstn")
    assert acs is not None and acs.per_call_minute is not None
    (_item, value), *_ = cost_estimate.usage_rows(table, cost_estimate.CASCADE_MINUTE)
    assert value == pytest.approx(float(acs.per_call_minute + (acs.per_media_minute or 0)) * 1000)
