"""Prometheus counters of what calls used and cost, by provider and model (fed once per new amount)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter

from voice.usage.amounts import AMOUNT_FIELDS
from voice.usage.prices import LineCost


class UsageMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.usage = Counter(
            "switchboard_usage",
            "Provider usage by unit (requests, input_tokens, output_audio_tokens, stt_audio_seconds, "
            "tts_characters, acs_call_minutes, ...).",
            ["provider", "model", "unit"],
            registry=registry,
        )
        self.cost = Counter(
            "switchboard_cost",
            "What calls cost under the price table in force, in its currency.",
            ["provider", "model"],
            registry=registry,
        )

    def count(self, lines: Iterable[LineCost], costs: Mapping[tuple[str, str], Decimal]) -> None:
        """`lines`: the new usage; `costs`: how much each (provider, model)'s priced cost grew (the change in
        the call's priced lines, so the counter sums to what cost documents say, not to separately rounded
        increments)."""
        for line in lines:
            for unit in AMOUNT_FIELDS:
                if value := getattr(line.usage, unit):
                    self.usage.labels(line.provider, line.model, unit).inc(value)
        for (provider, model), grew in costs.items():
            if grew > 0:
                self.cost.labels(provider, model).inc(float(grew))
