"""Real-time pacing of 20 ms frames on a monotonic clock.

Frame k is due at t0 + k * frame_s: deadlines are computed from the start, never from the previous send, so
sleep overshoot does not accumulate into drift. A late frame is sent at once and the schedule catches up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class FramePacer:
    def __init__(
        self,
        frame_s: float = 0.02,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.frame_s = frame_s
        self._clock = clock
        self._sleep = sleep
        self.t0: float | None = None
        self.max_lateness_s = 0.0

    def start(self, t0: float | None = None) -> float:
        self.t0 = self._clock() if t0 is None else t0
        return self.t0

    def deadline(self, k: int) -> float:
        if self.t0 is None:
            raise RuntimeError("FramePacer.start() first")
        return self.t0 + k * self.frame_s

    def delay_until(self, k: int, now: float) -> float:
        """Seconds to sleep before sending frame k at `now` (0 when it is due or late)."""
        return max(0.0, self.deadline(k) - now)

    def due_frames(self, now: float) -> int:
        """How many frames (0..k) are due by `now`."""
        if self.t0 is None or now < self.t0:
            return 0
        return int((now - self.t0) / self.frame_s + 1e-9) + 1

    async def wait_for(self, k: int) -> None:
        now = self._clock()
        delay = self.delay_until(k, now)
        if delay > 0:
            await self._sleep(delay)
        else:
            self.max_lateness_s = max(self.max_lateness_s, now - self.deadline(k))
