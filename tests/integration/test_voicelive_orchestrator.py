"""The VoiceLive orchestrator with the real azure-ai-voicelive SDK against the real local realtime server on
loopback: synthesized caller speech in real-time 20 ms frames, agent audio through a real PacedPlayout, the
shipped tools on the demo data in an embedded Redis, and the transcript in the SQLite store.

One call walks through a greeting, an identity check (a tool call), a handoff to card services and a
barge-in on the new agent's greeting. Another shows our own VAD on the forwarded audio stopping the agent when
the server's turn detection never reports the caller's speech (local barge-in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from azure.ai.voicelive.aio import connect as voicelive_connect
from redis.asyncio import Redis

from apps.acs_simulator.serving import ServedApp
from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from apps.realtime_server.app import create_realtime_app
from apps.realtime_server.auth import ClientSecretSigner, RealtimeAuth
from apps.realtime_server.engine import build_embedded_engine
from registries.agentstore.schema import TurnDetectionSpec, VoiceLiveSpec
from registries.loader import load_registry
from registries.toolstore.demo import seed_demo_data
from tests.call_doubles import Control, CountingSink
from tests.support import eventually
from voice.audio.vad import VadStream, get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.session.orchestrator import CallDeps
from voice.transcript import CallTranscript
from voice.transports.playout import PacedPlayout
from voice.tts.local import EspeakTts
from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.orchestrator import VoiceLiveOrchestrator

pytestmark = pytest.mark.e2e

KEY = "test-realtime-key"
RATE = 16000
FRAME = RATE // 50 * 2
VERIFY = "My name is Jordan Rivera and the last four of my account are four eight two one."
LOST_CARD = "I lost my card."
LOCK = "Please lock the card ending in four two one nine."


class Caller:
    """Sends the caller's audio in real time: silence, or queued speech, one 20 ms frame per tick; with `vad`,
    each frame comes with the probabilities of the VAD windows it completed (as `MediaSession` does)."""

    def __init__(self, orchestrator: VoiceLiveOrchestrator, vad: VadBatcher | None = None) -> None:
        self._orchestrator = orchestrator
        self._speech = bytearray()
        self._tts = EspeakTts()
        self._vad = vad
        self._stream = VadStream(vad.model) if vad is not None else None

    async def say(self, text: str) -> None:
        self._speech += await self._tts.synthesize(text, sample_rate=RATE)

    @property
    def speaking(self) -> bool:
        return bool(self._speech)

    async def run(self) -> None:
        started = time.monotonic()
        sent = 0
        while True:
            if self._speech:
                frame = bytes(self._speech[:FRAME]).ljust(FRAME, b"\0")
                del self._speech[:FRAME]
            else:
                frame = bytes(FRAME)
            probabilities: list[float] = []
            if self._vad is not None and self._stream is not None:
                self._stream.append(frame)
                probabilities = await self._vad.probabilities(self._stream)
            await self._orchestrator.on_audio(frame, probabilities)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * 0.02 - time.monotonic()))


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    server = EmbeddedRedis()
    await server.start()
    client = Redis.from_url(server.url)
    await seed_demo_data(client)
    try:
        yield client
    finally:
        await client.aclose()
        await server.stop()


@pytest.fixture
async def realtime_server() -> AsyncIterator[ServedApp]:
    engine = await build_embedded_engine(prepare=False)
    auth = RealtimeAuth([KEY], ClientSecretSigner(b"test-realtime-signing-key-0123456789"))
    served = ServedApp(create_realtime_app(engine, auth))
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture
async def transcripts(tmp_path: Path) -> AsyncIterator[SqliteTranscriptStore]:
    store = SqliteTranscriptStore(tmp_path / "transcripts.sqlite3")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def describe(transcript: CallTranscript | None) -> str:
    if transcript is None:
        return "no transcript"
    return "\n".join(
        f"{t.speaker}/{t.kind}/{t.agent}: {t.text!r} {[c.name for c in t.tool_calls]}"
        for t in transcript.turns
    )


async def test_a_banking_call_through_the_local_realtime_server(
    redis: Redis, realtime_server: ServedApp, transcripts: SqliteTranscriptStore
) -> None:
    snapshot = load_registry()
    conversation = CallConversation(
        call_id="vl-call-1",
        caller="+14255550123",
        snapshot=snapshot,
        scenario=snapshot.scenarios["banking"],
        agent=snapshot.start_agent("banking"),
        redis=redis,
    )
    sink = CountingSink()
    playout = PacedPlayout(sink, frame_bytes=FRAME)
    control = Control()
    orchestrator = VoiceLiveOrchestrator(
        CallDeps(
            conversation=conversation, call_control=control, transcripts=transcripts, config=CallConfig()
        ),
        settings=VoiceLiveSettings(endpoint=realtime_server.base_url, api_key=KEY, model="gpt-4o-realtime"),
        connect=voicelive_connect,
    )
    caller = Caller(orchestrator)
    playout_task = asyncio.create_task(playout.run())
    await orchestrator.start(sample_rate=RATE, playout=playout)
    caller_task = asyncio.create_task(caller.run())

    async def quiet() -> bool:
        """The agent has nothing playing or generating (polled; a hang guard, not a timing claim)."""
        return not orchestrator.agent_active and not caller.speaking

    try:
        # The greeting arrives as audio.
        await eventually(lambda: sink.frames >= 50, timeout=30)
        await eventually(quiet, timeout=30)

        # An identity check: the model calls verify_identity, which runs here on the demo data.
        await caller.say(VERIFY)
        await eventually(lambda: "verify_identity" in conversation.tools_called, timeout=60)
        assert conversation.session, "the tool recorded the verified caller in the call's session"
        await eventually(quiet, timeout=60)

        # A lost card goes to card services, which announces itself.
        await caller.say(LOST_CARD)
        await eventually(lambda: conversation.agent.name == "card_services", timeout=60)

        # The caller talks over the new agent's greeting: StopAudio goes out at once.
        await eventually(lambda: playout.is_audible, timeout=30)
        stops = sink.stops
        await caller.say(LOCK)
        await eventually(lambda: sink.stops > stops, timeout=30)
        await eventually(quiet, timeout=60)
    finally:
        await orchestrator.aclose("caller hung up")
        caller_task.cancel()
        playout_task.cancel()
        for task in (caller_task, playout_task):
            with pytest.raises(asyncio.CancelledError):
                await task

    transcript = await transcripts.get("vl-call-1")
    assert transcript is not None and transcript.outcome is not None, describe(transcript)
    speakers = {t.speaker for t in transcript.turns}
    assert speakers == {"caller", "agent"}, describe(transcript)
    agent_turns = [t for t in transcript.turns if t.speaker == "agent"]
    assert agent_turns[0].kind == "greeting" and "Contoso" in agent_turns[0].text, describe(transcript)
    assert any(c.name == "verify_identity" and c.ok for t in agent_turns for c in t.tool_calls), describe(
        transcript
    )
    assert any(t.agent == "card_services" for t in agent_turns), describe(transcript)
    assert any(t.interrupted for t in agent_turns), describe(transcript)
    assert transcript.outcome.agents_visited[:2] == ("concierge", "card_services")
    assert transcript.outcome.reason == "caller hung up"


async def test_our_vad_stops_the_agent_when_the_server_never_hears_the_caller(
    redis: Redis, realtime_server: ServedApp, transcripts: SqliteTranscriptStore
) -> None:
    """The server's VAD bar is out of reach (threshold 1.0): no speech_started ever comes back, so only local
    barge-in can silence the agent, and then turn the pause into an interruption (truncated, recorded)."""
    snapshot = load_registry()
    deaf = VoiceLiveSpec(turn_detection=TurnDetectionSpec(threshold=1.0))
    conversation = CallConversation(
        call_id="vl-call-2",
        caller="+14255550123",
        snapshot=snapshot,
        scenario=snapshot.scenarios["banking"],
        agent=snapshot.start_agent("banking").model_copy(update={"voicelive": deaf}),
        redis=redis,
    )
    sink = CountingSink()
    playout = PacedPlayout(sink, frame_bytes=FRAME)
    orchestrator = VoiceLiveOrchestrator(
        CallDeps(
            conversation=conversation, call_control=Control(), transcripts=transcripts, config=CallConfig()
        ),
        settings=VoiceLiveSettings(endpoint=realtime_server.base_url, api_key=KEY, model="gpt-4o-realtime"),
        connect=voicelive_connect,
    )
    assert orchestrator.uses_vad
    caller = Caller(orchestrator, VadBatcher(await asyncio.to_thread(get_shared_model)))
    playout_task = asyncio.create_task(playout.run())
    await orchestrator.start(sample_rate=RATE, playout=playout)
    caller_task = asyncio.create_task(caller.run())
    try:
        await eventually(lambda: sink.frames >= 25, timeout=30)  # the greeting is playing
        await caller.say(LOCK)
        await eventually(lambda: sink.stops >= 1, timeout=30)
        await eventually(lambda: not orchestrator.agent_active, timeout=30)
    finally:
        await orchestrator.aclose("caller hung up")
        caller_task.cancel()
        playout_task.cancel()
        for task in (caller_task, playout_task):
            with pytest.raises(asyncio.CancelledError):
                await task

    transcript = await transcripts.get("vl-call-2")
    assert transcript is not None, "no transcript"
    greeting = transcript.turns[0]
    assert greeting.speaker == "agent" and greeting.kind == "greeting", describe(transcript)
    assert greeting.interrupted, describe(transcript)
    assert not any(t.speaker == "caller" for t in transcript.turns), describe(transcript)
