"""The usage ledger: incremental totals handed out once, reconnect replays not counted twice, agent
attribution, unreadable realtime usage counted as unknown, and the per-call context meter."""

from __future__ import annotations

import asyncio

from voice.usage.amounts import UsageAmounts, realtime_amounts, spoken_characters, transcription_amounts
from voice.usage.ledger import UsageLedger, current_ledger, metering, report


def tokens(input_: int, output: int, cached: int = 0) -> UsageAmounts:
    return UsageAmounts(requests=1, input_tokens=input_, output_tokens=output, cached_input_tokens=cached)


def test_reports_add_up_per_provider_model_and_agent() -> None:
    agent = ["concierge"]
    ledger = UsageLedger(agent_of=lambda: agent[0])
    ledger.record("azure-openai", "gpt-4o-mini", tokens(100, 10, 40))
    ledger.record("azure-openai", "gpt-4o-mini", tokens(120, 5))
    agent[0] = "fraud"
    ledger.record("azure-openai", "gpt-4o-mini", tokens(50, 7))
    ledger.record("azure-speech", "neural", UsageAmounts(tts_characters=42), agent="concierge")
    lines = {(line.provider, line.agent): line.usage for line in ledger.lines()}
    assert lines[("azure-openai", "concierge")] == UsageAmounts(
        requests=2, input_tokens=220, output_tokens=15, cached_input_tokens=40
    )
    assert lines[("azure-openai", "fraud")] == tokens(50, 7)
    assert lines[("azure-speech", "concierge")] == UsageAmounts(tts_characters=42)


def test_increments_hand_each_amount_out_once() -> None:
    ledger = UsageLedger()
    ledger.record("openai", "gpt-4o", tokens(100, 10))
    first = ledger.take_increment()
    assert [line.usage for line in first] == [tokens(100, 10)]
    assert ledger.take_increment() == []  # nothing new
    ledger.record("openai", "gpt-4o", tokens(30, 3))
    ledger.record("azure-speech", "stt", UsageAmounts(stt_audio_seconds=1.5))
    second = {line.provider: line.usage for line in ledger.take_increment()}
    assert second == {"openai": tokens(30, 3), "azure-speech": UsageAmounts(stt_audio_seconds=1.5)}
    total = ledger.lines()[0].usage
    assert total == tokens(100, 10).plus(tokens(30, 3))


def test_a_response_seen_again_after_a_reconnect_is_not_counted_twice() -> None:
    ledger = UsageLedger()
    done = {"input_tokens": 300, "output_tokens": 90}
    assert ledger.record("azure-voicelive", "gpt-realtime", realtime_amounts(done), key="resp_1") is True
    version = ledger.version
    assert ledger.record("azure-voicelive", "gpt-realtime", realtime_amounts(done), key="resp_1") is False
    assert ledger.version == version
    ledger.record("azure-voicelive", "gpt-realtime", realtime_amounts(done), key="resp_2")
    [line] = ledger.lines()
    assert line.usage.requests == 2 and line.usage.input_tokens == 600 and line.usage.output_tokens == 180


def test_a_resumed_call_goes_on_from_its_written_totals_without_re_publishing_them() -> None:
    before = UsageLedger()
    before.record("openai", "gpt-4o", tokens(10, 1))
    after = UsageLedger()
    after.restore(before.lines())
    assert after.take_increment() == []
    after.record("openai", "gpt-4o", tokens(5, 1))
    assert [line.usage for line in after.take_increment()] == [tokens(5, 1)]
    assert after.lines()[0].usage == tokens(15, 2).model_copy(update={"requests": 2})


def test_realtime_usage_splits_text_and_audio_tokens() -> None:
    amounts = realtime_amounts(
        {
            "total_tokens": 1500,
            "input_tokens": 1200,
            "output_tokens": 300,
            "input_token_details": {
                "text_tokens": 400,
                "audio_tokens": 800,
                "cached_tokens": 640,
                "cached_tokens_details": {"text_tokens": 128, "audio_tokens": 512},
            },
            "output_token_details": {"text_tokens": 60, "audio_tokens": 240},
        }
    )
    assert amounts == UsageAmounts(
        requests=1,
        input_tokens=1200,
        cached_input_tokens=640,
        output_tokens=300,
        input_text_tokens=400,
        cached_input_text_tokens=128,
        input_audio_tokens=800,
        cached_input_audio_tokens=512,
        output_text_tokens=60,
        output_audio_tokens=240,
    )


def test_usage_missing_fields_is_counted_as_unknown_never_a_crash() -> None:
    for raw in (None, {}, {"input_tokens": "many"}, {"input_tokens": -1, "output_tokens": 2}, ["x"], "usage"):
        assert realtime_amounts(raw) == UsageAmounts(requests=1, unknown_events=1), raw


async def test_the_meter_follows_the_call_into_the_tasks_it_starts() -> None:
    call_a, call_b = UsageLedger(), UsageLedger()

    async def provider_work(characters: int) -> None:
        await asyncio.sleep(0)
        report("espeak-ng", "local", UsageAmounts(tts_characters=characters), agent="a")

    async def call(ledger: UsageLedger, characters: int) -> None:
        with metering(ledger):
            await asyncio.gather(*(asyncio.create_task(provider_work(characters)) for _ in range(3)))

    await asyncio.gather(call(call_a, 10), call(call_b, 7))
    report("espeak-ng", "local", UsageAmounts(tts_characters=99))  # outside any call: nowhere
    assert current_ledger() is None
    assert [line.usage.tts_characters for line in call_a.lines()] == [30]
    assert [line.usage.tts_characters for line in call_b.lines()] == [21]


def test_input_transcription_usage_is_audio_seconds_or_tokens_and_unreadable_is_unknown() -> None:
    assert transcription_amounts({"type": "duration", "seconds": 2.75}) == UsageAmounts(
        requests=1, stt_audio_seconds=2.75
    )
    tokens = {
        "type": "tokens",
        "total_tokens": 130,
        "input_tokens": 120,
        "input_token_details": {"text_tokens": 20, "audio_tokens": 100},
        "output_tokens": 10,
    }
    assert transcription_amounts(tokens) == UsageAmounts(
        requests=1,
        input_tokens=120,
        output_tokens=10,
        input_text_tokens=20,
        input_audio_tokens=100,
        output_text_tokens=10,
    )
    assert transcription_amounts(None) is None  # the beta dialect reports none: nothing to count
    for raw in ({"type": "duration"}, {"type": "duration", "seconds": -1}, {"type": "tokens"}, "x"):
        assert transcription_amounts(raw) == UsageAmounts(requests=1, unknown_events=1), raw


def test_spoken_characters_are_the_audio_transcripts_of_a_response_in_both_dialects() -> None:
    response = {
        "output": [
            {"type": "message", "content": [{"type": "output_audio", "transcript": "Hello there."}]},
            {
                "type": "message",
                "content": [{"type": "audio", "transcript": "Bye."}, {"type": "text", "text": "x"}],
            },
            {"type": "function_call", "name": "f", "arguments": "{}"},
            "junk",
        ]
    }
    assert spoken_characters(response) == len("Hello there.") + len("Bye.")
    assert (
        spoken_characters(
            {"output": [{"type": "message", "content": [{"type": "output_text", "text": "x"}]}]}
        )
        == 0
    )
    assert spoken_characters(None) == 0
