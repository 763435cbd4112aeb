"""The dashboard side of live call events: one subscriber's bounded view of a call's Redis channel (the
publishing side and the event shapes are in `live_events.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from apps.backend.calls.live_events import channel_for, is_final, live_call_event

log = logging.getLogger(__name__)


class SubscriptionLost(ConnectionError):
    """The Redis subscription broke; no further events will arrive."""


class CallEventSubscription:
    """One dashboard's view of a call's channel: a bounded queue, filled by a reader task it owns.

    Use as an async context manager; subscribe happens on enter, so read the snapshot after entering and
    nothing published in between is missed.
    """

    def __init__(self, redis: aioredis.Redis, call_id: str, *, max_queued: int, prefix: str = "sb") -> None:
        self._redis = redis
        self._channel = channel_for(call_id, prefix)
        self._max_queued = max_queued
        self._queue: asyncio.Queue[tuple[BaseModel, str] | None] = asyncio.Queue()  # None: reader ended
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self.dropped = 0
        self.malformed = 0

    async def __aenter__(self) -> CallEventSubscription:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self._channel)
        self._reader = asyncio.create_task(self._read(self._pubsub), name="call-events-subscription")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe()
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py's PubSub.aclose is unannotated

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        try:
            await self._read_messages(pubsub)
        except (RedisError, OSError) as exc:
            log.warning("live call events subscription lost", extra={"error": exc.__class__.__name__})
        finally:
            self._queue.put_nowait(None)

    async def _read_messages(self, pubsub: aioredis.client.PubSub) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            data = message["data"]
            raw = data.decode() if isinstance(data, bytes) else str(data)
            try:
                event = live_call_event.validate_json(raw)
            except ValidationError:
                self.malformed += 1
                continue
            # A slow dashboard loses events, never the end of the call (it must learn to close).
            if self._queue.qsize() >= self._max_queued and not is_final(event):
                self.dropped += 1
                continue
            self._queue.put_nowait((event, raw))

    async def next(self, timeout: float | None = None) -> tuple[BaseModel, str] | None:
        """The next event and its JSON, or None after `timeout` seconds without one."""
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if item is None:
            self._queue.put_nowait(None)  # stay lost for later calls
            raise SubscriptionLost(self._channel)
        return item
