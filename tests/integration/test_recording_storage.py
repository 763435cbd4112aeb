"""Recording storage: Azure Blob Storage through the real azure-storage-blob SDK against Azurite on loopback,
and the local folder; both keep a finished recording, stream it back, and delete it past retention."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.backend.recordings.blob_storage import BlobRecordingStorage
from apps.backend.recordings.storage import LocalRecordingStorage
from tests.azurite_server import AzuriteBlobServer, unavailable_reason

CALL = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BODY = b"OggS" + bytes(range(256)) * 600  # larger than one streamed chunk


async def collect(storage: LocalRecordingStorage | BlobRecordingStorage, call_id: str) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(call_id)])


async def test_blob_storage_keeps_streams_and_expires_recordings(tmp_path: Path) -> None:
    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    async with AzuriteBlobServer() as azurite:
        storage = BlobRecordingStorage(azurite.connection_string, "recordings", tmp_path / ".partial")
        try:
            assert await storage.size(CALL) is None
            partial = storage.partial_path(CALL)
            partial.parent.mkdir(parents=True)
            partial.write_bytes(BODY)
            await storage.save(CALL, partial)
            assert not partial.exists()  # uploaded, local copy gone
            assert await storage.size(CALL) == len(BODY)
            assert await collect(storage, CALL) == BODY
            assert await collect(storage, "no_such_call") == b""
            # Retention: nothing is older than a day ago; everything is older than tomorrow.
            stale, live = storage.partial_path("b" * 32), storage.partial_path("c" * 32)
            stale.write_bytes(b"OggS")  # left by a worker that died mid-call two hours ago
            live.write_bytes(b"OggS")  # a call still being recorded
            two_hours_ago = time.time() - 7200
            os.utime(stale, (two_hours_ago, two_hours_ago))
            assert await storage.delete_older_than(datetime.now(UTC) - timedelta(days=1)) == 0
            assert await storage.size(CALL) == len(BODY)
            assert not stale.exists() and live.exists()
            assert await storage.delete_older_than(datetime.now(UTC) + timedelta(days=1)) == 1
            assert await storage.size(CALL) is None
        finally:
            await storage.close()


async def test_local_storage_keeps_streams_and_expires_recordings(tmp_path: Path) -> None:
    storage = LocalRecordingStorage(tmp_path)
    partial = storage.partial_path(CALL)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(BODY)
    await storage.save(CALL, partial)
    assert await storage.size(CALL) == len(BODY) and await collect(storage, CALL) == BODY
    old = "a" * 32
    (tmp_path / f"{old}.ogg").write_bytes(b"old")
    forty_days_ago = time.time() - 40 * 86400
    os.utime(tmp_path / f"{old}.ogg", (forty_days_ago, forty_days_ago))
    assert await storage.delete_older_than(datetime.now(UTC) - timedelta(days=30)) == 1
    assert await storage.size(old) is None and await storage.size(CALL) == len(BODY)


def test_a_call_id_never_becomes_a_path() -> None:
    storage = LocalRecordingStorage(Path("/tmp/recordings"))
    with pytest.raises(ValueError):
        storage.partial_path("../../etc/passwd")
