"""A call's usage meter: each amount is priced and published once (one `cost_update`, the Prometheus counters),
the running total is the cost document's total to the last digit however the increments round, a response
seen again after a reconnect publishes nothing, and a call resumed on another worker goes on from its totals
without sending them again."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry

from apps.backend.calls.cost import CallUsageMeter, cost_document
from apps.backend.calls.live_events import CallEventPublisher, CostUpdateEvent
from apps.backend.calls.record_writer import CallRecordWriter
from apps.backend.observability.usage_metrics import UsageMetrics
from apps.backend.storage.call_store import CallChannel, CallDirection, CallRecord
from voice.usage.amounts import UsageAmounts, realtime_amounts
from voice.usage.prices import parse_price_table

PRICES = parse_price_table(
    Path("prices.yaml"),
    """\
as_of: 2025-09-01
currency: USD
sources: [https://example.invalid/prices]
prices:
  - provider: azure-openai
    models: [gpt-4o-mini]
    input_per_million_tokens: 0.15
    cached_input_per_million_tokens: 0.075
    output_per_million_tokens: 0.60
  - provider: "*"
    models: [gpt-realtime]
    input_text_per_million_tokens: 4
    cached_input_text_per_million_tokens: 0.4
    output_text_per_million_tokens: 16
    input_audio_per_million_tokens: 32
    cached_input_audio_per_million_tokens: 0.4
    output_audio_per_million_tokens: 64
""",
)


class Writer:
    """Applies what the meter writes to one record at once (the real writer does it behind the call)."""

    def __init__(self, record: CallRecord) -> None:
        self.record = record

    def submit(self, mutate: Callable[[CallRecord], Any], **_: Any) -> None:
        mutate(self.record)


class Events:
    def __init__(self) -> None:
        self.published: list[CostUpdateEvent] = []

    def publish(self, event: CostUpdateEvent) -> None:
        self.published.append(event)


def meter(record: CallRecord, metrics: UsageMetrics | None = None) -> tuple[CallUsageMeter, Events]:
    events = Events()
    usage = CallUsageMeter(
        record.call_id,
        record.channel,
        PRICES,
        cast(CallRecordWriter, Writer(record)),
        cast(CallEventPublisher, events),
        metrics,
    )
    return usage, events


def record() -> CallRecord:
    return CallRecord(
        call_id="c1", direction=CallDirection.INBOUND, channel=CallChannel.RELAY, scenario="banking"
    )


def test_increments_add_up_to_the_documents_total_exactly_however_they_round() -> None:
    call = record()
    usage, events = meter(call)
    # Each report costs 0.00000075 (rounds up to a millionth alone); ten cost 0.0000075 (rounds to 0.000008).
    for _ in range(10):
        usage.ledger.record("azure-openai", "gpt-4o-mini", UsageAmounts(requests=1, input_tokens=5))
        assert usage.flush() is not None
    document = cost_document(call, PRICES)
    assert document.total == Decimal("0.000008")
    assert [e.total for e in events.published][-1] == document.total
    assert sum((e.increment for e in events.published), Decimal(0)) == document.total
    # Pricing each increment on its own would have said 0.00001: the total is not a sum of rounded steps.
    assert sum((e.lines[0].cost for e in events.published), Decimal(0)) == Decimal("0.000010")
    assert [e.lines[0].usage.input_tokens for e in events.published] == [5] * 10


def test_a_response_seen_again_after_a_reconnect_is_neither_counted_nor_published_again() -> None:
    call = record()
    usage, events = meter(call)
    done = {"input_tokens": 1000, "output_tokens": 200}
    assert usage.ledger.record("openai-realtime", "gpt-realtime", realtime_amounts(done), key="resp_1")
    first = usage.flush()
    assert first is not None and first.increment == first.total == Decimal("0.007200")
    # The same response.done again (a replay on the new upstream): nothing new, no update, nothing written.
    assert not usage.ledger.record("openai-realtime", "gpt-realtime", realtime_amounts(done), key="resp_1")
    assert usage.flush() is None
    assert len(events.published) == 1
    assert call.usage[0].usage.input_tokens == 1000 and call.usage[0].usage.requests == 1


def test_a_resumed_call_goes_on_from_its_written_totals() -> None:
    before = record()
    first, _ = meter(before)
    first.ledger.record("azure-openai", "gpt-4o-mini", UsageAmounts(requests=1, input_tokens=10_000))
    first.flush()
    assert cost_document(before, PRICES).total == Decimal("0.001500")

    after = before.model_copy(deep=True)  # the record as another worker reads it
    resumed, events = meter(after)
    resumed.resume(after.usage)
    assert resumed.flush() is None  # nothing new: the written totals are not sent again
    resumed.ledger.record("azure-openai", "gpt-4o-mini", UsageAmounts(requests=1, output_tokens=1000))
    update = resumed.flush()
    assert update is not None
    assert update.increment == Decimal("0.000600") and update.total == Decimal("0.002100")
    assert update.lines[0].usage == UsageAmounts(requests=1, output_tokens=1000)
    assert cost_document(after, PRICES).total == update.total
    assert len(events.published) == 1


def test_prometheus_counts_each_amount_once_by_provider_and_model() -> None:
    registry = CollectorRegistry()
    call = record()
    usage, _ = meter(call, UsageMetrics(registry))
    for key in ("resp_1", "resp_2", "resp_1"):  # resp_1 again: a replay
        usage.ledger.record(
            "openai-realtime",
            "gpt-realtime",
            realtime_amounts({"input_tokens": 100, "output_tokens": 40}),
            key=key,
        )
        usage.flush()
    labels = {"provider": "openai-realtime", "model": "gpt-realtime"}
    assert registry.get_sample_value("switchboard_usage_total", labels | {"unit": "output_tokens"}) == 80
    assert registry.get_sample_value("switchboard_usage_total", labels | {"unit": "requests"}) == 2
    cost = registry.get_sample_value("switchboard_cost_total", labels)
    assert cost is not None and abs(cost - float(cost_document(call, PRICES).total)) < 1e-9


def test_the_cost_counter_follows_the_documents_not_separately_rounded_increments() -> None:
    registry = CollectorRegistry()
    call = record()
    usage, _ = meter(call, UsageMetrics(registry))
    for _ in range(10):  # 0.00000075 each: rounded alone, ten would count 0.00001
        usage.ledger.record("azure-openai", "gpt-4o-mini", UsageAmounts(requests=1, input_tokens=5))
        usage.flush()
    cost = registry.get_sample_value(
        "switchboard_cost_total", {"provider": "azure-openai", "model": "gpt-4o-mini"}
    )
    assert cost is not None and abs(cost - 0.000008) < 1e-12
    assert float(cost_document(call, PRICES).total) == 0.000008
