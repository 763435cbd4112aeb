"""Recordings in Azure Blob Storage (azure-storage-blob aio): one block blob per call in a container.

Encoding still happens in a local partial file (the worker writes a file); the blob is uploaded when the call
ends, then the partial file is deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from apps.backend.recordings.storage import MEDIA_TYPE, delete_stale_partials, recording_name

log = logging.getLogger(__name__)


class BlobRecordingStorage:
    def __init__(self, connection_string: str, container: str, partial_dir: Path) -> None:
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._container: ContainerClient = self._service.get_container_client(container)
        self.partial_dir = partial_dir
        self._ready = False

    def partial_path(self, call_id: str) -> Path:
        return self.partial_dir / recording_name(call_id)

    async def _ensure_container(self) -> None:
        if not self._ready:
            try:
                await self._container.create_container()
            except ResourceExistsError:
                pass
            self._ready = True

    async def save(self, call_id: str, partial: Path) -> None:
        await self._ensure_container()
        data = await asyncio.to_thread(partial.read_bytes)
        await self._container.upload_blob(
            recording_name(call_id),
            data,
            overwrite=True,
            content_settings=ContentSettings(content_type=MEDIA_TYPE),
        )
        await asyncio.to_thread(partial.unlink, True)

    async def size(self, call_id: str) -> int | None:
        try:
            properties = await self._container.get_blob_client(recording_name(call_id)).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return int(properties.size)

    async def stream(self, call_id: str) -> AsyncIterator[bytes]:
        try:
            downloader = await self._container.download_blob(recording_name(call_id))
        except ResourceNotFoundError:
            return
        async for chunk in downloader.chunks():
            yield chunk

    async def delete_older_than(self, cutoff: datetime) -> int:
        # The local partial files too: a worker that died mid-call never uploaded (nor deleted) its file.
        await asyncio.to_thread(delete_stale_partials, self.partial_dir, cutoff.timestamp())
        await self._ensure_container()
        deleted = 0
        async for blob in self._container.list_blobs():
            if blob.last_modified is not None and blob.last_modified < cutoff:
                try:
                    await self._container.delete_blob(blob.name)
                    deleted += 1
                except ResourceNotFoundError:
                    pass
        return deleted

    async def close(self) -> None:
        await self._container.close()
        await self._service.close()
