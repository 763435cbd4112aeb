"""A whole conversation over WebRTC: a real aiortc peer on loopback (the browser, its microphone fed with
synthesized speech as 48 kHz stereo) offers to `WebRtcTransport`, which `MediaSession` drives with a
SpeechCascade exactly as over the in-memory transport (real Silero VAD, scripted recognition and brain, a
shipped tool on the demo data in the real embedded Redis). The browser hears the greeting and the reply,
and talking over a long answer clears the agent's queued audio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import numpy as np
import pytest
from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.cascade.fakes import WordTts
from tests.unit.transports.cascade_call import VERIFY, banking_call
from tests.unit.transports.webrtc_client import BrowserPeer
from voice.transports.webrtc import WebRtcTransport
from voice.tts.local import EspeakTts

pytestmark = pytest.mark.e2e

RATE = 16000


class ToneTts(WordTts):
    """`WordTts` with a 300 Hz tone instead of silence, so the browser can tell agent audio from none."""

    async def stream(self, text: str, *, sample_rate: int, **kwargs: Any) -> AsyncIterator[bytes]:
        tone = (np.sin(np.arange(self.bytes_per_word // 2) * 2 * np.pi * 300 / RATE) * 6000).astype("<i2")
        async for _ in super().stream(text, sample_rate=sample_rate, **kwargs):
            yield tone.tobytes()


async def speak(peer: BrowserPeer, speech: bytes, *, silence_s: float = 1.0) -> None:
    """The caller's microphone plays the speech in real time, then silence so the turn ends."""
    peer.mic.play(speech + bytes(int(RATE * silence_s) * 2))
    await eventually(lambda: not peer.mic.playing, timeout=30)


async def test_a_whole_conversation_runs_over_webrtc(redis: Redis, loopback_ice: None) -> None:
    tts = ToneTts(ms_per_word=60)
    transport = WebRtcTransport(call_id="webrtc-call")
    call = banking_call(
        transport,
        redis,
        call_id="webrtc-call",
        caller="browser",
        stt=["my name is jordan rivera last four four eight two one", "tell me everything", "wait"],
        brain=[
            [VERIFY],
            ["You are verified, Jordan."],
            ["Here is a long answer. " * 12],
            ["Sure, what else?"],
        ],
        tts=tts,
    )
    cascade, session, conversation = call.cascade, call.session, call.conversation
    transcripts, listener = call.transcripts, call.listener
    caller_speech = await EspeakTts().synthesize("My name is Jordan Rivera.", sample_rate=RATE)
    peer = BrowserPeer()
    running = asyncio.create_task(session.run())

    agent_turns = call.agent_turns

    step = partial(call.step, timeout=20)

    try:
        await step(peer.connect(transport), 1)  # the greeting, heard by the browser
        assert listener.started == [RATE]
        await eventually(lambda: peer.loud_frames() >= 10)

        heard_before_reply = peer.loud_frames()
        await step(speak(peer, caller_speech), 2)  # a turn found by the VAD -> a tool call -> a reply
        assert "verify_identity" in conversation.tools_called
        assert agent_turns()[-1] == "You are verified, Jordan."
        await eventually(lambda: peer.loud_frames() > heard_before_reply + 10)

        # A long answer, then the caller talks over it: the agent's queued audio is dropped at once.
        await speak(peer, caller_speech)
        await eventually(lambda: any(text.startswith("Here is a long answer") for text in tts.spoken))
        await eventually(lambda: cascade._agent_active and transport.track.frames_sent > 0)
        assert transport.stats.stop_audio_out == 0
        await step(speak(peer, caller_speech), 4)
        assert transport.stats.stop_audio_out >= 1
        cut = call.cut_agent_turns()
        assert len(cut) == 1 and cut[0].full_text is not None and cut[0].full_text.startswith("Here is")
        assert agent_turns()[-1] == "Sure, what else?"
    finally:
        await peer.close()  # the browser hangs up: receive() ends and the session with it
        await asyncio.wait_for(running, timeout=15)
        await transport.close()

    assert listener.ended is not None and listener.ended.audio_frames_in > 0
    assert transcripts.outcome is not None and transcripts.outcome.tools_called == ("verify_identity",)
    assert transport.connection_state == "closed"
