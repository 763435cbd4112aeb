"""Real-time pacing of agent audio towards the caller.

ACS plays what we send as it arrives, so we send 20 ms frames on a fixed schedule with a small lead
(a few frames ahead) instead of dumping a whole utterance at once: that keeps a barge-in cut tight, since
audio already sent cannot be recalled except by StopAudio, and StopAudio then has little to flush.
Frame k of a burst is due at t0 + k*20 ms on the monotonic clock, so timer jitter never accumulates.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from voice.transports.base import AudioSink, PlaybackReport

FRAME_SECONDS = 0.020


class PacedPlayout:
    def __init__(
        self,
        sink: AudioSink,
        *,
        frame_bytes: int,
        lead_frames: int = 3,
        frames_per_wake: int = 4,
        clock: Callable[[], float] = time.monotonic,
        on_underrun: Callable[[], None] | None = None,
    ) -> None:
        self._sink = sink
        self._report = sink if isinstance(sink, PlaybackReport) else None
        self._on_underrun = on_underrun
        self.frame_bytes = frame_bytes
        self._lead = lead_frames * FRAME_SECONDS
        # Sending a frame up to (frames_per_wake - 1) frames earlier than the lead requires lets one timer
        # wake-up send several frames in one write: a quarter of the wake-ups and send system calls per
        # speaking call for 60 ms more audio buffered at ACS (which a pause or StopAudio takes back or
        # flushes anyway, so a barge-in cut is as tight).
        self._early = (frames_per_wake - 1) * FRAME_SECONDS
        self._clock = clock
        self._buffer = bytearray()
        self._wakeup = asyncio.Event()
        self._drain_waiters: list[asyncio.Future[None]] = []  # `wait_idle`s until the queue is empty
        self._next_due = 0.0  # when the next frame starts playing at the far end
        self.frames_sent = 0
        self._paused = False
        # The last few frames sent, with when each starts playing: a pause takes back those not yet
        # playing (StopAudio flushes them at the far end) so a resume replays them.
        self._recent: deque[tuple[float, bytes]] = deque(maxlen=lead_frames + frames_per_wake + 1)

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    @property
    def audible_until(self) -> float:
        """Monotonic time at which everything sent so far has finished playing at the caller: by our clock,
        or later when the channel reports audio still unplayed (its playback stalled behind our schedule)."""
        if self._report is None:
            return self._next_due
        now = self._clock()
        return max(self._next_due, now + self._report.unplayed_frames(now) * FRAME_SECONDS)

    @property
    def is_audible(self) -> bool:
        return bool(self._buffer) or self._clock() < self._next_due

    @property
    def paused(self) -> bool:
        return self._paused

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
        was_audible = self.is_audible and not self._paused  # a pause already sent StopAudio
        self._paused = False
        self._buffer.clear()
        self._drained()
        self._recent.clear()
        self._next_due = min(self._next_due, self._clock())
        if was_audible:
            await self._sink.send_stop_audio()
        return was_audible

    async def pause(self) -> bool:
        """Go quiet now but keep the audio: StopAudio, and frames sent that had not started playing go back
        to the front of the queue, so `resume()` carries on from the exact point the caller last heard.
        True if StopAudio was sent: something sent is still playing by our clock, or the agent is mid-utterance
        (audio queued: after a stall of our loop the far end may still be playing frames that went out late),
        as for `interrupt()`."""
        if self._paused:
            return False
        now = self._clock()
        playing = now < self._next_due or bool(self._buffer)
        self._paused = True
        unplayed = [frame for starts_at, frame in self._recent if starts_at >= now]
        if unplayed:
            self._buffer[0:0] = b"".join(unplayed)
            self.frames_sent -= len(unplayed)
        self._recent.clear()
        self._next_due = min(self._next_due, now)
        if playing:
            await self._sink.send_stop_audio()
        return playing

    def resume(self) -> None:
        """Carry on after `pause()` (the caller's sound was not a real interruption)."""
        if self._paused:
            self._paused = False
            self._wakeup.set()

    async def wait_idle(self) -> None:
        """Return once the queue is empty and the last frame sent has finished playing."""
        while True:
            if self._buffer:
                # Woken when the last queued frame goes out (or the queue is dropped), not every frame.
                waiter = asyncio.get_running_loop().create_future()
                self._drain_waiters.append(waiter)
                try:
                    await waiter
                finally:
                    if waiter in self._drain_waiters:
                        self._drain_waiters.remove(waiter)
                continue
            remaining = self._next_due - self._clock()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    def _drained(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def run(self) -> None:
        """The pacing loop; runs for the life of the call (its owner cancels it)."""
        frame_bytes = self.frame_bytes
        bursting = False  # frames have been going out back to back (an idle wait ends a burst)
        while True:
            if self._paused or len(self._buffer) < frame_bytes:
                bursting = False
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            now = self._clock()
            if self._next_due < now:
                if bursting and self._on_underrun is not None:
                    # Mid-burst with audio queued, yet the last frame sent has already finished playing:
                    # we fell behind (a stalled loop) and the caller hears a gap.
                    self._on_underrun()
                self._next_due = now  # start (or restart) the burst now
            wait = self._next_due - self._lead - now
            if wait > self._early:
                await asyncio.sleep(wait)
                continue
            frame = bytes(self._buffer[:frame_bytes])
            del self._buffer[:frame_bytes]
            if not self._buffer and self._drain_waiters:
                self._drained()
            self._recent.append((self._next_due, frame))
            self._next_due += FRAME_SECONDS
            self.frames_sent += 1
            bursting = True
            await self._sink.send_audio(frame)
