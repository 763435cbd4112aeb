"""Live call events for dashboards, carried over Redis pub/sub so a dashboard on any replica sees them.

Channel `sb:call-events:{call_id}`, one JSON `LiveCallEvent` per message. The call side publishes
fire-and-forget (`CallEventPublisher.publish` only appends to a bounded in-process queue that one task drains
into Redis, in order: it gathers for 50 ms, then sends up to 64 events per pipeline), so neither Redis nor a
dashboard can slow a call down; while Redis is hung or away the oldest queued events are dropped (counted) to
make room. The dashboard side (`CallEventSubscription`, in `live_event_subscription.py`) reads the channel
into a bounded queue and drops (and counts) what a slow dashboard cannot take. Pub/sub is at-most-once: a dashboard that connects late gets the past from its snapshot.

No PII beyond what the admin-only transcript API already shows: tool events carry no arguments or outputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import weakref
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.storage.call_store import CallRecord, CallStatus, CallSummary, utcnow
from apps.backend.storage.intake_result import IntakeResult
from apps.backend.summaries.model import PostCallSummary
from voice.guidance.models import GuidanceReport
from voice.transcript import Speaker, TranscriptTurn, TurnKind
from voice.usage.prices import LineCost, Money

log = logging.getLogger(__name__)

MAX_PENDING_PUBLISHES = 1000
"""Per process; beyond it (Redis slow or down) the oldest events are dropped rather than held in memory."""
PUBLISH_GATHER_S = 0.05  # an event waits this long for others to share its round trip
PUBLISH_BATCH = 64  # per pipeline: a command sent alone costs the loop ~135 us of CPU, ~35 piped
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0

# ACS callbacks that change what a dashboard shows, and the `change` they are reported as.
_CALLBACK_CHANGES = {
    "CallConnected": "connected",
    "CallDisconnected": "ended",
    "CallTransferAccepted": "transferring",
    "AnswerFailed": "failed",
    "CreateCallFailed": "failed",
}


def channel_for(call_id: str, prefix: str = "sb") -> str:
    return f"{prefix}:call-events:{call_id}"


class _Event(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    call_id: str
    at: datetime = Field(default_factory=utcnow)


class TranscriptChunk(BaseModel):
    seq: int | None
    """The turn's number in the transcript; None on a partial (the turn has no number until it ends)."""
    final: bool = True
    """False: a turn still in progress (the caller's words recognised so far, the agent's reply so far);
    a later chunk replaces it, and the final chunk of the turn (same speaker) ends it."""
    speaker: Speaker
    kind: TurnKind
    agent: str | None = None
    text: str
    interrupted: bool = False

    @classmethod
    def of(cls, turn: TranscriptTurn) -> TranscriptChunk:
        return cls(
            seq=turn.seq,
            speaker=turn.speaker,
            kind=turn.kind,
            agent=turn.agent,
            text=turn.text,
            interrupted=turn.interrupted,
        )


class SnapshotEvent(_Event):
    """First message on every dashboard socket: the call as it stands, and its transcript so far (when this
    replica's transcript store has it)."""

    type: Literal["snapshot"] = "snapshot"
    call: CallSummary
    transcript: list[TranscriptChunk] = []
    intake: IntakeResult | None = None


class TranscriptChunkEvent(_Event, TranscriptChunk):
    type: Literal["transcript_chunk"] = "transcript_chunk"


class StatusUpdateEvent(_Event):
    type: Literal["status_update"] = "status_update"
    status: CallStatus
    """The call's status after the change."""
    change: str
    """What happened: connected, transferring, ended, failed, media_started, media_ended."""
    end_reason: str | None = None


class AgentChangedEvent(_Event):
    type: Literal["agent_changed"] = "agent_changed"
    from_: str = Field(alias="from")
    to: str


class ToolCalledEvent(_Event):
    type: Literal["tool_called"] = "tool_called"
    name: str
    ok: bool
    duration_ms: float


class IntakeCompleteEvent(_Event):
    """The scenario's intake form is complete (every required field filled and confirmed): its result."""

    type: Literal["intake_complete"] = "intake_complete"
    intake: IntakeResult


class GuidanceEvent(_Event):
    """Guidance for a supervisor: checklist status, the caller's tone, coaching lines (after caller turns)."""

    type: Literal["guidance"] = "guidance"
    guidance: GuidanceReport


class CallSummaryEvent(_Event):
    """The call's post-call summary (after it ended): summary, disposition, reason, follow-ups, intake."""

    type: Literal["call_summary"] = "call_summary"
    summary: PostCallSummary


class CostUpdateEvent(_Event):
    """What the call used and cost since the previous update (`lines`, `increment`), and its running total:
    each amount is reported once, so summing the increments gives the total."""

    type: Literal["cost_update"] = "cost_update"
    currency: str
    increment: Money
    total: Money
    lines: list[LineCost]


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    source: str
    message: str


LiveCallEvent = Annotated[
    SnapshotEvent
    | TranscriptChunkEvent
    | StatusUpdateEvent
    | AgentChangedEvent
    | ToolCalledEvent
    | IntakeCompleteEvent
    | GuidanceEvent
    | CallSummaryEvent
    | CostUpdateEvent
    | ErrorEvent,
    Field(discriminator="type"),
]
live_call_event = TypeAdapter(LiveCallEvent)


def encode(event: BaseModel) -> str:
    return event.model_dump_json(by_alias=True)


def is_final(event: BaseModel) -> bool:
    return isinstance(event, StatusUpdateEvent) and event.status.is_final


class CallEventPublisher:
    """Fire-and-forget publishing of one process's live call events (one per Redis client: `shared`)."""

    _shared: ClassVar[weakref.WeakKeyDictionary[aioredis.Redis, CallEventPublisher]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self, redis: aioredis.Redis, *, prefix: str = "sb", max_pending: int = MAX_PENDING_PUBLISHES
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max_pending = max_pending
        self._pending: deque[tuple[str, str]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self.dropped = 0
        self.on_drop: Callable[[], None] | None = None  # a metric

    @classmethod
    def shared(cls, redis: aioredis.Redis) -> CallEventPublisher:
        """The publisher for this Redis client, so every call on a replica shares one ordered drain task."""
        publisher = cls._shared.get(redis)
        if publisher is None:
            publisher = cls._shared[redis] = cls(redis)
        return publisher

    def publish(self, event: _Event) -> None:
        """Queue `event` for its call's channel. Never blocks, never raises (a dashboard is not worth a call)."""
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()  # the newest events (a call's end) matter more to a dashboard
            self._count_drop()
            if self.dropped % 100 == 1:
                log.warning(
                    "live call events dropped: Redis is not keeping up", extra={"dropped": self.dropped}
                )
        self._pending.append((channel_for(event.call_id, self._prefix), encode(event)))
        if self._drainer is None or self._drainer.done():
            # The drain task ends when the queue is empty, so an idle replica holds no task.
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain(), name="call-events-publisher"
            )

    async def _drain(self) -> None:
        """Publish what is queued, in order, up to `PUBLISH_BATCH` events per round trip (one pipeline: a
        turn's events, and those of the other calls that turned meanwhile, cost one send instead of one each)."""
        backoff = FIRST_BACKOFF_S
        await asyncio.sleep(PUBLISH_GATHER_S)  # the rest of the turn's events, and other calls', join them
        while self._pending:
            batch = list(itertools.islice(self._pending, PUBLISH_BATCH))
            try:
                pipe = self._redis.pipeline(transaction=False)
                for channel, payload in batch:
                    pipe.publish(channel, payload)
                await pipe.execute()
            except (RedisConnectionError, OSError) as exc:
                # Redis away: keep the events (the bound drops the oldest) and back off.
                log.warning("live call events waiting for redis", extra={"error": exc.__class__.__name__})
                await self._back_off(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            except RedisTimeoutError:
                # Redis hung: it may yet publish them, so they are not sent twice (at most once).
                for _ in batch:
                    self._count_drop()
                log.warning("live call events not published: redis timed out", extra={"events": len(batch)})
                await self._back_off(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            except RedisError as exc:
                for _ in batch:
                    self._count_drop()
                log.warning("live call events not published", extra={"error": exc.__class__.__name__})
            else:
                backoff = FIRST_BACKOFF_S
            # What `publish` dropped from the front meanwhile went already; only the batch's survivors go now.
            sent = {id(event) for event in batch}
            while self._pending and id(self._pending[0]) in sent:
                self._pending.popleft()

    @staticmethod
    async def _back_off(seconds: float) -> None:
        await asyncio.sleep(seconds * random.uniform(0.8, 1.2))

    def _count_drop(self) -> None:
        self.dropped += 1
        if self.on_drop is not None:
            self.on_drop()

    async def aclose(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
        self._pending.clear()

    # --- what the call side reports ----------------------------------------------------------------
    def turn(self, turn: TranscriptTurn) -> None:
        for call in turn.tool_calls:
            self.publish(
                ToolCalledEvent(
                    call_id=turn.call_id, name=call.name, ok=call.ok, duration_ms=call.duration_ms
                )
            )
        self.publish(TranscriptChunkEvent(call_id=turn.call_id, **TranscriptChunk.of(turn).model_dump()))
        if turn.kind == "apology":
            self.publish(
                ErrorEvent(
                    call_id=turn.call_id,
                    source="providers",
                    message="every provider failed for this turn; the agent apologised",
                )
            )

    def partial(self, call_id: str, speaker: Speaker, text: str, agent: str | None) -> None:
        self.publish(
            TranscriptChunkEvent(
                call_id=call_id,
                seq=None,
                final=False,
                speaker=speaker,
                kind="speech" if speaker == "caller" else "reply",
                agent=agent,
                text=text,
            )
        )

    def intake_complete(self, call_id: str, intake: IntakeResult) -> None:
        self.publish(IntakeCompleteEvent(call_id=call_id, intake=intake))

    def guidance(self, call_id: str, report: GuidanceReport) -> None:
        self.publish(GuidanceEvent(call_id=call_id, guidance=report))

    def call_summary(self, call_id: str, summary: PostCallSummary) -> None:
        self.publish(CallSummaryEvent(call_id=call_id, summary=summary))

    def agent_changed(self, call_id: str, previous: str, current: str) -> None:
        self.publish(AgentChangedEvent(call_id=call_id, from_=previous, to=current))

    def status(self, record: CallRecord, change: str) -> None:
        self.publish(
            StatusUpdateEvent(
                call_id=record.call_id, status=record.status, change=change, end_reason=record.end_reason
            )
        )

    def callback_applied(self, record: CallRecord, callback_type: str) -> None:
        """An ACS callback was applied to `record`: report it if it changes the call's status."""
        change = _CALLBACK_CHANGES.get(callback_type)
        if change is not None:
            self.status(record, change)
