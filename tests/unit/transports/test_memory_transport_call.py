"""The call core on a channel that is not ACS: `MediaSession` runs a whole SpeechCascade conversation over the
in-process `InMemoryTransport` (real Silero VAD on synthesized caller speech, scripted recognition and brain,
a shipped tool on the demo data in the real embedded Redis). It proves the core depends on the transport
protocol only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from registries.loader import load_registry
from tests.call_doubles import Control, MemoryTranscripts
from tests.support import eventually
from tests.unit.cascade.fakes import ScriptedBrain, ScriptedStt, WordTts
from voice.audio.vad import get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.llm.base import DTMF_PREFIX, ToolCall
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.session.media_session import MediaSession
from voice.session.orchestrator import CallDeps
from voice.speech_cascade.cascade import SpeechCascade
from voice.speech_cascade.providers import CascadeProviders
from voice.transports.base import TransportStats
from voice.transports.memory import STOP_AUDIO, InMemoryTransport
from voice.tts.local import EspeakTts

RATE = 16000


class Listener:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.digits: list[str] = []
        self.ended: TransportStats | None = None

    async def on_media_started(self, sample_rate: int) -> None:
        self.started.append(sample_rate)

    async def on_dtmf(self, digit: str) -> None:
        self.digits.append(digit)

    async def on_media_ended(self, stats: TransportStats) -> None:
        self.ended = stats


async def speak(transport: InMemoryTransport, speech: bytes, *, silence_s: float = 1.0) -> None:
    """Caller audio in real time (20 ms frames), then silence so the turn ends."""
    audio = speech + bytes(int(RATE * silence_s) * 2)
    frame = transport.frame_bytes
    for start in range(0, len(audio), frame):
        await transport.feed_audio(audio[start : start + frame])
        await asyncio.sleep(0.02)


async def test_a_whole_conversation_runs_over_the_in_memory_transport(redis: Redis) -> None:
    snapshot = load_registry()
    conversation = CallConversation(
        call_id="memory-call",
        caller="+14255550123",
        snapshot=snapshot,
        scenario=snapshot.scenarios["banking"],
        agent=snapshot.start_agent("banking"),
        redis=redis,
    )
    verify = ToolCall(
        id="c1", name="verify_identity", arguments=json.dumps({"full_name": "Jordan Rivera", "last4": "4821"})
    )
    brain = ScriptedBrain(
        [
            [verify],
            ["You are verified, Jordan."],
            ["Thanks for the digits."],
            ["Here is a long answer. " * 12],
            ["Sure, what else?"],
        ]
    )
    stt = ScriptedStt(["my name is jordan rivera last four four eight two one", "tell me everything", "wait"])
    tts = WordTts(ms_per_word=60)
    transcripts = MemoryTranscripts()
    control = Control()
    cascade = SpeechCascade(
        CallDeps(
            conversation=conversation,
            call_control=control,
            transcripts=transcripts,
            config=CallConfig(idle_reprompt_s=60, idle_hang_up_s=120, dtmf_timeout_s=0.2),
        ),
        providers=CascadeProviders(stt=stt, tts=tts, llm=brain),
    )
    transport = InMemoryTransport(sample_rate=RATE)
    listener = Listener()
    session = MediaSession(
        call_id="memory-call",
        transport=transport,
        orchestrator=cascade,
        listener=listener,
        vad=VadBatcher(get_shared_model()),
    )
    caller_speech = await EspeakTts().synthesize("My name is Jordan Rivera.", sample_rate=RATE)
    running = asyncio.create_task(session.run())

    def agent_turns() -> list[str]:
        return [t.text for t in transcripts.turns if t.speaker == "agent"]

    def settled(count: int) -> Callable[[], bool]:
        return lambda: len(agent_turns()) >= count and not cascade._agent_active

    async def step(action: Awaitable[None], count: int) -> None:
        await action
        await eventually(settled(count), timeout=15)

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
        cut = [t for t in transcripts.turns if t.speaker == "agent" and t.interrupted]
        assert len(cut) == 1 and cut[0].full_text is not None and cut[0].full_text.startswith("Here is")
        assert agent_turns()[-1] == "Sure, what else?"
    finally:
        await transport.hang_up()
        await asyncio.wait_for(running, timeout=10)

    assert listener.ended is not None and listener.ended.audio_frames_in > 0
    assert transcripts.outcome is not None
    assert transcripts.outcome.tools_called == ("verify_identity",)
    assert [t.seq for t in transcripts.turns] == list(range(len(transcripts.turns)))
