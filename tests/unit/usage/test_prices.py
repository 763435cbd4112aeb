"""The price table: the shipped file loads and prices every provider the product ships, costs are exact and
rounded once, unpriced usage is named (never costed at zero), and a bad file is reported by file and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from registries.validation import RegistryError
from voice.usage.amounts import UsageAmounts, UsageLine
from voice.usage.prices import load_price_table, parse_price_table, total_cost

GOOD = """\
as_of: 2025-09-01
currency: USD
sources: [https://example.invalid/prices]
prices:
  - provider: azure-openai
    models: [gpt-4o-mini*]
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
  - provider: azure-speech
    per_audio_hour: 1.0
    per_million_characters: 15
"""


def line(provider: str, model: str, **amounts: float) -> UsageLine:
    return UsageLine(provider=provider, model=model, agent="a", usage=UsageAmounts(**amounts))  # type: ignore[arg-type]


def test_chat_tokens_are_priced_with_cached_input_at_its_own_rate() -> None:
    table = parse_price_table(Path("p.yaml"), GOOD)
    cost = table.cost_of(
        line("azure-openai", "gpt-4o-mini", input_tokens=10_000, cached_input_tokens=4_000, output_tokens=500)
    )
    # 6000 * 0.15 + 4000 * 0.075 + 500 * 0.60, per million
    assert cost.cost == Decimal("0.001500")
    assert cost.unpriced == []


def test_realtime_text_and_audio_tokens_have_their_own_rates() -> None:
    table = parse_price_table(Path("p.yaml"), GOOD)
    usage = dict(
        input_tokens=1200,
        output_tokens=300,
        input_text_tokens=400,
        cached_input_text_tokens=100,
        input_audio_tokens=800,
        cached_input_audio_tokens=200,
        output_text_tokens=60,
        output_audio_tokens=240,
    )
    cost = table.cost_of(line("azure-voicelive", "gpt-realtime", **usage))
    expected = (300 * 4 + 100 * 0.4 + 600 * 32 + 200 * 0.4 + 60 * 16 + 240 * 64) / 1_000_000
    assert cost.cost == Decimal(str(round(expected, 6)))


def test_rounding_happens_once_so_many_small_reports_cost_what_their_sum_costs() -> None:
    table = parse_price_table(Path("p.yaml"), GOOD)
    small = [table.cost_of(line("azure-speech", "neural", tts_characters=1)) for _ in range(1000)]
    assert all(c.cost == Decimal("0.000015") for c in small)
    assert total_cost(small) == table.cost_of(line("azure-speech", "neural", tts_characters=1000)).cost
    # Sub-micro amounts: rounded half up per line, exactly.
    assert table.cost_of(line("azure-speech", "stt", stt_audio_seconds=0.0018)).cost == Decimal("0.000001")
    assert table.cost_of(line("azure-speech", "stt", stt_audio_seconds=0.0017)).cost == Decimal("0.000000")


def test_usage_no_entry_prices_is_named_not_costed() -> None:
    table = parse_price_table(Path("p.yaml"), GOOD)
    cost = table.cost_of(line("openai", "some-new-model", input_tokens=100, output_tokens=10, requests=1))
    assert cost.cost == 0 and cost.unpriced == ["input_tokens", "output_tokens"]
    partly = table.cost_of(line("azure-speech", "stt", stt_audio_seconds=3600, acs_call_minutes=2))
    assert partly.cost == Decimal("1.000000") and partly.unpriced == ["acs_call_minutes"]


def test_the_shipped_table_prices_every_shipped_provider() -> None:
    table = load_price_table()
    assert table.currency == "USD" and table.sources
    for provider, model, amounts in [
        ("azure-openai", "gpt-4o-mini", {"input_tokens": 1, "output_tokens": 1}),
        ("openai", "gpt-4.1-mini", {"input_tokens": 1, "output_tokens": 1}),
        ("azure-voicelive", "gpt-realtime", {"input_audio_tokens": 1, "output_audio_tokens": 1}),
        ("azure-speech", "stt", {"stt_audio_seconds": 1}),
        ("azure-speech", "neural", {"tts_characters": 1}),
        ("acs", "pstn", {"acs_call_minutes": 1}),
        ("browser", "websocket", {"acs_call_minutes": 1, "acs_media_minutes": 1}),
        ("local-brain", "local", {"requests": 1}),
        ("pocketsphinx", "local", {"stt_audio_seconds": 1}),
        ("espeak-ng", "local", {"tts_characters": 1}),
        ("embedded-realtime", "gpt-realtime", {"tts_characters": 1, "stt_audio_seconds": 1}),
        ("embedded-realtime", "whisper-1", {"stt_audio_seconds": 1}),
        ("openai-realtime", "whisper-1", {"stt_audio_seconds": 1}),
        ("openai-realtime", "gpt-4o-transcribe", {"input_audio_tokens": 1, "output_text_tokens": 1}),
    ]:
        cost = table.cost_of(line(provider, model, **amounts))
        assert cost.unpriced == [], (provider, model, cost.unpriced)
    free = table.cost_of(line("espeak-ng", "local", tts_characters=10_000_000))
    assert free.cost == 0
    # The embedded realtime server is free whatever model name it is asked for (no wildcard entry wins).
    for model in ("gpt-realtime", "whisper-1"):
        embedded = table.cost_of(
            line("embedded-realtime", model, stt_audio_seconds=3600, tts_characters=10**6)
        )
        assert embedded.cost == 0 and embedded.unpriced == [], model
    assert table.cost_of(line("openai-realtime", "whisper-1", stt_audio_seconds=600)).cost == Decimal("0.06")
    # ACS audio streaming has a rate we do not ship: named as unpriced, never costed at zero.
    media = table.cost_of(line("acs", "pstn", acs_call_minutes=2, acs_media_minutes=2))
    assert media.unpriced == ["acs_media_minutes"] and media.cost == Decimal("0.017000")


def test_an_overriding_file_replaces_the_shipped_table(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("0.15", "0.20"))
    table = load_price_table(path)
    assert table.source_file == str(path)
    assert table.cost_of(line("azure-openai", "gpt-4o-mini", input_tokens=1_000_000)).cost == Decimal(
        "0.200000"
    )


@pytest.mark.parametrize(
    ("text", "line_no", "needle"),
    [
        (
            GOOD.replace("    output_per_million_tokens: 0.60", "    output_per_million_tokens: -1"),
            9,
            "greater than or equal to 0",
        ),
        (
            GOOD.replace("    per_audio_hour: 1.0", "    per_audio_hours: 1.0"),
            19,
            "unknown key 'per_audio_hours'",
        ),
        (GOOD.replace("currency: USD", "currency: dollars"), 2, "currency"),
        (GOOD.replace("as_of: 2025-09-01", "as_of: last week"), 1, "as_of"),
        (GOOD + "  - provider: [oops\n", 22, "invalid YAML"),
        (
            GOOD.replace("  - provider: azure-speech\n", "  - provider: azure-speech\n    provider: acs\n"),
            19,
            "duplicate",
        ),
    ],
)
def test_a_bad_price_file_names_the_file_and_line(
    tmp_path: Path, text: str, line_no: int, needle: str
) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(RegistryError) as caught:
        load_price_table(path)
    issues = caught.value.issues
    assert issues and all(Path(str(i.file)) == path for i in issues), issues
    assert any(i.line == line_no and needle in str(i) for i in issues), [str(i) for i in issues]


def test_a_missing_price_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RegistryError, match=r"nope\.yaml"):
        load_price_table(path)
