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


class FrameCadence:
    def __init__(self, frame_s: float = FRAME_SECONDS) -> None:
        self._frame_s = frame_s
        self._anchor: float | None = None  # our clock minus the frame's audio time, minimised
        self._frames = 0
        self._first_stamp: float | None = None
        self._previous: float | None = None
        self.missing = 0
        """Frames the sender's stamps say were sent but never arrived (lost on the way, or by the sender)."""

    def lag(self, now: float, stamp: str | None = None) -> float:
        """Lag (seconds, >= 0) of a frame handled at monotonic `now`, with the sender's ISO 8601 `stamp`."""
        audio_time = self._audio_time(stamp)
        if self._previous is not None and audio_time - self._previous > 1.5 * self._frame_s:
            self.missing += round((audio_time - self._previous) / self._frame_s) - 1
        self._previous = audio_time
        offset = now - audio_time
        if self._anchor is None or offset < self._anchor:
            self._anchor = offset  # this frame is the most punctual so far: it defines "on time"
            return 0.0
        return offset - self._anchor

    def _audio_time(self, stamp: str | None) -> float:
        index = self._frames
        self._frames += 1
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
