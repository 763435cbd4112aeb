"""The price table: list prices per provider and model, loaded from YAML (the shipped `prices.yaml`, or a file
named by a setting), and the cost of usage lines under it.

Money is computed in `Decimal` and rounded once per line and once for the total (to a millionth of the
currency), so a call of many small reports costs the same as one report of their sum. Usage no entry prices
is listed as unpriced, never silently costed at zero; embedded providers have explicit zero-price entries.
"""

from __future__ import annotations

import fnmatch
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from registries.validation import RegistryError, RegistryIssue, validation_issues
from registries.yamldoc import PosDict, YamlDocError, load_yaml_doc, plain
from voice.usage.amounts import UsageAmounts, UsageLine

MONEY_STEP = Decimal("0.000001")
SHIPPED_PRICES = "prices.yaml"

Rate = float | None
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""Exact in memory; a JSON number on the wire."""


class PriceEntry(BaseModel):
    """Rates for one provider and the models matching `models` (shell patterns, e.g. `gpt-4o-mini*`)."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1)
    models: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    note: str | None = None
    input_per_million_tokens: Rate = Field(None, ge=0)
    cached_input_per_million_tokens: Rate = Field(None, ge=0)
    output_per_million_tokens: Rate = Field(None, ge=0)
    input_text_per_million_tokens: Rate = Field(None, ge=0)
    cached_input_text_per_million_tokens: Rate = Field(None, ge=0)
    input_audio_per_million_tokens: Rate = Field(None, ge=0)
    cached_input_audio_per_million_tokens: Rate = Field(None, ge=0)
    output_text_per_million_tokens: Rate = Field(None, ge=0)
    output_audio_per_million_tokens: Rate = Field(None, ge=0)
    per_audio_hour: Rate = Field(None, ge=0)
    per_million_characters: Rate = Field(None, ge=0)
    per_call_minute: Rate = Field(None, ge=0)
    per_media_minute: Rate = Field(None, ge=0)

    def matches(self, provider: str, model: str) -> bool:
        return fnmatch.fnmatchcase(provider, self.provider) and any(
            fnmatch.fnmatchcase(model, pattern) for pattern in self.models
        )

    @property
    def splits_audio(self) -> bool:
        """A realtime model: text and audio tokens have their own rates."""
        return (
            self.input_audio_per_million_tokens is not None
            or self.output_audio_per_million_tokens is not None
        )


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date
    """The date the prices were read from their sources (ISO date)."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    sources: list[str] = Field(min_length=1)
    prices: list[PriceEntry] = Field(min_length=1)
    source_file: str = ""
    """Where the table was loaded from (filled in by the loader, not written in the file)."""

    def entry_for(self, provider: str, model: str) -> PriceEntry | None:
        """The first entry matching: list specific entries before wildcards."""
        return next((entry for entry in self.prices if entry.matches(provider, model)), None)

    def cost_of(self, line: UsageLine) -> LineCost:
        return price_line(self.entry_for(line.provider, line.model), line)


class LineCost(BaseModel):
    provider: str
    model: str
    agent: str
    usage: UsageAmounts
    cost: Money
    unpriced: list[str] = Field(default_factory=list)
    """Amounts that no rate covers (they add nothing to `cost`)."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def _dec(value: float | int) -> Decimal:
    return Decimal(str(value))


def price_line(entry: PriceEntry | None, line: UsageLine) -> LineCost:
    usage = line.usage
    # (amount, rate, divisor, name): every billable amount once.
    charges: list[tuple[float, Rate, int, str]] = []
    if entry is not None and entry.splits_audio:
        text_in = usage.input_text_tokens - usage.cached_input_text_tokens
        audio_in = usage.input_audio_tokens - usage.cached_input_audio_tokens
        charges += [
            (max(text_in, 0), entry.input_text_per_million_tokens, 1_000_000, "input_text_tokens"),
            (
                usage.cached_input_text_tokens,
                entry.cached_input_text_per_million_tokens,
                1_000_000,
                "cached_input_text_tokens",
            ),
            (max(audio_in, 0), entry.input_audio_per_million_tokens, 1_000_000, "input_audio_tokens"),
            (
                usage.cached_input_audio_tokens,
                entry.cached_input_audio_per_million_tokens,
                1_000_000,
                "cached_input_audio_tokens",
            ),
            (usage.output_text_tokens, entry.output_text_per_million_tokens, 1_000_000, "output_text_tokens"),
            (
                usage.output_audio_tokens,
                entry.output_audio_per_million_tokens,
                1_000_000,
                "output_audio_tokens",
            ),
        ]
    else:
        cached_rate = None if entry is None else entry.cached_input_per_million_tokens
        input_rate = None if entry is None else entry.input_per_million_tokens
        charges += [
            (usage.input_tokens - usage.cached_input_tokens, input_rate, 1_000_000, "input_tokens"),
            (
                usage.cached_input_tokens,
                cached_rate if cached_rate is not None else input_rate,
                1_000_000,
                "cached_input_tokens",
            ),
            (
                usage.output_tokens,
                None if entry is None else entry.output_per_million_tokens,
                1_000_000,
                "output_tokens",
            ),
        ]
    charges += [
        (usage.stt_audio_seconds, None if entry is None else entry.per_audio_hour, 3600, "stt_audio_seconds"),
        (
            usage.tts_characters,
            None if entry is None else entry.per_million_characters,
            1_000_000,
            "tts_characters",
        ),
        (usage.acs_call_minutes, None if entry is None else entry.per_call_minute, 1, "acs_call_minutes"),
        (usage.acs_media_minutes, None if entry is None else entry.per_media_minute, 1, "acs_media_minutes"),
    ]
    total = Decimal(0)
    unpriced = []
    for amount, rate, per, name in charges:
        if not amount:
            continue
        if rate is None:
            unpriced.append(name)
            continue
        total += _dec(amount) * _dec(rate) / per
    return LineCost(
        provider=line.provider,
        model=line.model,
        agent=line.agent,
        usage=usage,
        cost=_money(total),
        unpriced=unpriced,
    )


def total_cost(costs: list[LineCost]) -> Decimal:
    return _money(sum((c.cost for c in costs), Decimal(0)))


def load_price_table(path: Path | None = None) -> PriceTable:
    """The table in `path`, or the shipped one. Raises `RegistryError` naming the file and line of each
    problem (the same shape as the registries' errors)."""
    if path is None:
        shipped = resources.files("voice.usage").joinpath(SHIPPED_PRICES)
        text = shipped.read_text(encoding="utf-8")
        source = Path(str(shipped))
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegistryError([RegistryIssue(path, None, None, f"cannot read: {exc.strerror}")]) from None
        source = path
    return parse_price_table(source, text)


def parse_price_table(source: Path, text: str) -> PriceTable:
    try:
        doc, duplicates = load_yaml_doc(source, text)
    except YamlDocError as exc:
        raise RegistryError([RegistryIssue(exc.file, exc.line, None, exc.message)]) from None
    if duplicates:
        raise RegistryError(
            [RegistryIssue(pos.file, pos.line, str(key), "duplicate key") for key, pos in duplicates]
        )
    if not isinstance(doc, PosDict):
        raise RegistryError([RegistryIssue(source, 1, None, "a price table is a mapping")])
    if "source_file" in doc:
        raise RegistryError(
            [RegistryIssue(source, doc.pos["source_file"].line, "source_file", "not allowed")]
        )
    try:
        table = PriceTable.model_validate(plain(doc))
    except ValidationError as exc:
        raise RegistryError(validation_issues(PriceTable, doc, source, exc)) from None
    return table.model_copy(update={"source_file": str(source)})
