"""Test doubles at the edges of the cascade's classes: scripted recognition and brain, and a TTS that makes a
fixed amount of PCM per word (so how much was heard maps to words)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from voice.expectation import Expectation
from voice.llm.base import ChatDone, ChatRequest, TextDelta, ToolCall, Usage
from voice.stt.base import Recognition, SttConfig


class WordTts:
    """`ms_per_word` of silent PCM16 at 16 kHz per word, word by word; records texts and voices asked for."""

    name = "words"

    def __init__(self, ms_per_word: int = 40) -> None:
        self.bytes_per_word = 32 * ms_per_word
        self.spoken: list[str] = []
        self.voices: list[str | None] = []

    async def synthesize(self, text: str, **_: Any) -> bytes:
        return b"".join([chunk async for chunk in self.stream(text, sample_rate=16000)])

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncIterator[bytes]:
        self.spoken.append(text)
        self.voices.append(voice)
        for _ in text.split():
            await asyncio.sleep(0)
            yield bytes(self.bytes_per_word)


class ScriptedStt:
    name = "scripted-stt"

    def __init__(self, texts: list[str], delay_s: float = 0.0) -> None:
        self.texts = texts
        self.discarded = 0
        self.delay_s = delay_s

    async def open_session(self, config: SttConfig) -> ScriptedStt:
        return self

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None

    def push(self, pcm: bytes) -> None:
        pass

    def discard_turn(self) -> None:
        self.discarded += 1

    async def end_of_turn(self) -> Recognition:
        text = self.texts.pop(0) if self.texts else ""
        await asyncio.sleep(self.delay_s)
        return Recognition(text)

    async def aclose(self) -> None:
        pass


class WholeTurnStt(ScriptedStt):
    """A recogniser that reads a continued turn whole: after `continue_turn`, its next text (scripted as the
    whole turn's) comes with `whole_turn` set."""

    def __init__(self, texts: list[str], delay_s: float = 0.0) -> None:
        super().__init__(texts, delay_s)
        self.continued = 0
        self._whole = False

    def continue_turn(self) -> None:
        self.continued += 1
        self._whole = True

    async def end_of_turn(self) -> Recognition:
        whole, self._whole = self._whole, False
        heard = await super().end_of_turn()
        return Recognition(heard.text, whole_turn=whole)


class ExpectingStt(ScriptedStt):
    """A recogniser that takes the agent's expectation (`ExpectingSession`) and keeps each one it is given."""

    def __init__(self, texts: list[str], delay_s: float = 0.0) -> None:
        super().__init__(texts, delay_s)
        self.expected: list[Expectation | None] = []

    def expect(self, expectation: Expectation | None) -> None:
        self.expected.append(expectation)


Reply = list[Any] | Exception


class ScriptedBrain:
    """Answers each request with the next scripted list of events (text strings, ToolCall objects)."""

    name = "scripted-brain"

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Any]:
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else ["Okay."]
        if isinstance(reply, Exception):
            raise reply
        calls = False
        expects: Expectation | None = None
        for item in reply:
            await asyncio.sleep(0)
            if isinstance(item, Expectation):  # what the reply asks for: on its ChatDone
                expects = item
                continue
            if isinstance(item, ToolCall):
                calls = True
            yield TextDelta(item) if isinstance(item, str) else item
        yield Usage(1, 1)
        yield ChatDone("tool_calls" if calls else "stop", expects=expects)
