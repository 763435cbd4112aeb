"""An agent voice the TTS does not know must not leave the caller in silence."""

import asyncio

import orjson

from voice.media_session import MediaSession, Utterance
from voice.transports.acs import AcsMediaTransport
from voice.tts.local import EspeakTts


class _Socket:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self._inbound: asyncio.Queue[str | None] = asyncio.Queue()

    async def receive_text(self) -> str | None:
        return await self._inbound.get()

    async def send_text(self, data: str) -> None:
        self.sent.append(orjson.loads(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._inbound.put(None)


class _Listener:
    def __init__(self) -> None:
        self.utterances: list[tuple[str, bool]] = []
        self.done = asyncio.Event()

    async def on_media_started(self, sample_rate: int) -> None: ...
    async def on_caller_speech(self, event: object) -> None: ...
    async def on_dtmf(self, digit: str) -> None: ...
    async def on_media_ended(self, stats: object) -> None: ...

    async def on_agent_utterance(self, text: str, *, completed: bool) -> None:
        self.utterances.append((text, completed))
        self.done.set()


async def test_unknown_voice_falls_back_to_the_default_voice() -> None:
    socket, listener = _Socket(), _Listener()
    session = MediaSession(
        call_id="c",
        transport=AcsMediaTransport(socket, sample_rate=16000),
        tts=EspeakTts(),
        greeting=Utterance("Hello there.", voice="en-US-AvaMultilingualNeural"),
        listener=listener,
    )
    runner = asyncio.create_task(session.run())
    await socket._inbound.put(
        '{"kind":"AudioMetadata","audioMetadata":{"encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}'
    )
    await asyncio.wait_for(listener.done.wait(), timeout=20)
    await socket.close()
    await asyncio.wait_for(runner, timeout=10)
    assert listener.utterances == [("Hello there.", True)]
    assert sum(1 for m in socket.sent if m["Kind"] == "AudioData") > 20  # ~0.5 s or more of speech was sent
