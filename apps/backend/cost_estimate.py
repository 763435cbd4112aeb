"""What the Azure deployment (infra/terraform) costs: per 1,000 call minutes, priced by the shipped price table
(voice/usage/prices.yaml) with the call ledger's own pricing code, and per hour at idle.

    .venv/bin/python -m apps.backend.cost_estimate

prints the tables infra/README.md carries (tests/infra/test_costs.py keeps the two equal). The usage of one call
minute is an assumption stated below, not a measurement: a deployed service measures its own per call
(`GET /api/v1/calls/{id}/cost`). The table prices per-call usage only; the infrastructure's hourly rates are
list prices written here, each with what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from voice.usage.amounts import UsageAmounts, UsageLine
from voice.usage.prices import PriceTable, load_price_table

MINUTES = 1000


@dataclass(frozen=True)
class MinuteUsage:
    """One line of one call minute's usage, as the ledger would record it (provider and model names are the
    ones the service reports under)."""

    item: str
    provider: str
    model: str
    usage: UsageAmounts


# A minute of an inbound phone call: the caller speaks about half of it, the agent about 40 % (~60 words,
# ~360 characters); about four agent replies a minute.
CASCADE_MINUTE = (
    MinuteUsage(
        "ACS inbound PSTN, US local number (audio streaming: no rate shipped, not counted)",
        "acs",
        "pstn",
        UsageAmounts(acs_call_minutes=1),
    ),
    # The recogniser hears the whole call, silences included.
    MinuteUsage(
        "Azure Speech real-time STT (60 s of audio)",
        "azure-speech",
        "stt",
        UsageAmounts(stt_audio_seconds=60),
    ),
    MinuteUsage(
        "Azure Speech neural TTS (360 characters)", "azure-speech", "neural", UsageAmounts(tts_characters=360)
    ),
    # Four requests of ~1,500 prompt tokens (instructions, tools, the conversation so far) and ~60 output
    # tokens; no prompt caching counted (it would lower this line).
    MinuteUsage(
        "Azure OpenAI gpt-4o-mini (6,000 input + 250 output tokens)",
        "azure-openai",
        "gpt-4o-mini",
        UsageAmounts(input_tokens=6000, output_tokens=250),
    ),
)

# VoiceLive with gpt-realtime at the table's realtime list price (the table's note: VoiceLive bills by its own
# tiers). Audio is ~10 tokens a second in and ~20 out; each of four replies re-reads the conversation, most
# of it from the prompt cache.
VOICELIVE_MINUTE = (
    CASCADE_MINUTE[0],
    MinuteUsage(
        "gpt-realtime audio (1,500 in, 1,200 of them cached; 480 out)",
        "azure-voicelive",
        "gpt-realtime",
        UsageAmounts(input_audio_tokens=1500, cached_input_audio_tokens=1200, output_audio_tokens=480),
    ),
    MinuteUsage(
        "gpt-realtime text (4,000 in, 3,000 of them cached; 120 out)",
        "azure-voicelive",
        "gpt-realtime",
        UsageAmounts(input_text_tokens=4000, cached_input_text_tokens=3000, output_text_tokens=120),
    ),
)

# Not in the price table (it prices per-call usage): pay-as-you-go list prices, USD, East US 2, mid-2025.
CONTAINER_APPS_ACTIVE_VCPU_S = Decimal("0.000024")
CONTAINER_APPS_ACTIVE_GIB_S = Decimal("0.000003")
CONTAINER_APPS_IDLE_VCPU_S = Decimal("0.000003")
CONTAINER_APPS_IDLE_GIB_S = Decimal("0.000003")
REDIS_BALANCED_B0_HOUR = Decimal("0.04")
REGISTRY_BASIC_DAY = Decimal("0.167")
PHONE_NUMBER_US_LOCAL_MONTH = Decimal("1")
COSMOS_SERVERLESS_PER_MILLION_RU = Decimal("0.25")
HOURS_PER_MONTH = Decimal(730)

# The Terraform defaults (variables.tf).
REPLICAS = 2
REPLICA_VCPU = Decimal(1)
REPLICA_GIB = Decimal(2)
CALLS_PER_REPLICA = 40  # scale_calls_per_replica: a replica is added per 40 live calls
COSMOS_RU_PER_MINUTE = 80  # ~4 transcript appends of ~20 RU


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _replica_hour(vcpu_s: Decimal, gib_s: Decimal) -> Decimal:
    return (REPLICA_VCPU * vcpu_s + REPLICA_GIB * gib_s) * 3600


def idle_rows() -> list[tuple[str, Decimal]]:
    """$ per hour with no calls, on the Terraform defaults."""
    idle_replica = _replica_hour(CONTAINER_APPS_IDLE_VCPU_S, CONTAINER_APPS_IDLE_GIB_S)
    return [
        (f"Container Apps, {REPLICAS} idle replicas of 1 vCPU / 2 GiB", REPLICAS * idle_replica),
        ("Azure Managed Redis Balanced_B0", REDIS_BALANCED_B0_HOUR),
        ("Container Registry Basic", REGISTRY_BASIC_DAY / 24),
        ("one US local phone number", PHONE_NUMBER_US_LOCAL_MONTH / HOURS_PER_MONTH),
        ("Cosmos DB serverless, Speech, Azure OpenAI, Event Grid, Key Vault (pay per use)", Decimal(0)),
    ]


def usage_rows(table: PriceTable, minute: tuple[MinuteUsage, ...]) -> list[tuple[str, Decimal]]:
    """$ per 1,000 call minutes: each usage line priced by the table, then the infrastructure calls use."""
    rows = []
    for line in minute:
        cost = table.cost_of(UsageLine(provider=line.provider, model=line.model, agent="", usage=line.usage))
        if cost.unpriced:
            raise ValueError(f"{line.item}: the price table has no rate for {cost.unpriced}")
        rows.append((line.item, cost.cost * MINUTES))
    active_replica = _replica_hour(CONTAINER_APPS_ACTIVE_VCPU_S, CONTAINER_APPS_ACTIVE_GIB_S)
    rows.append(
        (
            f"Container Apps active time ({CALLS_PER_REPLICA} calls per replica)",
            active_replica / CALLS_PER_REPLICA / 60 * MINUTES,
        )
    )
    rows.append(
        (
            f"Cosmos DB serverless transcript writes ({COSMOS_RU_PER_MINUTE} RU a minute)",
            COSMOS_SERVERLESS_PER_MILLION_RU * COSMOS_RU_PER_MINUTE / 1_000_000 * MINUTES,
        )
    )
    return rows


def _table(header: str, rows: list[tuple[str, Decimal]], places: str) -> str:
    lines = [f"| item | {header} |", "|---|---|"]
    lines += [f"| {item} | {_round(value, places)} |" for item, value in rows]
    total = sum((value for _, value in rows), Decimal(0))
    lines.append(f"| **total** | **{_round(total, places)}** |")
    return "\n".join(lines)


def render(table: PriceTable | None = None) -> str:
    """The markdown infra/README.md carries under "Costs"."""
    table = table or load_price_table()
    return "\n\n".join(
        [
            f"Price table: `{table.as_of}` ({table.currency}).",
            "**At idle, per hour** (defaults: 2 replicas, Balanced_B0, Basic registry):",
            _table("$/hour", idle_rows(), "0.001"),
            "**Per 1,000 call minutes, cascade orchestrator** (Azure Speech + gpt-4o-mini):",
            _table("$", usage_rows(table, CASCADE_MINUTE), "0.01"),
            "**Per 1,000 call minutes, `orchestrator = voicelive`** (gpt-realtime):",
            _table("$", usage_rows(table, VOICELIVE_MINUTE), "0.01"),
        ]
    )


if __name__ == "__main__":
    print(render())
