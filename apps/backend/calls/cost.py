"""What a call cost: its usage lines (`CallRecord.usage`) priced by the table in force, and the per-call meter
that carries the call's ledger from its providers to the record, the live `cost_update` events and the
Prometheus counters.

Off the audio path: providers only add to the in-memory ledger; `CallUsageMeter.flush` runs after agent turns
and at the end of the call, hands each new amount out once (to the counters and one `cost_update` event) and
writes the running totals with the call record writer (behind the call).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from apps.backend.calls.live_events import CallEventPublisher, CostUpdateEvent
from apps.backend.calls.record_writer import CallRecordWriter
from apps.backend.observability.usage_metrics import UsageMetrics
from apps.backend.storage.call_store import CallChannel, CallRecord, utcnow
from voice.usage.amounts import UsageAmounts, UsageLine
from voice.usage.ledger import UsageLedger
from voice.usage.prices import LineCost, Money, PriceTable, total_cost


class CostDocument(BaseModel):
    """`GET /api/v1/calls/{id}/cost`: one call's usage and cost, by line and by provider."""

    call_id: str
    scenario: str
    channel: CallChannel
    currency: str
    prices_as_of: date
    total: Money
    by_provider: dict[str, Money]
    lines: list[LineCost]
    unpriced: list[str]
    """`provider/model: amount` for usage no price entry covers (not in `total`)."""


def price_lines(table: PriceTable, lines: Iterable[UsageLine]) -> list[LineCost]:
    return [table.cost_of(line) for line in lines]


def cost_document(record: CallRecord, table: PriceTable) -> CostDocument:
    costs = price_lines(table, record.usage)
    by_provider: dict[str, Decimal] = defaultdict(Decimal)
    for line in costs:
        by_provider[line.provider] += line.cost
    return CostDocument(
        call_id=record.call_id,
        scenario=record.scenario,
        channel=record.channel,
        currency=table.currency,
        prices_as_of=table.as_of,
        total=total_cost(costs),
        by_provider=dict(by_provider),
        lines=costs,
        unpriced=[f"{c.provider}/{c.model}: {name}" for c in costs for name in c.unpriced],
    )


class DailyCost(BaseModel):
    day: date
    scenario: str
    calls: int
    total: Money


class CostTotals(BaseModel):
    """`GET /api/v1/costs/daily`: totals per UTC day and scenario over the calls still on record."""

    currency: str
    prices_as_of: date
    calls_seen: int
    truncated: bool
    """More calls exist than were read (bounded); the oldest days may be incomplete."""
    days: list[DailyCost]


def daily_totals(records: Iterable[CallRecord], table: PriceTable, *, truncated: bool) -> CostTotals:
    totals: dict[tuple[date, str], list[Decimal]] = {}
    seen = 0
    for record in records:
        seen += 1
        slot = totals.setdefault((record.created_at.date(), record.scenario), [])
        slot.append(total_cost(price_lines(table, record.usage)))
    days = [
        DailyCost(day=day, scenario=scenario, calls=len(costs), total=sum(costs, Decimal(0)))
        for (day, scenario), costs in sorted(
            totals.items(), key=lambda kv: (kv[0][0], kv[0][1]), reverse=True
        )
    ]
    return CostTotals(
        currency=table.currency, prices_as_of=table.as_of, calls_seen=seen, truncated=truncated, days=days
    )


class CallUsageMeter:
    """One call's ledger and where its usage goes. Owned by the call's listener; never shared."""

    def __init__(
        self,
        call_id: str,
        channel: CallChannel,
        table: PriceTable,
        writer: CallRecordWriter,
        events: CallEventPublisher,
        metrics: UsageMetrics | None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.call_id = call_id
        self.channel = channel
        self.ledger = UsageLedger()
        self._table = table
        self._writer = writer
        self._events = events
        self._metrics = metrics
        self._clock = clock
        self._written_version = -1
        self._total = Decimal(0)
        self._line_costs: dict[tuple[str, str, str], Decimal] = {}
        """Each ledger line's priced cost at the last flush (what the counters have been given)."""
        self._media_started: datetime | None = None

    def media_started(self) -> None:
        self._media_started = self._media_started or self._clock()

    def media_ended(self) -> None:
        """Telephony minutes: the media stream's length (ACS bills the call and its media from the answer,
        which media follows at once); browser channels carry none but their minutes are shown at zero."""
        if self._media_started is None:
            return
        minutes = round((self._clock() - self._media_started).total_seconds() / 60, 4)
        self._media_started = None
        phone = self.channel == CallChannel.PHONE
        self.ledger.record(
            "acs" if phone else "browser",
            "pstn" if phone else self.channel.value,
            UsageAmounts(acs_call_minutes=minutes, acs_media_minutes=minutes),
            agent="",
        )

    def resume(self, lines: list[UsageLine]) -> None:
        """Go on from the totals a call wrote before (it resumed on this worker): they were published then, so
        they are neither counted nor sent again, and the next update's total includes them."""
        self.ledger.restore(lines)
        self._take_cost_steps(price_lines(self._table, lines))

    def flush(self) -> CostUpdateEvent | None:
        """Publish what is new (counters, one `cost_update`, also returned) and write the running totals behind
        the call. None when nothing new was priced."""
        if self.ledger.version == self._written_version:
            return None
        self._written_version = self.ledger.version
        increment = price_lines(self._table, self.ledger.take_increment())
        lines = self.ledger.lines()
        update = None
        if increment:
            # The running total is the whole ledger priced and rounded as the cost document does it, so the
            # last update's total is the document's total to the last digit, and the increments (its changes)
            # add up to it exactly; summing separately rounded increments would drift by millionths.
            priced = price_lines(self._table, lines)
            before = self._total
            steps = self._take_cost_steps(priced)  # the counters likewise follow the priced lines
            total, step = self._total, self._total - before
            if self._metrics is not None:
                self._metrics.count(increment, steps)
            update = CostUpdateEvent(
                call_id=self.call_id,
                currency=self._table.currency,
                increment=step,
                total=total,
                lines=increment,
            )
            self._events.publish(update)
        self._writer.submit(lambda record: setattr(record, "usage", lines), keep=True)
        return update

    def _take_cost_steps(self, priced: list[LineCost]) -> dict[tuple[str, str], Decimal]:
        """How much each (provider, model)'s priced cost grew since the last call; remembers the new costs and
        the new total."""
        steps: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in priced:
            slot = (line.provider, line.model, line.agent)
            steps[(line.provider, line.model)] += line.cost - self._line_costs.get(slot, Decimal(0))
            self._line_costs[slot] = line.cost
        self._total = total_cost(priced)
        return dict(steps)
