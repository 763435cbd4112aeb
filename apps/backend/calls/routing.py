"""Delivering a command to the replica that holds a call's media, whichever replica received it.

ACS callbacks and admin requests reach any replica behind the load balancer, but a call's media WebSocket and
its conversation live on one. Each replica listens on its own channel `sb:replica:{replica_id}:commands`; `send`
runs a command locally when this replica owns the call, otherwise publishes it to the owner's channel.

`sb:call-owner:{call_id}` is the call's one media slot: `claim` takes it with SET NX and a per-claim owner token
(`{replica_id}/{nonce}`), before the media socket is accepted, so a second socket for the call is refused on
every replica. The owner refreshes its claims' TTL only while the value is still its own token and releases by
compare-and-delete, so a replica never extends or drops somebody else's claim; a dead replica's claims expire
after OWNER_TTL_SECONDS, which bounds how long they can block a legitimate reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

log = logging.getLogger(__name__)

OWNER_TTL_SECONDS = 30
OWNER_REFRESH_SECONDS = 10
CLAIM_TIMEOUT_SECONDS = 5.0
"""A claim that Redis does not answer in this time fails (the socket is refused) rather than hangs."""

# Refresh only our own claim; re-take it if it vanished (Redis restarted); 0 when another owner holds it now.
_REFRESH = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def owner_key(call_id: str) -> str:
    return f"sb:call-owner:{call_id}"


async def count_claimed(redis: aioredis.Redis, *, batch: int = 1000) -> int:
    """Calls whose media some replica holds right now, across every replica: the media claims in Redis (a dead
    replica's lapse after OWNER_TTL_SECONDS). A SCAN, so it never blocks Redis; for scalers, not call paths."""
    count = 0
    async for _ in redis.scan_iter(match=owner_key("*"), count=batch):
        count += 1
    return count


def owner_replica(value: bytes | str) -> str:
    """The replica id in an owner claim's value (`{replica_id}/{nonce}`)."""
    text = value.decode() if isinstance(value, bytes) else value
    return text.rsplit("/", 1)[0]


def command_channel(replica_id: str) -> str:
    return f"sb:replica:{replica_id}:commands"


class CloseMedia(BaseModel):
    kind: Literal["close_media"] = "close_media"
    call_id: str
    reason: str
    outcome: str | None = None
    """The call's outcome when we end it (an API hang-up, DELETE); None when the far end already did (ACS'
    CallDisconnected: the orchestrator's own "caller hung up" stands)."""


class SendDtmf(BaseModel):
    kind: Literal["dtmf"] = "dtmf"
    call_id: str
    digits: str = Field(pattern=r"^[0-9*#]{1,32}$")


class AddIceCandidate(BaseModel):
    """A browser's trickled ICE candidate, for the replica holding its WebRTC session's peer connection."""

    kind: Literal["ice_candidate"] = "ice_candidate"
    call_id: str
    candidate: str = Field(max_length=1024)
    sdp_mid: str | None = Field(None, max_length=64)
    sdp_mline_index: int | None = Field(None, ge=0, le=64)


class ParticipantResult(BaseModel):
    """ACS' verdict on a participant the call's agent invited (warm transfer), for the replica running it."""

    kind: Literal["participant_result"] = "participant_result"
    call_id: str
    event: Literal["AddParticipantSucceeded", "AddParticipantFailed"]
    operation_context: str | None = Field(None, max_length=256)


Command = CloseMedia | SendDtmf | AddIceCandidate | ParticipantResult
CallCommand = Annotated[Command, Field(discriminator="kind")]
_COMMAND = TypeAdapter(CallCommand)

Handler = Callable[[Command], Awaitable[None]]
LostHandler = Callable[[str], Awaitable[None]]


class CallRouter:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        replica_id: str,
        handle: Handler,
        on_lost: LostHandler | None = None,
    ) -> None:
        self._redis = redis
        self.replica_id = replica_id
        self._handle = handle
        self._on_lost = on_lost
        self._owned: dict[str, str] = {}  # call id -> our owner token for it
        self._refresh = redis.register_script(_REFRESH)
        self._release = redis.register_script(_RELEASE)
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
    async def claim(self, call_id: str) -> bool:
        """Take the call's media slot. False if a socket on this or another replica holds it; raises
        (RedisError, OSError) when Redis cannot say, so the caller fails closed."""
        if call_id in self._owned:
            return False
        token = f"{self.replica_id}/{uuid.uuid4().hex}"
        self._owned[call_id] = token  # reserved here before awaiting, so a racing local claim sees it
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT_SECONDS):
                taken = await self._redis.set(owner_key(call_id), token, nx=True, ex=OWNER_TTL_SECONDS)
        except BaseException:
            del self._owned[call_id]
            raise
        if not taken:
            del self._owned[call_id]
        return bool(taken)

    def owns(self, call_id: str) -> bool:
        return call_id in self._owned

    async def release(self, call_id: str) -> None:
        token = self._owned.get(call_id)
        if token is None:
            return
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT_SECONDS):
                await self._release(keys=[owner_key(call_id)], args=[token])
        except (OSError, aioredis.RedisError) as exc:  # it expires on its own
            log.warning("could not release call ownership", extra={"error_type": type(exc).__name__})
        finally:
            # Only now: until the claim is gone from Redis, a new local socket must still be refused.
            if self._owned.get(call_id) == token:
                del self._owned[call_id]

    async def _refresh_claims(self) -> None:
        while True:
            await asyncio.sleep(OWNER_REFRESH_SECONDS)
            for call_id, token in list(self._owned.items()):
                try:
                    kept = await self._refresh(keys=[owner_key(call_id)], args=[token, OWNER_TTL_SECONDS])
                except (OSError, aioredis.RedisError) as exc:
                    log.warning("call ownership refresh failed", extra={"error_type": type(exc).__name__})
                    continue
                if not kept and self._owned.get(call_id) == token:
                    # Our claim lapsed and another socket took the call: ours must go, one socket per call.
                    log.warning("call ownership lost to another media socket")
                    del self._owned[call_id]
                    if self._on_lost is not None:
                        try:
                            await self._on_lost(call_id)
                        except Exception:
                            log.exception("closing a call whose ownership was lost failed")

    # --- commands -------------------------------------------------------------------------------
    async def send(self, command: Command) -> bool:
        """Run `command` on the replica holding the call. False if no replica holds its media."""
        if command.call_id in self._owned:
            await self._handle(command)
            return True
        owner = await self._redis.get(owner_key(command.call_id))
        if owner is None:
            return False
        owner_id = owner_replica(owner)
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
