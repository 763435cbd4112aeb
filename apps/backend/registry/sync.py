"""Every replica reloads: refresh requests travel over Redis pub/sub and replicas acknowledge.

Keys and channels:
  sb:replicas                   sorted set, member = replica id, score = last heartbeat (unix seconds)
  sb:registry:refresh           pub/sub channel; message = {"request_id", "origin"}
  sb:registry:acks:{request_id} list of RefreshAck JSON, expires after a minute

The replica that takes the HTTP call refreshes itself first (so a 422 changes nothing anywhere), then
publishes; the others reload from their own disks (AGENTS_DIR must be the same shared content everywhere)
and push an ack. The caller learns which replicas acknowledged within the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

import orjson
import redis.asyncio as aioredis
from pydantic import BaseModel

from apps.backend.registry.holder import RegistryHolder
from registries.loader import RegistryError

log = logging.getLogger(__name__)

CHANNEL = "sb:registry:refresh"
REPLICAS_KEY = "sb:replicas"
HEARTBEAT_SECONDS = 5.0
REPLICA_TTL_SECONDS = 15.0
ACK_TTL_SECONDS = 60


class RefreshAck(BaseModel):
    replica: str
    ok: bool
    version: str | None = None
    error: str | None = None


class ReplicaReport(BaseModel):
    expected: list[str]
    acknowledged: list[RefreshAck]
    missing: list[str]


def _member_name(member: object) -> str:
    """A sorted-set member as text (redis-py types range replies loosely: members, pairs or rows)."""
    if isinstance(member, bytes):
        return member.decode()
    if isinstance(member, str):
        return member
    raise TypeError(f"expected a str/bytes sorted-set member, got {type(member).__name__}")


def _ack_key(request_id: str) -> str:
    return f"sb:registry:acks:{request_id}"


class RegistrySync:
    def __init__(
        self, redis: aioredis.Redis, holder: RegistryHolder, *, replica_id: str | None = None
    ) -> None:
        self._redis = redis
        self._holder = holder
        self.replica_id = replica_id or uuid.uuid4().hex[:12]
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        await self._heartbeat_once()
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="registry-heartbeat"),
            asyncio.create_task(self._listen(), name="registry-listener"),
        ]
        await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self._redis.zrem(REPLICAS_KEY, self.replica_id)

    async def live_replicas(self) -> list[str]:
        cutoff = time.time() - REPLICA_TTL_SECONDS
        members = await self._redis.zrangebyscore(REPLICAS_KEY, cutoff, "+inf")
        return sorted(_member_name(m) for m in members)

    async def broadcast(self, own: RefreshAck, *, wait_seconds: float = 3.0) -> ReplicaReport:
        """Ask every other live replica to reload; collect acks (ours included) for up to `wait_seconds`."""
        request_id = uuid.uuid4().hex
        expected = await self.live_replicas()
        key = _ack_key(request_id)
        await self._redis.rpush(key, own.model_dump_json())
        await self._redis.expire(key, ACK_TTL_SECONDS)
        await self._redis.publish(
            CHANNEL, orjson.dumps({"request_id": request_id, "origin": self.replica_id})
        )
        deadline = time.monotonic() + wait_seconds
        acks: dict[str, RefreshAck] = {}
        while True:
            for raw in await self._redis.lrange(key, 0, -1):
                ack = RefreshAck.model_validate_json(raw)
                acks[ack.replica] = ack
            if set(expected) <= set(acks) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        return ReplicaReport(
            expected=expected,
            acknowledged=sorted(acks.values(), key=lambda a: a.replica),
            missing=sorted(set(expected) - set(acks)),
        )

    async def _heartbeat_once(self) -> None:
        await self._redis.zadd(REPLICAS_KEY, {self.replica_id: time.time()})
        await self._redis.zremrangebyscore(REPLICAS_KEY, "-inf", time.time() - 10 * REPLICA_TTL_SECONDS)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._heartbeat_once()
            except (OSError, aioredis.RedisError) as exc:  # a Redis blip must not kill the loop
                log.warning("replica heartbeat failed", extra={"error": str(exc)})

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._on_request(message["data"])
            except asyncio.CancelledError:
                raise
            except (OSError, aioredis.RedisError) as exc:
                log.warning("registry listener lost redis; retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)

    async def _on_request(self, raw: bytes | str) -> None:
        try:
            request = orjson.loads(raw)
            request_id, origin = str(request["request_id"]), str(request["origin"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("malformed registry refresh message dropped")
            return
        if origin == self.replica_id:
            return
        try:
            outcome = await self._holder.refresh()
            ack = RefreshAck(replica=self.replica_id, ok=True, version=outcome.version)
        except RegistryError as exc:
            ack = RefreshAck(replica=self.replica_id, ok=False, error=f"{len(exc.issues)} registry problems")
        await self._redis.rpush(_ack_key(request_id), ack.model_dump_json())
