"""Call records in Redis.

Key schema (TTL = CALL_RECORD_TTL_SECONDS on every key):
  sb:call:{call_id}                   JSON CallRecord
  sb:call-conn:{call_connection_id}   call_id (ACS' id -> ours; set once answer or media tells us)
  sb:calls:by-created                 sorted set: call_id scored by created_at (epoch seconds), for listing;
                                      members older than the TTL are trimmed on create, members whose record
                                      expired are skipped and pruned when listed

`call_id` is ours, minted when the IncomingCall arrives (before ACS has a connection id), so the media
token and the record can exist before the answer returns. Updates are optimistic transactions
(WATCH/MULTI) because callbacks and the media socket update the same record concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import WatchError

from apps.backend.storage.call_cursor import decode_cursor, encode_cursor, scored_members
from apps.backend.storage.intake_result import IntakeResult
from voice.usage.amounts import UsageLine

log = logging.getLogger(__name__)

MAX_EVENTS_PER_CALL = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class CallStatus(StrEnum):
    INCOMING = "incoming"
    ANSWERING = "answering"
    DIALING = "dialing"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    ENDED = "ended"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (CallStatus.ENDED, CallStatus.FAILED)


class AnsweredBy(StrEnum):
    HUMAN = "human"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"


class TransferOutcome(StrEnum):
    TRANSFERRED = "transferred"
    CALLBACK_NEEDED = "callback_needed"


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallChannel(StrEnum):
    """How the caller reached us: the phone network (ACS), or a browser voice session."""

    PHONE = "phone"
    WEBSOCKET = "websocket"
    WEBRTC = "webrtc"
    RELAY = "relay"


class CallCarrier(StrEnum):
    """Which telephony carrier a phone call came through."""

    ACS = "acs"
    TWILIO = "twilio"


class CallEvent(BaseModel):
    at: datetime = Field(default_factory=utcnow)
    type: str
    detail: str | None = None


class CallRecord(BaseModel):
    call_id: str
    direction: CallDirection
    channel: CallChannel = CallChannel.PHONE
    call_connection_id: str | None = None
    server_call_id: str | None = None
    correlation_id: str | None = None
    caller: str = ""
    callee: str = ""
    caller_display_name: str = ""
    scenario: str
    agent: str | None = None
    """The agent the call starts with, when not the scenario's start agent (a browser session's choice)."""
    language: str | None = None
    """The recognition language asked for (one of the start agent's), when not its first."""
    registry_version: str | None = None
    status: CallStatus = CallStatus.INCOMING
    media_connected: bool = False
    audio_sample_rate: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    media_started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    events: list[CallEvent] = Field(default_factory=list)
    intake: IntakeResult | None = None
    """The scenario's intake form, once the call completed it."""
    carrier: CallCarrier | None = None
    """A phone call's carrier when it is not ACS (None: ACS, or not a phone call)."""
    carrier_call_id: str | None = None
    """The carrier's own id of the call when not ACS (Twilio's CallSid)."""
    answered_by: AnsweredBy | None = None
    """Outbound calls: who picked up (human, voicemail), or why nobody did (no_answer, busy)."""
    transfer_outcome: TransferOutcome | None = None
    """A warm transfer's end: handed to a person, or nobody answered and the caller needs a callback."""
    usage: list[UsageLine] = Field(default_factory=list)
    """What the call used so far, per provider, model and agent (written behind the call; priced on read)."""

    def add_event(self, type_: str, detail: str | None = None, *, at: datetime | None = None) -> None:
        """`at`: when it happened, if earlier than now (updates written behind the call)."""
        self.events.append(CallEvent(at=at or utcnow(), type=type_, detail=detail))
        if len(self.events) > MAX_EVENTS_PER_CALL:
            del self.events[: len(self.events) - MAX_EVENTS_PER_CALL]

    def end(self, reason: str, *, failed: bool = False) -> None:
        if self.status.is_final:
            return
        self.status = CallStatus.FAILED if failed else CallStatus.ENDED
        self.ended_at = utcnow()
        self.end_reason = reason
        self.media_connected = False


class CallSummary(BaseModel):
    """A call as a dashboard's list shows it: no event list, no ACS ids."""

    call_id: str
    channel: CallChannel = CallChannel.PHONE
    status: CallStatus
    scenario: str
    caller: str
    created_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None

    @classmethod
    def of(cls, record: CallRecord) -> CallSummary:
        return cls(
            call_id=record.call_id,
            channel=record.channel,
            status=record.status,
            scenario=record.scenario,
            caller=record.caller,
            created_at=record.created_at,
            ended_at=record.ended_at,
            end_reason=record.end_reason,
        )


class CallPage(BaseModel):
    calls: list[CallSummary]
    next_cursor: str | None = None
    """Opaque; pass back as `cursor` for the next (older) page. None: this was the last page."""


class CallNotFound(KeyError):
    pass


# Compare-and-set of a record: written only if Redis still holds exactly the JSON the writer started from.
# KEYS: record, connection link ("" for none); ARGV: expected JSON, new JSON, TTL, call id.
# Returns 1 when written, the record Redis holds instead when it differs, nil when there is none.
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if not current then return nil end
if current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class KnownRecord:
    """A call record as one writer last wrote it: the JSON stored (the compare-and-set's expected value) and
    the model it was dumped from, so the writer's next update starts from it without parsing it again."""

    raw: bytes
    record: CallRecord


class RedisCallStore:
    def __init__(self, client: aioredis.Redis, *, ttl_seconds: int, prefix: str = "sb") -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._compare_and_set = client.register_script(_COMPARE_AND_SET)
        # Writers in this process queue per call; WATCH only has to settle races between replicas.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _record_key(self, call_id: str) -> str:
        return f"{self._prefix}:call:{call_id}"

    def _conn_key(self, call_connection_id: str) -> str:
        return f"{self._prefix}:call-conn:{call_connection_id}"

    @property
    def _index_key(self) -> str:
        return f"{self._prefix}:calls:by-created"

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    async def create(self, record: CallRecord) -> None:
        created = await self._redis.set(
            self._record_key(record.call_id), record.model_dump_json(), ex=self._ttl, nx=True
        )
        if not created:
            raise ValueError(f"call {record.call_id} already exists")
        created_at = record.created_at.timestamp()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._index_key, {record.call_id: created_at})
            # Same lifetime as the records: older members can only point at expired records.
            pipe.zremrangebyscore(self._index_key, "-inf", f"({utcnow().timestamp() - self._ttl}")
            pipe.expire(self._index_key, self._ttl)
            await pipe.execute()
        if record.call_connection_id:
            await self.link_connection(record.call_id, record.call_connection_id)

    async def list_recent(self, *, limit: int, cursor: str | None = None) -> CallPage:
        """Calls newest first, `limit` per page; records that expired are skipped and dropped from the index."""
        after_id: str | None = None
        max_score: float | str = "+inf"
        if cursor:
            max_score, after_id = decode_cursor(cursor)
        found: list[tuple[float, CallRecord]] = []
        batch = limit + 1
        offset = 0
        while len(found) <= limit:
            rows = scored_members(
                await self._redis.zrevrangebyscore(
                    self._index_key, max_score, "-inf", start=offset, num=batch, withscores=True
                )
            )
            if not rows:
                break
            offset += len(rows)
            # Equal scores come in descending member order: skip those at or before the cursor's member.
            page = [
                (member, score)
                for member, score in rows
                if not (after_id is not None and score == max_score and member >= after_id)
            ]
            if not page:
                continue
            raws = await self._redis.mget([self._record_key(member) for member, _ in page])
            expired = [member for (member, _), raw in zip(page, raws, strict=True) if raw is None]
            if expired:
                await self._redis.zrem(self._index_key, *expired)
                offset -= len(expired)  # removed members no longer count towards the next batch's offset
            found.extend(
                (score, CallRecord.model_validate_json(raw))
                for (_, score), raw in zip(page, raws, strict=True)
                if raw is not None
            )
            if len(rows) < batch:
                break
        more = len(found) > limit
        found = found[:limit]
        next_cursor = encode_cursor(found[-1][0], found[-1][1].call_id) if more and found else None
        return CallPage(calls=[CallSummary.of(record) for _, record in found], next_cursor=next_cursor)

    async def get_many(self, call_ids: list[str]) -> list[CallRecord]:
        """The records of `call_ids` still on record, in order (one round trip)."""
        if not call_ids:
            return []
        raws = await self._redis.mget([self._record_key(call_id) for call_id in call_ids])
        return [CallRecord.model_validate_json(raw) for raw in raws if raw is not None]

    async def get(self, call_id: str) -> CallRecord:
        raw = await self._redis.get(self._record_key(call_id))
        if raw is None:
            raise CallNotFound(call_id)
        return CallRecord.model_validate_json(raw)

    async def link_connection(self, call_id: str, call_connection_id: str) -> None:
        await self._redis.set(self._conn_key(call_connection_id), call_id, ex=self._ttl)

    async def resolve(self, any_id: str) -> str | None:
        """Our call id for either of our call id or ACS' call connection id."""
        if await self._redis.exists(self._record_key(any_id)):
            return any_id
        found = await self._redis.get(self._conn_key(any_id))
        return found.decode() if isinstance(found, bytes) else found

    async def update(
        self, call_id: str, mutate: Callable[[CallRecord], None], *, attempts: int = 20
    ) -> CallRecord:
        """Apply `mutate` atomically; retried when a concurrent writer got there first."""
        async with self._lock_for(call_id):
            return await self._update_watched(call_id, mutate, attempts)

    def _lock_for(self, call_id: str) -> asyncio.Lock:
        lock = self._locks.get(call_id)
        if lock is None:
            lock = self._locks[call_id] = asyncio.Lock()
        return lock

    async def update_from(
        self,
        call_id: str,
        mutate: Callable[[CallRecord], None],
        known: KnownRecord | None,
        *,
        attempts: int = 20,
    ) -> tuple[CallRecord, KnownRecord]:
        """`update` for a writer that remembers the record as it last wrote it (`known`): while no one else
        wrote since, one round trip (a compare-and-set script) instead of WATCH, GET and MULTI/EXEC, and no
        parse (`mutate` gets `known.record` itself). Returns the record and what to pass as `known` next time;
        `known` must not be used again after a failure (its record may hold a mutation that was not written)."""
        key = self._record_key(call_id)
        async with self._lock_for(call_id):
            raw: bytes | str | None = None
            record: CallRecord | None = None
            if known is not None:
                raw, record = known.raw, known.record
            for _ in range(attempts):
                if raw is None:
                    raw = await self._redis.get(key)
                    if raw is None:
                        raise CallNotFound(call_id)
                if record is None:
                    record = CallRecord.model_validate_json(raw)
                mutate(record)
                written = record.model_dump_json().encode()
                link = self._conn_key(record.call_connection_id) if record.call_connection_id else ""
                result = await self._compare_and_set(
                    keys=[key, link], args=[raw, written, self._ttl, call_id]
                )
                if result == 1:
                    return record, KnownRecord(written, record)
                if result is None:
                    raise CallNotFound(call_id)
                raw, record = result, None  # another writer got there first: apply the mutation to theirs
        raise RuntimeError(f"call {call_id}: too much write contention")

    async def _update_watched(
        self, call_id: str, mutate: Callable[[CallRecord], None], attempts: int
    ) -> CallRecord:
        key = self._record_key(call_id)
        for attempt in range(attempts):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise CallNotFound(call_id)
                    record = CallRecord.model_validate_json(raw)
                    mutate(record)
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py's Pipeline.multi is unannotated
                    pipe.set(key, record.model_dump_json(), ex=self._ttl)
                    if record.call_connection_id:
                        pipe.set(self._conn_key(record.call_connection_id), call_id, ex=self._ttl)
                    await pipe.execute()
                    return record
                except WatchError:
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise RuntimeError(f"call {call_id}: too much write contention")
