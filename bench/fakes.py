"""Fixed-latency fake providers for the benchmarks (never part of the product's provider chains).

With every latency at 0 they isolate our own overhead; with the issue's figures (STT final 150 ms, LLM first
token 300 ms, TTS first audio 100 ms) they stand in for a realistic cloud stack without the network, so the
capacity run measures the service itself. They implement the same interfaces as the real providers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

import numpy as np

from apps.backend.providers import ProviderFactory, ProviderSet
from apps.backend.settings import Settings
from voice.llm.base import ChatDone, ChatEvent, ChatRequest, TextDelta
from voice.speech_cascade.providers import CascadeProviders
from voice.stt.base import Recognition, SttConfig
from voice.tts.base import StreamingSynthesizer

DEFAULT_REPLY = (
    "Sure, I can help with that. Your checking balance is one thousand two hundred dollars, "
    "and your last payment was received on Monday."
)


@dataclass(frozen=True)
class FakeLatencies:
    stt_final_ms: float = 0.0
    llm_first_token_ms: float = 0.0
    llm_token_ms: float = 0.0
    tts_first_audio_ms: float = 0.0

    @classmethod
    def instant(cls) -> FakeLatencies:
        return cls()

    @classmethod
    def realistic(cls) -> FakeLatencies:
        """The issue's fixed latencies for the capacity run."""
        return cls(stt_final_ms=150, llm_first_token_ms=300, llm_token_ms=10, tts_first_audio_ms=100)


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


class FakeSttSession:
    def __init__(self, latency_ms: float, text: str) -> None:
        self._latency_ms = latency_ms
        self._text = text
        self._pushed = 0

    def push(self, pcm: bytes) -> None:
        self._pushed += len(pcm)

    async def end_of_turn(self) -> Recognition:
        pushed, self._pushed = self._pushed, 0
        await _sleep_ms(self._latency_ms)
        return Recognition(self._text if pushed else "", language="en-US", confidence=1.0)

    def discard_turn(self) -> None:
        self._pushed = 0

    async def aclose(self) -> None:
        return None


class FakeSpeechToText:
    """Every turn is recognised as the same text, `latency_ms` after the end of the turn."""

    name = "fake-stt"

    def __init__(self, latency_ms: float, text: str = "what is my checking balance") -> None:
        self._latency_ms = latency_ms
        self._text = text

    async def open_session(self, config: SttConfig) -> FakeSttSession:
        return FakeSttSession(self._latency_ms, self._text)

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None


class FakeChatModel:
    """Streams a fixed reply word by word: first token after `first_token_ms`, then one per `token_ms`."""

    name = "fake-llm"

    def __init__(self, first_token_ms: float, token_ms: float = 0.0, reply: str = DEFAULT_REPLY) -> None:
        self._first_token_ms = first_token_ms
        self._token_ms = token_ms
        self._words = reply.split(" ")

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        await _sleep_ms(self._first_token_ms)
        for index, word in enumerate(self._words):
            if index:
                await _sleep_ms(self._token_ms)
            yield TextDelta(word if index == 0 else " " + word)
        yield ChatDone(finish_reason="stop")


class FakeTextToSpeech(StreamingSynthesizer):
    """A 220 Hz tone, 55 ms per character of text (about natural speaking pace), in 100 ms chunks."""

    name = "fake-tts"
    MS_PER_CHAR = 55
    CHUNK_MS = 100

    def __init__(self, first_audio_ms: float) -> None:
        self._first_audio_ms = first_audio_ms
        self._tones: dict[int, bytes] = {}

    def _tone(self, sample_rate: int) -> bytes:
        """Two seconds of tone at `sample_rate`, cached so synthesis allocates only the slices."""
        if sample_rate not in self._tones:
            t = np.arange(2 * sample_rate) / sample_rate
            self._tones[sample_rate] = (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()
        return self._tones[sample_rate]

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        if not text.strip():
            return
        await _sleep_ms(self._first_audio_ms)
        total = sample_rate * 2 * len(text) * self.MS_PER_CHAR // 1000
        total -= total % 2
        chunk = sample_rate * 2 * self.CHUNK_MS // 1000
        tone = self._tone(sample_rate)
        second = sample_rate * 2  # 220 Hz repeats exactly every second, so any offset within one works
        for start in range(0, total, chunk):
            offset = start % second
            yield tone[offset : offset + min(chunk, total - start)]


def fake_provider_factory(
    latencies: FakeLatencies, *, stt_text: str = "what is my checking balance"
) -> ProviderFactory:
    """A `ProviderFactory` for `create_app(..., providers=...)`."""

    def build(settings: Settings) -> ProviderSet:
        return ProviderSet(
            cascade=CascadeProviders(
                stt=FakeSpeechToText(latencies.stt_final_ms, stt_text),
                tts=FakeTextToSpeech(latencies.tts_first_audio_ms),
                llm=FakeChatModel(latencies.llm_first_token_ms, latencies.llm_token_ms),
            ),
            embedded_tts=None,
            local_brain=None,
        )

    return build
