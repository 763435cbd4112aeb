"""Call recordings for the whole process: starts a call's recording when its scenario asks for one, stores it
when the call ends, serves it to admins, and deletes recordings past the retention period.

A scenario's `recording:` is `off` (the default: nothing is recorded, nothing is kept), `caller` (the caller
only, mono) or `both` (stereo: caller left, agent right, the agent as the caller heard it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from apps.backend.recordings.storage import LocalRecordingStorage, RecordingStorage
from apps.backend.recordings.worker import CallRecording, RecordingWorker
from apps.backend.settings import Settings
from registries.scenariostore.schema import ScenarioSpec

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 3600.0
STORE_TIMEOUT_S = 60.0


class StorageWithPartials(RecordingStorage, Protocol):
    def partial_path(self, call_id: str) -> Path: ...


def build_recording_storage(settings: Settings) -> StorageWithPartials:
    if settings.recordings_blob_connection_string is not None:
        from apps.backend.recordings.blob_storage import BlobRecordingStorage

        return BlobRecordingStorage(
            settings.recordings_blob_connection_string.get_secret_value(),
            settings.recordings_blob_container,
            settings.recordings_dir / ".partial",
        )
    return LocalRecordingStorage(settings.recordings_dir)


class RecordingService:
    def __init__(self, storage: StorageWithPartials, *, retention_days: int) -> None:
        self.storage = storage
        self._retention_days = retention_days
        self._worker = RecordingWorker()
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordingService:
        return cls(build_recording_storage(settings), retention_days=settings.recording_retention_days)

    async def start(self) -> None:
        self._worker.start()
        if self._retention_days > 0:
            await self.sweep()  # at start, then periodically
            self._sweeper = asyncio.create_task(self._sweep_periodically(), name="recordings:retention")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self._worker.stop()
        await self.storage.close()

    @property
    def dropped_pieces(self) -> int:
        return self._worker.dropped

    def begin(self, call_id: str, scenario: ScenarioSpec) -> CallRecording | None:
        """The call's recording, or None when its scenario records nothing."""
        if scenario.recording == "off":
            return None
        return CallRecording(
            call_id=call_id,
            mode=scenario.recording,
            path=self.storage.partial_path(call_id),
            worker=self._worker,
        )

    async def finish(self, recording: CallRecording) -> None:
        """The call is over: close its file and store it (bounded; failures are logged, never raised)."""
        try:
            async with asyncio.timeout(STORE_TIMEOUT_S):
                duration = await recording.finish()
                if duration is None:
                    return
                await self.storage.save(recording.call_id, recording.path)
            log.info("recording stored", extra={"duration_s": round(duration, 2), "mode": recording.mode})
        except Exception as exc:
            log.error("recording not stored", extra={"error_type": type(exc).__name__})

    async def size(self, call_id: str) -> int | None:
        return await self.storage.size(call_id)

    def stream(self, call_id: str) -> AsyncIterator[bytes]:
        return self.storage.stream(call_id)

    async def sweep(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=self._retention_days)
        try:
            deleted = await self.storage.delete_older_than(cutoff)
        except Exception as exc:
            log.warning("recording retention sweep failed", extra={"error_type": type(exc).__name__})
            return 0
        if deleted:
            log.info("recordings past retention deleted", extra={"deleted": deleted})
        return deleted

    async def _sweep_periodically(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            await self.sweep()
