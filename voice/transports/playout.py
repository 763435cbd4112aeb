"""Real-time pacing of agent audio towards the caller.

ACS plays what we send as it arrives, so we send 20 ms frames on a fixed schedule with a small lead
(a few frames ahead) instead of dumping a whole utterance at once: that keeps a barge-in cut tight, since
audio already sent cannot be recalled except by StopAudio, and StopAudio then has little to flush.
Frame k of a burst is due at t0 + k*20 ms on the monotonic clock, so timer jitter never accumulates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from voice.transports.base import AudioSink

FRAME_SECONDS = 0.020


class PacedPlayout:
    def __init__(
        self,
        sink: AudioSink,
        *,
        frame_bytes: int,
        lead_frames: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self.frame_bytes = frame_bytes
        self._lead = lead_frames * FRAME_SECONDS
        self._clock = clock
        self._buffer = bytearray()
        self._wakeup = asyncio.Event()
        self._next_due = 0.0  # when the next frame starts playing at the far end
        self.frames_sent = 0

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    @property
    def audible_until(self) -> float:
        """Monotonic time at which everything sent so far has finished playing at the caller."""
        return self._next_due

    @property
    def is_audible(self) -> bool:
        return bool(self._buffer) or self._clock() < self._next_due

    def enqueue(self, pcm: bytes) -> None:
        self._buffer += pcm
        self._wakeup.set()

    def end_utterance(self) -> None:
        """Pad a trailing partial frame with silence so it is sent rather than held back."""
        remainder = len(self._buffer) % self.frame_bytes
        if remainder:
            self._buffer += bytes(self.frame_bytes - remainder)
            self._wakeup.set()

    async def interrupt(self) -> bool:
        """Drop what is queued; if the caller may still hear us, send StopAudio. True if it was sent."""
        was_audible = self.is_audible
        self._buffer.clear()
        self._next_due = min(self._next_due, self._clock())
        if was_audible:
            await self._sink.send_stop_audio()
        return was_audible

    async def wait_idle(self) -> None:
        """Return once the queue is empty and the last frame sent has finished playing."""
        while True:
            if self._buffer:
                await asyncio.sleep(FRAME_SECONDS)
                continue
            remaining = self._next_due - self._clock()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    async def run(self) -> None:
        """The pacing loop; runs for the life of the call (its owner cancels it)."""
        frame_bytes = self.frame_bytes
        while True:
            if len(self._buffer) < frame_bytes:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            now = self._clock()
            if self._next_due < now:  # idle gap: start a new burst now
                self._next_due = now
            wait = self._next_due - self._lead - now
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            frame = bytes(self._buffer[:frame_bytes])
            del self._buffer[:frame_bytes]
            self._next_due += FRAME_SECONDS
            self.frames_sent += 1
            await self._sink.send_audio(frame)
