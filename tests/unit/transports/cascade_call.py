"""What the whole-conversation transport tests share: a banking call's SpeechCascade on scripted recognition
and brain (the shipped tools on the demo data in the real embedded Redis), driven by `MediaSession` with the
real Silero VAD over whichever transport the test is about."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from registries.loader import load_registry
from tests.call_doubles import Control, MemoryTranscripts
from tests.support import eventually
from tests.unit.cascade.fakes import Reply, ScriptedBrain, ScriptedStt, WordTts
from voice.audio.vad import get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.llm.base import ToolCall
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.session.media_session import MediaSession
from voice.session.orchestrator import CallDeps
from voice.speech_cascade.cascade import SpeechCascade
from voice.speech_cascade.providers import CascadeProviders
from voice.transcript import TranscriptTurn
from voice.transports.base import MediaTransport, TransportStats

VERIFY = ToolCall(
    id="c1", name="verify_identity", arguments=json.dumps({"full_name": "Jordan Rivera", "last4": "4821"})
)


class Listener:
    """What the app would hear about the media: start, keys, end."""

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


@dataclass
class CascadeCall:
    cascade: SpeechCascade
    session: MediaSession
    conversation: CallConversation
    brain: ScriptedBrain
    stt: ScriptedStt
    transcripts: MemoryTranscripts
    listener: Listener = field(default_factory=Listener)

    def agent_turns(self) -> list[str]:
        return [t.text for t in self.transcripts.turns if t.speaker == "agent"]

    def cut_agent_turns(self) -> list[TranscriptTurn]:
        """The agent's turns the caller talked over."""
        return [t for t in self.transcripts.turns if t.speaker == "agent" and t.interrupted]

    def settled(self, count: int) -> bool:
        """The agent has `count` turns written and is quiet."""
        return len(self.agent_turns()) >= count and not self.cascade._agent_active

    async def step(self, action: Awaitable[None], count: int, *, timeout: float) -> None:
        """Do `action`, then wait until the agent has answered it (its turn `count` written, and quiet)."""
        await action
        await eventually(lambda: self.settled(count), timeout=timeout)


def banking_call(
    transport: MediaTransport,
    redis: Redis,
    *,
    call_id: str,
    caller: str,
    stt: list[str],
    brain: list[Reply],
    tts: WordTts,
) -> CascadeCall:
    snapshot = load_registry()
    conversation = CallConversation(
        call_id=call_id,
        caller=caller,
        snapshot=snapshot,
        scenario=snapshot.scenarios["banking"],
        agent=snapshot.start_agent("banking"),
        redis=redis,
    )
    scripted_stt, scripted_brain, transcripts = ScriptedStt(stt), ScriptedBrain(brain), MemoryTranscripts()
    cascade = SpeechCascade(
        CallDeps(
            conversation=conversation,
            call_control=Control(),
            transcripts=transcripts,
            config=CallConfig(idle_reprompt_s=60, idle_hang_up_s=120, dtmf_timeout_s=0.2),
        ),
        providers=CascadeProviders(stt=scripted_stt, tts=tts, llm=scripted_brain),
    )
    listener = Listener()
    session = MediaSession(
        call_id=call_id,
        transport=transport,
        orchestrator=cascade,
        listener=listener,
        vad=VadBatcher(get_shared_model()),
    )
    return CascadeCall(cascade, session, conversation, scripted_brain, scripted_stt, transcripts, listener)
