"""The call core on a channel that is not ACS: `MediaSession` runs a whole SpeechCascade conversation over the
in-process `InMemoryTransport` (real Silero VAD on synthesized caller speech, scripted recognition and brain,
a shipped tool on the demo data in the real embedded Redis). It proves the core depends on the transport
protocol only."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.cascade.fakes import WordTts
from tests.unit.transports.cascade_call import VERIFY, banking_call
from voice.llm.base import DTMF_PREFIX
from voice.transports.memory import STOP_AUDIO, InMemoryTransport
from voice.tts.local import EspeakTts

RATE = 16000


async def speak(transport: InMemoryTransport, speech: bytes, *, silence_s: float = 1.0) -> None:
    """Caller audio in real time (20 ms frames), then silence so the turn ends."""
    audio = speech + bytes(int(transport.sample_rate * silence_s) * 2)
    frame = transport.frame_bytes
    for start in range(0, len(audio), frame):
        await transport.feed_audio(audio[start : start + frame])
        await asyncio.sleep(0.02)


async def test_a_whole_conversation_runs_over_the_in_memory_transport(redis: Redis) -> None:
    tts = WordTts(ms_per_word=60)
    transport = InMemoryTransport(sample_rate=RATE)
    call = banking_call(
        transport,
        redis,
        call_id="memory-call",
        caller="+14255550123",
        stt=["my name is jordan rivera last four four eight two one", "tell me everything", "wait"],
        brain=[
            [VERIFY],
            ["You are verified, Jordan."],
            ["Thanks for the digits."],
            ["Here is a long answer. " * 12],
            ["Sure, what else?"],
        ],
        tts=tts,
    )
    cascade, session, conversation = call.cascade, call.session, call.conversation
    brain, transcripts, listener = call.brain, call.transcripts, call.listener
    caller_speech = await EspeakTts().synthesize("My name is Jordan Rivera.", sample_rate=RATE)
    running = asyncio.create_task(session.run())

    agent_turns = call.agent_turns

    step = partial(call.step, timeout=15)

    try:
        await step(transport.feed_start(), 1)  # the greeting, spoken over the transport
        assert listener.started == [RATE]
        assert len(transport.agent_audio) > 0

        await step(speak(transport, caller_speech), 2)  # a turn found by the VAD -> a tool call -> a reply
        assert "verify_identity" in conversation.tools_called
        assert agent_turns()[-1] == "You are verified, Jordan."

        await step(transport.feed_dtmf("1234#"), 3)  # keys reach the orchestrator as one entry
        assert listener.digits == ["1", "2", "3", "4", "#"]
        assert brain.requests[-1].messages[-1]["content"].startswith(DTMF_PREFIX)

        # A long answer, then the caller talks over it: StopAudio goes out over the transport at once.
        await speak(transport, caller_speech)
        await eventually(lambda: cascade._agent_active and len(transport.agent_audio) > 0)
        await eventually(lambda: any(text.startswith("Here is a long answer") for text in tts.spoken))
        assert STOP_AUDIO not in transport.sent
        await step(speak(transport, caller_speech), 5)
        assert STOP_AUDIO in transport.sent
        cut = call.cut_agent_turns()
        assert len(cut) == 1 and cut[0].full_text is not None and cut[0].full_text.startswith("Here is")
        assert agent_turns()[-1] == "Sure, what else?"
    finally:
        await transport.hang_up()
        await asyncio.wait_for(running, timeout=10)

    assert listener.ended is not None and listener.ended.audio_frames_in > 0
    assert transcripts.outcome is not None
    assert transcripts.outcome.tools_called == ("verify_identity",)
    assert [t.seq for t in transcripts.turns] == list(range(len(transcripts.turns)))


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
async def test_the_vad_finds_the_callers_turn_at_every_channel_rate(redis: Redis, rate: int) -> None:
    """The VAD model runs at 8 kHz: an 8 kHz line goes in as it is, 16 kHz is halved on the way in, 24 kHz
    is resampled. Each finds the caller's turn and the call goes on."""
    transport = InMemoryTransport(sample_rate=rate)
    call = banking_call(
        transport,
        redis,
        call_id=f"memory-call-{rate}",
        caller="+14255550123",
        stt=["my name is jordan rivera last four four eight two one"],
        brain=[[VERIFY], ["You are verified, Jordan."]],
        tts=WordTts(ms_per_word=60),
    )
    caller_speech = await EspeakTts().synthesize("My name is Jordan Rivera.", sample_rate=rate)
    running = asyncio.create_task(call.session.run())
    try:
        await call.step(transport.feed_start(), 1, timeout=15)
        assert call.listener.started == [rate]
        await call.step(speak(transport, caller_speech), 2, timeout=15)
        assert call.agent_turns()[-1] == "You are verified, Jordan."
        caller_turns = [t for t in call.transcripts.turns if t.speaker == "caller"]
        assert len(caller_turns) == 1
    finally:
        await transport.hang_up()
        await asyncio.wait_for(running, timeout=10)
