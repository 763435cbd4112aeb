"""How late each inbound frame is handled, measured against the call's own 20 ms cadence.

ACS sends one frame every 20 ms and stamps each with the time its audio was captured. A frame's lag is
(when we finished handling it) - (when it would have been handled had every frame been on time), where
"on time" is anchored to the earliest frame seen relative to its stamp. Only differences of the sender's
stamps are used, so clock skew between ACS and us does not matter, and a frame ACS never sent does not
count as lag: it counts as `missing` instead (stamps that jump by more than a frame). Without usable stamps
the frame count stands in for them.
"""

from __future__ import annotations

from datetime import datetime

FRAME_SECONDS = 0.020


class AudioClock:
    """Maps a call's audio time to the monotonic time that audio reached us, had no frame been late.

    The most punctual frame so far (smallest arrival minus audio time) defines the mapping, so lateness in
    our own frame handling shows up as lag instead of moving the clock.
    """

    def __init__(self) -> None:
        self.epoch: float | None = None
        """Monotonic time at which audio time 0 arrived."""

    def observe(self, audio_s: float, now: float) -> float:
        """Audio up to `audio_s` was handled at `now`: how late that was (seconds, >= 0)."""
        offset = now - audio_s
        if self.epoch is None or offset < self.epoch:
            self.epoch = offset
            return 0.0
        return offset - self.epoch

    def arrival(self, audio_s: float, default: float) -> float:
        """When the audio at `audio_s` arrived (`default` before any audio was observed)."""
        return default if self.epoch is None else self.epoch + audio_s


class FrameCadence:
    def __init__(self, frame_s: float = FRAME_SECONDS) -> None:
        self._frame_s = frame_s
        self._clock = AudioClock()
        self._frames = 0
        self._first_stamp: float | None = None
        self._previous: float | None = None
        self.missing = 0
        """Frames the sender's stamps say were sent but never arrived (lost on the way, or by the sender)."""

    def lag(self, now: float, stamp: str | None = None, *, frames: int = 1) -> float:
        """Lag (seconds, >= 0) of a chunk of `frames` consecutive frames handled at monotonic `now`, the first
        with the sender's ISO 8601 `stamp`: how late the chunk's last frame was handled (the earlier ones of a
        chunk waited in the socket because the call was behind, which the last one's lag already shows)."""
        audio_time = self._audio_time(stamp, frames)
        if self._previous is not None and audio_time - self._previous > 1.5 * self._frame_s:
            self.missing += round((audio_time - self._previous) / self._frame_s) - 1
        self._previous = audio_time + (frames - 1) * self._frame_s
        return self._clock.observe(self._previous, now)

    def _audio_time(self, stamp: str | None, frames: int) -> float:
        index = self._frames
        self._frames += frames
        if stamp:
            try:
                seconds = datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                seconds = None
            if seconds is not None:
                if self._first_stamp is None:
                    self._first_stamp = seconds - index * self._frame_s
                return seconds - self._first_stamp
        return index * self._frame_s
