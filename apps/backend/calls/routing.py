"""Delivering a command to the replica that holds a call's media, whichever replica received it.

ACS callbacks and admin requests reach any replica behind the load balancer, but a call's media WebSocket and
its conversation live on one. Each replica records the calls it holds in `sb:call-owner:{call_id}` (refreshed
while the media runs, so a dead replica's claims expire) and listens on its own channel
`sb:replica:{replica_id}:commands`. `send` runs a command locally when this replica owns the call, otherwise
publishes it to the owner's channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

log = logging.getLogger(__name__)

OWNER_TTL_SECONDS = 30
OWNER_REFRESH_SECONDS = 10


def owner_key(call_id: str) -> str:
    return f"sb:call-owner:{call_id}"


def command_channel(replica_id: str) -> str:
    return f"sb:replica:{replica_id}:commands"


class CloseMedia(BaseModel):
    kind: Literal["close_media"] = "close_media"
    call_id: str
    reason: str


class SendDtmf(BaseModel):
    kind: Literal["dtmf"] = "dtmf"
    call_id: str
    digits: str = Field(pattern=r"^[0-9*#]{1,32}$")


CallCommand = Annotated[CloseMedia | SendDtmf, Field(discriminator="kind")]
_COMMAND = TypeAdapter(CallCommand)

Handler = Callable[[CloseMedia | SendDtmf], Awaitable[None]]


class CallRouter:
    def __init__(self, redis: aioredis.Redis, *, replica_id: str, handle: Handler) -> None:
        self._redis = redis
        self.replica_id = replica_id
        self._handle = handle
        self._owned: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="call-router-listen"),
            asyncio.create_task(self._refresh_claims(), name="call-router-claims"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for call_id in list(self._owned):
            await self.release(call_id)

    # --- ownership ---------------------------------------------------------------------------
    async def claim(self, call_id: str) -> None:
        """This replica now holds the call's media."""
        self._owned.add(call_id)
        try:
            await self._redis.set(owner_key(call_id), self.replica_id, ex=OWNER_TTL_SECONDS)
        except (OSError, aioredis.RedisError) as exc:  # the refresher retries; the call goes on
            log.warning("could not record call ownership", extra={"error_type": type(exc).__name__})

    async def release(self, call_id: str) -> None:
        self._owned.discard(call_id)
        with contextlib.suppress(OSError, aioredis.RedisError):
            # Only delete our own claim: the call may have moved to another replica meanwhile.
            if await self._redis.get(owner_key(call_id)) == self.replica_id.encode():
                await self._redis.delete(owner_key(call_id))

    async def _refresh_claims(self) -> None:
        while True:
            await asyncio.sleep(OWNER_REFRESH_SECONDS)
            for call_id in list(self._owned):
                try:
                    await self._redis.set(owner_key(call_id), self.replica_id, ex=OWNER_TTL_SECONDS)
                except (OSError, aioredis.RedisError) as exc:
                    log.warning("call ownership refresh failed", extra={"error_type": type(exc).__name__})

    # --- commands -------------------------------------------------------------------------------
    async def send(self, command: CloseMedia | SendDtmf) -> bool:
        """Run `command` on the replica holding the call. False if no replica holds its media."""
        if command.call_id in self._owned:
            await self._handle(command)
            return True
        owner = await self._redis.get(owner_key(command.call_id))
        if owner is None:
            return False
        owner_id = owner.decode() if isinstance(owner, bytes) else owner
        receivers = await self._redis.publish(command_channel(owner_id), command.model_dump_json())
        if not receivers:
            log.warning("call owner is not listening (replica gone?)", extra={"kind": command.kind})
        return bool(receivers)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(command_channel(self.replica_id))
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except (OSError, aioredis.RedisError) as exc:
                log.warning(
                    "call command listener lost redis; retrying", extra={"error_type": type(exc).__name__}
                )
                await asyncio.sleep(1.0)

    async def _on_message(self, raw: bytes | str) -> None:
        try:
            command = _COMMAND.validate_json(raw)
        except ValidationError:
            log.warning("malformed call command dropped")
            return
        if command.call_id not in self._owned:
            return  # the call ended here between the lookup and the delivery
        try:
            await self._handle(command)
        except Exception:
            log.exception("call command failed", extra={"kind": command.kind})
