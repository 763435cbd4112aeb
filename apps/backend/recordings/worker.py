"""The recording worker: one thread per process encodes every recorded call's audio, fed by a bounded queue.

The call's tap only queues (never waits); when the queue is full a piece is dropped and counted, and the
recording has a short silence there rather than the call a stall. Finishing a recording waits (off the loop)
for its last pieces to be encoded and its file closed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from apps.backend.recordings.encoder import OggOpusRecordingEncoder

log = logging.getLogger(__name__)

MAX_QUEUED_PIECES = 4000
"""About 80 s of 20 ms frames over all recorded calls: far more than one thread falls behind by."""

RecordingMode = Literal["caller", "both"]


_Job = Callable[[], None]


class RecordingWorker:
    def __init__(self, max_queued: int = MAX_QUEUED_PIECES) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queued)
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="recording-worker", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._thread is None:
            return
        await asyncio.to_thread(self._queue.put, None)
        await asyncio.to_thread(self._thread.join, 10.0)
        self._thread = None

    def submit(self, job: _Job) -> bool:
        try:
            self._queue.put_nowait(job)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    async def submit_waiting(self, job: _Job) -> None:
        """Queue `job` even when the queue is full (waits in a thread, never on the loop)."""
        if not self.submit(job):
            await asyncio.to_thread(self._queue.put, job)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("recording job failed")


@dataclass
class CallRecording:
    """One call's recording in progress (an `AudioRecorder` for the call's `RecordingTap`)."""

    call_id: str
    mode: RecordingMode
    path: Path
    worker: RecordingWorker
    _encoder: OggOpusRecordingEncoder | None = field(default=None, init=False)
    _failed: bool = field(default=False, init=False)

    # --- AudioRecorder (called on the loop; only queues) ---------------------------------------------
    def started(self, sample_rate: int) -> None:
        self.worker.submit(lambda: self._open(sample_rate))

    def caller_audio(self, position: int, pcm: bytes) -> None:
        self.worker.submit(lambda: self._with_encoder(lambda e: e.caller(position, pcm)))

    def agent_audio(self, position: int, pcm: bytes) -> None:
        if self.mode == "both":
            self.worker.submit(lambda: self._with_encoder(lambda e: e.agent(position, pcm)))

    def agent_cut(self, position: int) -> None:
        if self.mode == "both":
            self.worker.submit(lambda: self._with_encoder(lambda e: e.agent_cut(position)))

    # --- the end of the call ---------------------------------------------------------------------------
    async def finish(self) -> float | None:
        """Encode what is left and close the file. The duration in seconds, or None if nothing was recorded."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[float | None] = loop.create_future()

        def settle(duration: float | None) -> None:
            if not result.done():
                result.set_result(duration)

        def resolve(duration: float | None) -> None:
            loop.call_soon_threadsafe(settle, duration)

        await self.worker.submit_waiting(lambda: resolve(self._close()))
        return await result

    # --- on the worker thread ------------------------------------------------------------------------
    def _open(self, sample_rate: int) -> None:
        if self._encoder is None and not self._failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._encoder = OggOpusRecordingEncoder(
                    self.path, sample_rate=sample_rate, with_agent=self.mode == "both"
                )
            except Exception:
                self._failed = True
                log.exception("recording could not start", extra={"call_id": self.call_id})

    def _with_encoder(self, use: Callable[[OggOpusRecordingEncoder], None]) -> None:
        if self._encoder is not None and not self._failed:
            try:
                use(self._encoder)
            except Exception:
                self._failed = True
                log.exception("recording failed", extra={"call_id": self.call_id})
                self._encoder.abort()

    def _close(self) -> float | None:
        encoder, self._encoder = self._encoder, None
        if encoder is None or self._failed:
            self.path.unlink(missing_ok=True)
            return None
        try:
            return encoder.finish()
        except Exception:
            log.exception("recording could not be finished", extra={"call_id": self.call_id})
            self.path.unlink(missing_ok=True)
            return None
