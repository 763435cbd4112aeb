"""The text-to-speech interface every provider (embedded espeak-ng, Azure Speech, ...) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from typing import Protocol, runtime_checkable


@runtime_checkable
class TextToSpeech(Protocol):
    name: str
    """Short provider name for logs and metrics, e.g. "espeak-ng"."""

    async def synthesize(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> bytes:
        """The whole utterance as PCM16 mono at `sample_rate` (b"" for empty text)."""
        ...

    def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """PCM16 mono chunks at `sample_rate` as soon as they are synthesized.

        `voice` is a provider voice name (None: the provider default); a name the provider does not know
        raises `ValueError` before any audio. `rate` is a speed factor (1.1 = 10% faster, from the agent's
        `voice.rate`); `style` an optional speaking style that providers without styles ignore.
        Chunk sizes are arbitrary (reframe for playback). Closing the iterator early (breaking out of
        `async for` inside `contextlib.aclosing`, or cancelling the consuming task) stops synthesis.
        """
        ...


class StreamingSynthesizer(ABC):
    """Base for providers without a separate batch API: `synthesize` is the joined `stream`."""

    async def synthesize(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> bytes:
        stream = self.stream(text, sample_rate=sample_rate, voice=voice, rate=rate, style=style)
        return b"".join([chunk async for chunk in stream])

    @abstractmethod
    def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """As `TextToSpeech.stream`."""
