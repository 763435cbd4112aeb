"""An in-process `MediaTransport`: the caller's side is plain method calls and a list of what the agent sent.

For tests and tools that want a whole conversation without a socket or a telephony protocol, and the proof
that the call core depends on the transport protocol only. The far end pushes frames and keys with `feed_*`
and `hang_up`; everything the agent sent is kept in order in `sent` (PCM frames and `STOP_AUDIO` markers).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from voice.transports.base import AudioFrame, DtmfTone, InboundMedia, MediaStarted, TransportStats

STOP_AUDIO: Final = "stop-audio"
"""The marker `sent` holds where the agent cleared the caller's queued audio."""


class InMemoryTransport:
    def __init__(self, *, sample_rate: int = 16000, max_queued: int = 10_000) -> None:
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate // 50 * 2
        self.stats = TransportStats()
        self.sent: list[bytes | str] = []
        self.closed: tuple[int, str] | None = None
        # Bounded like a socket's buffer: a far end that outruns the call blocks in `feed_*`, never grows memory.
        self._inbound: asyncio.Queue[InboundMedia | None] = asyncio.Queue(max_queued)

    # --- the far end ------------------------------------------------------------------------------------
    async def feed_start(self) -> None:
        """Announce the audio format, as a telephony channel does before its first frame."""
        await self._inbound.put(
            MediaStarted(
                sample_rate=self.sample_rate, channels=1, frame_bytes=self.frame_bytes, subscription_id=None
            )
        )

    async def feed_audio(self, pcm: bytes) -> None:
        """Caller audio at `sample_rate`, cut into 20 ms frames (a short tail is padded with silence)."""
        for start in range(0, len(pcm), self.frame_bytes):
            frame = pcm[start : start + self.frame_bytes].ljust(self.frame_bytes, b"\0")
            await self._inbound.put(AudioFrame(pcm=frame, silent=False, timestamp=None, participant=None))

    async def feed_dtmf(self, digits: str) -> None:
        for digit in digits:
            await self._inbound.put(DtmfTone(digit=digit))

    async def hang_up(self) -> None:
        """The caller is gone: `receive` returns None after what is already queued."""
        await self._inbound.put(None)

    @property
    def agent_audio(self) -> bytes:
        """Every frame the agent sent, joined (StopAudio markers left out)."""
        return b"".join(item for item in self.sent if isinstance(item, bytes))

    # --- MediaTransport ---------------------------------------------------------------------------------
    async def receive(self) -> InboundMedia | None:
        if self.closed is not None:
            return None
        event = await self._inbound.get()
        if event is None or self.closed is not None:
            return None
        self.stats.messages_in += 1
        if isinstance(event, AudioFrame):
            self.stats.audio_frames_in += 1
        return event

    async def send_audio(self, frame: bytes) -> None:
        if self.closed is None:
            self.sent.append(frame)
            self.stats.audio_frames_out += 1

    async def send_stop_audio(self) -> None:
        if self.closed is None:
            self.sent.append(STOP_AUDIO)
            self.stats.stop_audio_out += 1

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed is None:
            self.closed = (code, reason)
            with contextlib.suppress(asyncio.QueueFull):
                self._inbound.put_nowait(None)  # wake a `receive` waiting on an empty queue
