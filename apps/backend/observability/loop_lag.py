"""Event loop lag: how late a periodic timer fires. Everything on the loop (every call's frames) waits at
least that long, so it is the first thing to look at when frame lag rises."""

from __future__ import annotations

import asyncio
import contextlib
import time

from apps.backend.observability.histogram import LoopHistogram


class LoopLagMonitor:
    def __init__(self, histogram: LoopHistogram, period_s: float = 0.02) -> None:
        self._histogram = histogram
        self._period_s = period_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        period = self._period_s
        while True:
            due = time.monotonic() + period
            await asyncio.sleep(period)
            self._histogram.observe(max(0.0, time.monotonic() - due))
