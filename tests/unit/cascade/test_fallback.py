"""Provider chains: the next provider takes over, the broken one is benched, the caller is never left hanging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from voice.errors import ProviderError
from voice.fallback import FallbackChatModel, FallbackSpeechToText, FallbackTextToSpeech
from voice.llm.base import ChatDone, ChatRequest, TextDelta
from voice.stt.base import Recognition, SttConfig


class ScriptedChat:
    def __init__(self, name: str, *, fail_before: bool = False, fail_after_text: bool = False) -> None:
        self.name = name
        self.fail_before = fail_before
        self.fail_after_text = fail_after_text
        self.calls = 0

    async def stream(self, request: ChatRequest) -> AsyncIterator[object]:
        self.calls += 1
        if self.fail_before:
            raise ProviderError(self.name, "connection refused")
        yield TextDelta(f"{self.name} says hi.")
        if self.fail_after_text:
            raise ProviderError(self.name, "stream broke")
        yield ChatDone("stop")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def collect(chain: FallbackChatModel) -> list[object]:
    return [event async for event in chain.stream(ChatRequest(messages=[]))]


async def test_chat_falls_back_and_benches_the_failed_provider() -> None:
    clock = Clock()
    broken, spare = ScriptedChat("azure", fail_before=True), ScriptedChat("local")
    chain = FallbackChatModel([broken, spare], cooldown_s=30, clock=clock)
    assert await collect(chain) == [TextDelta("local says hi."), ChatDone("stop")]
    assert (broken.calls, spare.calls) == (1, 1)
    # Benched: the next turn goes straight to the spare instead of waiting for the broken one again.
    await collect(chain)
    assert (broken.calls, spare.calls) == (1, 2)
    # After the cooldown the primary gets another chance.
    clock.now = 31
    broken.fail_before = False
    assert (await collect(chain))[0] == TextDelta("azure says hi.")


async def test_chat_failure_after_speaking_is_raised_not_hidden() -> None:
    chain = FallbackChatModel([ScriptedChat("azure", fail_after_text=True), ScriptedChat("local")])
    events = []
    with pytest.raises(ProviderError, match="mid-reply"):
        async for event in chain.stream(ChatRequest(messages=[])):
            events.append(event)
    assert events == [TextDelta("azure says hi.")]  # the local brain did not talk over it


async def test_chat_all_failing_raises_provider_error() -> None:
    chain = FallbackChatModel([ScriptedChat("a", fail_before=True), ScriptedChat("b", fail_before=True)])
    with pytest.raises(ProviderError, match="every chat provider failed"):
        await collect(chain)


class VoiceTts:
    def __init__(self, name: str, voices: set[str | None], *, broken: bool = False) -> None:
        self.name = name
        self.voices = voices
        self.broken = broken
        self.requests: list[str | None] = []

    async def synthesize(self, text: str, **kwargs: object) -> bytes:
        raise NotImplementedError

    async def stream(
        self, text: str, *, sample_rate: int, voice=None, rate=1.0, style=None
    ) -> AsyncIterator[bytes]:
        self.requests.append(voice)
        if self.broken:
            raise ProviderError(self.name, "401")
        if voice not in self.voices:
            raise ValueError(f"unknown voice {voice}")
        yield f"{self.name}:{voice}".encode()


async def test_tts_unknown_voice_uses_the_default_voice_and_outage_uses_the_next_engine() -> None:
    espeak = VoiceTts("espeak", {None})
    chain = FallbackTextToSpeech([espeak])
    audio = [c async for c in chain.stream("hi", sample_rate=16000, voice="en-US-AvaNeural")]
    assert audio == [b"espeak:None"]
    assert espeak.requests == ["en-US-AvaNeural", None]

    azure = VoiceTts("azure", {"en-US-AvaNeural"}, broken=True)
    chain = FallbackTextToSpeech([azure, VoiceTts("espeak", {None})])
    assert await chain.synthesize("hi", sample_rate=16000, voice="en-US-AvaNeural") == b"espeak:None"


class Session:
    def __init__(self, engine: ScriptedStt) -> None:
        self.engine = engine
        self.audio = bytearray()
        self.closed = False

    def push(self, pcm: bytes) -> None:
        self.audio += pcm

    def discard_turn(self) -> None:
        self.audio.clear()

    async def end_of_turn(self) -> Recognition:
        if self.engine.fail:
            raise ProviderError(self.engine.name, "socket closed")
        text, self.audio = f"{self.engine.name} heard {len(self.audio)} bytes", bytearray()
        return Recognition(text)

    async def aclose(self) -> None:
        self.closed = True


class ScriptedStt:
    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.sessions: list[Session] = []

    async def open_session(self, config: SttConfig) -> Session:
        session = Session(self)
        self.sessions.append(session)
        return session

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None


async def test_stt_failure_replays_the_turn_into_the_next_provider() -> None:
    azure, local = ScriptedStt("azure"), ScriptedStt("local")
    session = await FallbackSpeechToText([azure, local]).open_session(SttConfig(sample_rate=16000))
    session.push(b"x" * 100)
    assert (await session.end_of_turn()).text == "azure heard 100 bytes"
    azure.fail = True
    session.push(b"y" * 40)
    session.push(b"y" * 60)
    # The caller does not repeat themselves: the local recogniser gets the same turn's audio.
    assert (await session.end_of_turn()).text == "local heard 100 bytes"
    assert azure.sessions[0].closed
    session.push(b"z" * 10)
    assert (await session.end_of_turn()).text == "local heard 10 bytes"
    await session.aclose()
    assert local.sessions[0].closed


async def test_stt_every_provider_failing_raises() -> None:
    session = await FallbackSpeechToText([ScriptedStt("a", fail=True)]).open_session(
        SttConfig(sample_rate=16000)
    )
    session.push(b"x")
    with pytest.raises(ProviderError):
        await session.end_of_turn()
