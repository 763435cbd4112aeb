"""Local barge-in on the VoiceLive bridge: our own VAD verdicts on the caller audio we forward silence the agent
before the realtime server says `speech_started`; the server's event (or enough speech) makes it an
interruption, a sound that dies down first lets the agent carry on.

The caller's frames carry scripted VAD probabilities (one window each), so these tests need no model.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.voicelive.harness import Harness

SPEECH, QUIET = 0.95, 0.02


@pytest.fixture
async def h(redis: Redis) -> Any:
    async with Harness(redis) as harness:
        yield harness


async def agent_talking(h: Harness) -> str:
    """The greeting heard, then a long reply playing; returns its response id."""
    await h.greeted()
    await h.caller_vad([QUIET] * 10)
    rid = h.respond("Here are your last ten transactions, starting with the most recent.", audio_ms=3000)
    await eventually(lambda: h.sink.frames >= 25)
    return rid


async def test_the_orchestrator_asks_for_our_vad_only_with_local_barge_in(redis: Redis) -> None:
    async with Harness(redis) as on, Harness(redis, local_barge_in=False) as off:
        assert on.orch.uses_vad and not off.orch.uses_vad


async def test_caller_speech_onset_sends_stop_audio_before_the_server_says_anything(h: Harness) -> None:
    await agent_talking(h)
    stops = h.sink.stops
    await h.caller_vad([SPEECH] * 3)
    assert h.sink.stops == stops + 1
    assert h.playout.paused
    assert len(h.telemetry.barge_ins) == 1
    assert not h.ws.of_type("response.cancel") and not h.ws.of_type("conversation.item.truncate")


async def test_the_servers_speech_started_then_truncates_without_a_second_stop_audio(h: Harness) -> None:
    await agent_talking(h)
    stops = h.sink.stops
    await h.caller_vad([SPEECH] * 3)
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 400, "item_id": "in_2"})
    truncate = (await h.sent("conversation.item.truncate"))[0]
    assert h.sink.stops == stops + 1
    assert truncate["item_id"] == "item_2" and 0 < truncate["audio_end_ms"] < 3000
    assert len(h.telemetry.barge_ins) == 1
    assert not h.playout.paused and not h.playout.is_audible
    turn = await eventually(lambda: [t for t in h.agent_turns() if t.interrupted])
    assert turn[0].full_text and len(turn[0].text) < len(turn[0].full_text)


async def test_a_sound_that_dies_down_lets_the_agent_carry_on(h: Harness) -> None:
    await agent_talking(h)
    await h.caller_vad([SPEECH] * 2)
    assert h.playout.paused
    frames = h.sink.frames
    await h.caller_vad([QUIET] * 8)
    assert not h.playout.paused
    await eventually(lambda: h.sink.frames > frames + 10)
    assert not h.ws.of_type("conversation.item.truncate")


async def test_speech_long_enough_is_an_interruption_even_before_the_server_says_so(h: Harness) -> None:
    await agent_talking(h)
    epoch = h.orch.epoch
    await h.caller_vad([SPEECH] * 12)
    truncate = (await h.sent("conversation.item.truncate"))[0]
    assert truncate["item_id"] == "item_2" and truncate["audio_end_ms"] < 3000
    assert h.orch.epoch == epoch + 1
    assert not h.playout.paused and not h.playout.is_audible


async def test_an_agent_that_may_not_be_interrupted_keeps_talking(redis: Redis) -> None:
    async with Harness(redis, barge_in=False) as h:
        await agent_talking(h)
        await h.caller_vad([SPEECH] * 12)
        assert h.sink.stops == 0 and not h.playout.paused


async def test_without_local_barge_in_only_the_server_event_stops_the_agent(redis: Redis) -> None:
    async with Harness(redis, local_barge_in=False) as h:
        await agent_talking(h)
        await h.caller_vad([SPEECH] * 12)
        assert h.sink.stops == 0
        h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 400, "item_id": "in_2"})
        await h.sent("conversation.item.truncate")
        assert h.sink.stops == 1
