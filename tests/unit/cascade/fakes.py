"""Test doubles at the edges of the cascade's classes: an audio sink that counts, and a TTS that makes a fixed
amount of PCM per word (so how much was heard maps to words)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any


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
