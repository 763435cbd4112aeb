"""A caller who goes on right after a turn end, while the response to it still waits for the transcription:
the new speech cancels that response, never the transcription. The first item's words still reach the client
(`input_audio_transcription.completed`) and the brain, which answers both utterances.

Driven on the input-audio clock with a fake VAD (loud samples are speech) and a recogniser whose results are
held until the test releases them: the order of events is fixed, no wall-clock timing is involved."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from apps.realtime_server.engine import RealtimeEngine
from apps.realtime_server.protocol import AudioAppend, FunctionTool, RealtimeSessionConfig
from apps.realtime_server.session import RealtimeSession
from registries.toolstore.decorator import ToolSpec
from tests.support import eventually
from tests.unit.realtime_server.test_semantic_turns import LoudnessVad, frames
from voice.llm.base import ChatDone, ChatEvent, ChatRequest, TextDelta
from voice.stt.base import Recognition, SttConfig, SttSession

FIRST = "I need to report an accident."
SECOND = "I was rear ended yesterday on Main Street."


class HeldRecogniser:
    """The n-th turn asked for is `lines[n]`, given only once the test sets `release`."""

    name = "held"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self.asked = 0
        self.release = asyncio.Event()

    async def open_session(self, config: SttConfig) -> SttSession:
        return HeldSession(self)

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None


class HeldSession:
    def __init__(self, owner: HeldRecogniser) -> None:
        self._owner = owner

    def push(self, pcm: bytes) -> None:
        return None

    async def end_of_turn(self) -> Recognition:
        line = self._owner.lines[self._owner.asked]
        self._owner.asked += 1
        await self._owner.release.wait()
        return Recognition(line)

    def discard_turn(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class EchoBrain:
    """Remembers the user messages it was given and says one sentence."""

    name = "echo"

    def __init__(self) -> None:
        self.heard: list[str] = []

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        self.heard = [str(m.get("content") or "") for m in request.messages if m.get("role") == "user"]
        yield TextDelta(text="What's your policy number? ")
        yield ChatDone(finish_reason="stop")


class ShortTts:
    name = "short"

    async def synthesize(self, text: str, *, sample_rate: int, **_: Any) -> bytes:
        return b"\0\0" * (sample_rate // 10)

    async def stream(self, text: str, *, sample_rate: int, **_: Any) -> AsyncGenerator[bytes, None]:
        yield b"\0\0" * (sample_rate // 10)


class NoTools:
    def resolve(self, tool: FunctionTool) -> ToolSpec:
        raise AssertionError("this session has no tools")

    def is_handoff(self, name: str, output: str) -> bool:
        return False

    def phrases(self, specs: Sequence[ToolSpec]) -> tuple[str, ...]:
        return ()


async def feed(session: RealtimeSession, ms: int, *, loud: bool) -> None:
    for frame in frames(ms, loud):
        audio = base64.b64encode(frame).decode("ascii")
        await session.handle(AudioAppend(type="input_audio_buffer.append", audio=audio))
        await asyncio.sleep(0)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def test_speech_that_cancels_a_waiting_response_keeps_the_first_items_transcript() -> None:
    stt, brain = HeldRecogniser([FIRST, SECOND]), EchoBrain()
    engine = RealtimeEngine(
        stt=stt,
        tts=ShortTts(),
        brain=brain,
        vad=LoudnessVad(),  # type: ignore[arg-type]
        tools=NoTools(),
    )
    events: list[dict[str, Any]] = []
    config = RealtimeSessionConfig(
        input_audio_sampling_rate=16000,
        turn_detection={"type": "server_vad"},
        input_audio_transcription={"model": "whisper-1"},
    )
    session = RealtimeSession(engine, events.append, config)
    await session.start()
    await settle()  # the recogniser opens
    try:
        await feed(session, 600, loud=True)
        await feed(session, 600, loud=False)  # the turn ends: item 1, and a response that waits for its words
        await settle()
        assert len(of(events, "response.created")) == 1
        await feed(session, 600, loud=True)  # the caller goes on: the waiting response is cancelled
        await settle()
        cancelled = of(events, "response.done")
        assert [d["response"]["status"] for d in cancelled] == ["cancelled"]
        await feed(session, 600, loud=False)  # item 2 and a new response
        stt.release.set()
        await eventually(lambda: len(of(events, "response.done")) == 2)
        first, second = (e["item_id"] for e in of(events, "input_audio_buffer.committed"))
        transcribed = {
            e["item_id"]: e["transcript"]
            for e in of(events, "conversation.item.input_audio_transcription.completed")
        }
        assert transcribed == {first: FIRST, second: SECOND}
        assert " ".join(brain.heard) == f"{FIRST} {SECOND}"
        assert of(events, "response.done")[-1]["response"]["status"] == "completed"
    finally:
        await session.aclose()
