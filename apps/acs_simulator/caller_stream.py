"""What every simulated carrier's media WebSocket shares (ACS here, Twilio in `apps.twilio_simulator`): the
caller's audio paced in real time, one 20 ms frame every 20 ms from the start (silence and keyed digits
included), the media clock the caller script waits on, how the backend closed the socket, and the hang-up.

A carrier says how a frame goes on its wire and what the backend's messages mean (`_exchange`, `_on_message`);
the loops, the clock and the shutdown are here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerAudioSource, CallerScriptRunner, CallerStep
from apps.acs_simulator.media_messages import FRAME_MS
from apps.acs_simulator.pacing import FramePacer


class CallerStream:
    """The caller's end of one media WebSocket; `_ws` is set by the carrier's connect."""

    def __init__(self, sample_rate: int, timeline: tl.Timeline, *, task_prefix: str) -> None:
        self.sample_rate = sample_rate
        self.timeline = timeline

        def mark_agent_audio(kind: str, t_ms: float) -> None:
            timeline.mark(kind, t_ms=t_ms)

        self.detector = tl.AgentAudioDetector(mark_agent_audio)
        self.source = CallerAudioSource(sample_rate, timeline.mark)
        self.pacer = FramePacer(FRAME_MS / 1000)
        self.closed_by_backend = asyncio.Event()
        # How the backend closed the socket (1000 = a normal end; 1008 = refused by policy, ...).
        self.close_code: int | None = None
        self.close_reason = ""
        self._task_prefix = task_prefix
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tick = asyncio.Event()
        self._now_ms = 0.0
        self._base_ms = 0.0
        self._closing = False

    # ---- the carrier's part -----------------------------------------------------------------------------

    async def _exchange(
        self, ws: ClientConnection, k: int, t_ms: float, frame: bytes, silent: bool, digit: str | None
    ) -> bool:
        """Send the caller's frame k (and a keyed digit), play one frame of the agent: True when the caller
        heard agent speech in it."""
        raise NotImplementedError

    async def _on_message(self, raw: str | bytes) -> None:
        """One message from the backend."""
        raise NotImplementedError

    async def _last_words(self, ws: ClientConnection) -> None:
        """What the carrier sends before it closes the socket on a hang-up (nothing by default)."""

    # ---- running ----------------------------------------------------------------------------------------

    def _start_streaming(self) -> float:
        """Start the media clock, the real-time frame loop and the receiver; the clock's start (monotonic)."""
        t0 = self.pacer.start()
        self._base_ms = self._now_ms = self.timeline.ms_at(t0)
        self._tasks = [
            asyncio.create_task(self._frames(), name=f"{self._task_prefix}-frames"),
            asyncio.create_task(self._receive(), name=f"{self._task_prefix}-receive"),
        ]
        return t0

    # ---- the media clock, for the caller script (apps.acs_simulator.caller_audio.AgentEar) ----------------

    def now_ms(self) -> float:
        return self._now_ms

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Re-check `predicate` after every frame; False on timeout or when the media stream ends."""

        async def poll() -> bool:
            while not predicate():
                if self.closed_by_backend.is_set() or not self._tasks or self._tasks[0].done():
                    return False
                await self._tick.wait()
            return True

        try:
            return await asyncio.wait_for(poll(), timeout_s)
        except TimeoutError:
            return False

    async def play_script(
        self, script: Sequence[CallerStep], hang_up_after_silence_s: float | None, max_duration_s: float
    ) -> None:
        """The caller's script, then until the line has been quiet (no caller script, no agent audio) for
        `hang_up_after_silence_s`: the caller's cue to hang up. None: never returns (only the backend or the
        call's max duration ends it)."""
        runner = CallerScriptRunner(script, self.source, self, self.sample_rate, self.timeline.mark)
        await runner.run()
        if hang_up_after_silence_s is None:
            await asyncio.Future()  # never
            return
        silence_ms = hang_up_after_silence_s * 1000
        done_ms = self.now_ms()

        def quiet() -> bool:
            now = self.now_ms()
            return now - done_ms >= silence_ms and self.detector.silent_for_ms(now) >= silence_ms

        await self.wait_until(quiet, max_duration_s)

    # ---- loops ------------------------------------------------------------------------------------------

    async def _frames(self) -> None:
        ws = self._ws
        assert ws is not None
        k = 0
        try:
            while True:
                await self.pacer.wait_for(k)
                t_ms = self._base_ms + k * FRAME_MS
                frame, silent, digit = self.source.next(t_ms)
                heard = await self._exchange(ws, k, t_ms, frame, silent, digit)
                self.detector.feed(t_ms, heard)
                self._now_ms = t_ms + FRAME_MS
                self._tick.set()
                self._tick = asyncio.Event()
                k += 1
        except ConnectionClosed:
            self._peer_closed()

    async def _receive(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for raw in ws:
                await self._on_message(raw)
        except ConnectionClosed:
            pass
        self._peer_closed()

    def _peer_closed(self) -> None:
        if not self._closing:
            if self._ws is not None and not self.closed_by_backend.is_set():
                self.close_code, self.close_reason = self._ws.close_code, self._ws.close_reason or ""
            self.closed_by_backend.set()
        self._tick.set()

    async def _hang_up(self) -> None:
        """Stop streaming, say the carrier's last words and close the WebSocket, then stop the receiver."""
        self._closing = True
        frames = self._tasks[0] if self._tasks else None
        if frames is not None:
            frames.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await frames
        self.source.close()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._last_words(self._ws)
                await asyncio.wait_for(self._ws.close(code=1000, reason="call ended"), 5.0)
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.detector.flush()
        self._tick.set()
