"""The audio halves of the bridge: caller frames batched out to the realtime session, and the session's audio
resampled into the call's paced playout, with enough bookkeeping to say how much of it the caller heard."""

from __future__ import annotations

import time

from voice.audio.resample import StreamResampler
from voice.transports.cadence import AudioClock
from voice.transports.playout import FRAME_SECONDS, PacedPlayout


class InboundAudio:
    """Caller audio towards `input_audio_buffer.append`, `frames_per_append` frames per message (halves the
    message rate at 2), and a clock from the session's audio time to when that audio reached us.

    The server counts audio time from the first byte appended on its connection, so `reset()` on every new
    connection (frames dropped while reconnecting never reach it).
    """

    def __init__(self, sample_rate: int, frames_per_append: int = 2) -> None:
        self.sample_rate = sample_rate
        self._bytes_per_s = 2 * sample_rate  # PCM16 mono
        self._frames_per_append = frames_per_append
        self._pending = bytearray()
        self._frames = 0
        self._clock = AudioClock()
        self._audio_s = 0.0

    def reset(self) -> None:
        self._pending.clear()
        self._frames = 0
        self._clock = AudioClock()
        self._audio_s = 0.0

    def add(self, pcm: bytes, now: float) -> bytes | None:
        """Take one frame (arrived at monotonic `now`); returns a batch to send once one is complete."""
        self._audio_s += len(pcm) / self._bytes_per_s
        self._clock.observe(self._audio_s, now)
        self._pending += pcm
        self._frames += 1
        if self._frames < self._frames_per_append:
            return None
        batch = bytes(self._pending)
        self._pending.clear()
        self._frames = 0
        return batch

    def arrival(self, audio_ms: float | int | None) -> float:
        """Monotonic time the caller's audio at `audio_ms` (session audio time) reached us."""
        now = time.monotonic()
        if audio_ms is None:
            return now
        return min(now, self._clock.arrival(float(audio_ms) / 1000, default=now))


class OutboundAudio:
    """Session audio -> call rate -> playout, tracking the assistant item being played.

    How much of an item the caller heard (for `conversation.item.truncate` and the transcript) is
    approximate: frames the playout sent for the item, minus the lead that was sent but had not started
    playing at the far end (StopAudio flushes it). Padding of a trailing partial frame is ignored.
    """

    def __init__(self, playout: PacedPlayout, call_rate: int) -> None:
        self._playout = playout
        self._call_rate = call_rate
        self._resampler = StreamResampler(call_rate, call_rate)
        self.item_id: str | None = None
        self.item_audible_at: float | None = None
        """Monotonic time the current item's first audio starts playing at the caller (as queued)."""
        self._has_item = False
        self._item_start_frame = 0
        self._item_bytes = 0

    def configure(self, output_rate: int) -> None:
        """The session's output rate (a new connection, or a format change)."""
        self._resampler = StreamResampler(output_rate, self._call_rate)

    def play(self, item_id: str | None, pcm: bytes) -> bool:
        """Queue a chunk of the session's audio; True if it started a new item."""
        started = False
        if not self._has_item or item_id != self.item_id:
            self.item_id = item_id
            self._has_item = True
            frame_bytes = self._playout.frame_bytes
            queued_frames = -(-self._playout.pending_bytes // frame_bytes)
            self._item_start_frame = self._playout.frames_sent + queued_frames
            now = time.monotonic()
            self.item_audible_at = max(now, self._playout.audible_until) + queued_frames * FRAME_SECONDS
            self._item_bytes = 0
            started = True
        converted = self._resampler.process(pcm)
        if converted:
            self._item_bytes += len(converted)
            self._playout.enqueue(converted)
        return started

    def end(self) -> None:
        """The item's audio is complete: send the resampler's tail and pad the last frame."""
        tail = self._resampler.flush()
        if tail:
            self._item_bytes += len(tail)
            self._playout.enqueue(tail)
        self._playout.end_utterance()

    def heard_ms(self, now: float) -> int:
        """Milliseconds of the current item the caller has heard by monotonic `now`."""
        if not self._has_item:
            return 0
        sent = max(0, self._playout.frames_sent - self._item_start_frame) * FRAME_SECONDS
        in_flight = max(0.0, self._playout.audible_until - now)
        total = self._item_bytes / (2 * self._call_rate)
        return round(max(0.0, min(total, sent - in_flight)) * 1000)

    @property
    def item_ms(self) -> int:
        return int(self._item_bytes * 1000 / (2 * self._call_rate))

    def forget_item(self) -> None:
        self.item_id = None
        self._has_item = False
        self._item_bytes = 0
