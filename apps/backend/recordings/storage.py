"""Where finished recordings are kept: a `RecordingStorage`, local files by default (RECORDINGS_DIR) or Azure
Blob Storage (RECORDINGS_BLOB_CONNECTION_STRING, see blob_storage.py).

A recording is encoded into a partial file first (`partial_path`) and handed to the storage when the call ends;
nothing else ever writes a recording, so a scenario with recording off leaves nothing anywhere.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

RECORDING_SUFFIX = ".ogg"
MEDIA_TYPE = "audio/ogg"
CHUNK_BYTES = 64 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def recording_name(call_id: str) -> str:
    """The recording's file or blob name. Call ids are ours (hex), but never trust one into a path."""
    if not _SAFE_ID.fullmatch(call_id):
        raise ValueError("not a call id")
    return call_id + RECORDING_SUFFIX


STALE_PARTIAL_S = 3600.0
"""A partial file untouched this long belongs to no live call (the encoder writes every second or so)."""


def delete_stale_partials(partial_dir: Path, limit: float) -> None:
    """Partial files a worker that died mid-call left behind (blocking: run in a thread)."""
    if not partial_dir.is_dir():
        return
    for path in partial_dir.glob("*" + RECORDING_SUFFIX):
        modified = path.stat().st_mtime
        if modified < time.time() - STALE_PARTIAL_S or modified < limit:
            path.unlink(missing_ok=True)


class RecordingStorage(Protocol):
    async def save(self, call_id: str, partial: Path) -> None:
        """Keep the finished recording at `partial` (which is then gone) as the call's recording."""
        ...

    async def size(self, call_id: str) -> int | None:
        """The stored recording's size in bytes, or None when the call has none."""
        ...

    def stream(self, call_id: str) -> AsyncIterator[bytes]:
        """The recording's bytes, in chunks (call `size` first: a missing recording yields nothing)."""
        ...

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: delete every recording last written before `cutoff`. How many were deleted."""
        ...

    async def close(self) -> None: ...


class LocalRecordingStorage:
    """One Ogg file per call in `directory` (partial files under `directory/.partial`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.partial_dir = directory / ".partial"

    def partial_path(self, call_id: str) -> Path:
        return self.partial_dir / recording_name(call_id)

    def _path(self, call_id: str) -> Path:
        return self.directory / recording_name(call_id)

    async def save(self, call_id: str, partial: Path) -> None:
        target = self._path(call_id)
        await asyncio.to_thread(os.replace, partial, target)  # same filesystem: atomic

    async def size(self, call_id: str) -> int | None:
        path = self._path(call_id)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def stream(self, call_id: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self._path(call_id).open, "rb")
        except FileNotFoundError:
            return
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete_older_than(self, cutoff: datetime) -> int:
        limit = cutoff.timestamp()

        def sweep() -> int:
            deleted = 0
            if not self.directory.is_dir():
                return 0
            for path in self.directory.glob("*" + RECORDING_SUFFIX):
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
                    deleted += 1
            delete_stale_partials(self.partial_dir, limit)
            return deleted

        return await asyncio.to_thread(sweep)

    async def close(self) -> None:
        return None
