"""A VoiceLive call's usage: each `response.done`'s token usage (text and audio) lands in the call's ledger,
once per response id even when the server sends it again after a reconnect; usage it cannot read is counted
as unknown."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.voicelive.harness import Harness
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import UsageLedger, metering

USAGE = {
    "total_tokens": 460,
    "input_tokens": 300,
    "output_tokens": 160,
    "input_token_details": {"text_tokens": 220, "audio_tokens": 80, "cached_tokens": 128},
    "output_token_details": {"text_tokens": 40, "audio_tokens": 120},
}


def done(rid: str, usage: Any) -> dict[str, Any]:
    return {
        "type": "response.done",
        "response": {"id": rid, "status": "completed", "output": [], "usage": usage},
    }


async def test_response_usage_is_counted_once_per_response_across_a_reconnect(redis: Redis) -> None:
    ledger = UsageLedger()
    with metering(ledger):
        async with Harness(redis) as h:
            await h.sent("response.create")
            h.ws.push(done("resp_a", USAGE))
            h.ws.push(done("resp_a", USAGE))  # the same response reported twice
            h.ws.push(done("resp_b", {"input_tokens": "lots"}))  # unreadable: unknown, not a crash
            await eventually(lambda: ledger.version >= 2)
            first = h.ws
            first.drop()
            await eventually(lambda: len(h.server.sockets) == 2)
            second = h.server.sockets[1]
            await h.sent("session.update", ws=second)
            second.push(done("resp_a", USAGE))  # replayed by the new session: not counted again
            second.push(done("resp_c", USAGE))
            await eventually(lambda: ledger.version >= 3)
    [line] = ledger.lines()
    assert (line.provider, line.model, line.agent) == (
        "azure-voicelive",
        "gpt-4o-realtime-preview",
        "concierge",
    )
    assert line.usage == UsageAmounts(
        requests=3,
        input_tokens=600,
        cached_input_tokens=256,
        output_tokens=320,
        input_text_tokens=440,
        cached_input_text_tokens=256,
        input_audio_tokens=160,
        output_text_tokens=80,
        output_audio_tokens=240,
        unknown_events=1,
    )


async def test_the_embedded_server_counts_what_it_heard_and_spoke_never_tokens(redis: Redis) -> None:
    ledger = UsageLedger()
    heard = {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_1",
        "content_index": 0,
        "transcript": "what is my balance",
        "usage": {"type": "duration", "seconds": 1.25},
    }
    spoke = {
        "id": "resp_a",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "audio", "transcript": "One moment."}]}],
        "usage": None,
    }
    with metering(ledger):
        async with Harness(redis, usage_provider="embedded-realtime") as h:
            await h.sent("response.create")
            h.ws.push(heard)
            h.ws.push(heard)  # the same item again: counted once
            h.ws.push({"type": "response.done", "response": spoke})
            await eventually(lambda: ledger.version >= 2)
    lines = {line.model: line.usage for line in ledger.lines()}
    assert lines == {
        "azure-speech": UsageAmounts(requests=1, stt_audio_seconds=1.25),
        "gpt-4o-realtime-preview": UsageAmounts(requests=1, tts_characters=len("One moment.")),
    }
