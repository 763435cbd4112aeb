"""Turns media-session and conversation happenings into call-record updates, live dashboard events and log
lines."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.exceptions import RedisError

from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.storage.call_store import CallNotFound, CallRecord, RedisCallStore, utcnow
from voice.transcript import TranscriptTurn
from voice.transports.base import TransportStats

log = logging.getLogger(__name__)


class CallRecordMediaListener:
    def __init__(
        self,
        store: RedisCallStore,
        call_id: str,
        events: CallEventPublisher | None = None,
        on_turn: Callable[[TranscriptTurn], None] | None = None,
    ) -> None:
        self._store = store
        self._call_id = call_id
        self._events = events or CallEventPublisher.shared(store.redis)
        self._on_turn = on_turn  # metrics and traces

    async def _update(self, mutate: Callable[[CallRecord], None]) -> CallRecord | None:
        try:
            return await self._store.update(self._call_id, mutate)
        except CallNotFound:
            log.warning("call record vanished (TTL?) during media")
            return None
        except (RedisError, OSError) as exc:
            # A Redis blip costs this record event, never the call: the media loop must keep running.
            log.warning("call record update failed", extra={"error_type": type(exc).__name__})
            return None

    async def on_media_started(self, sample_rate: int) -> None:
        log.info("media started", extra={"sample_rate": sample_rate})

        def mutate(record: CallRecord) -> None:
            record.media_connected = True
            record.audio_sample_rate = sample_rate
            record.media_started_at = record.media_started_at or utcnow()
            record.add_event("media_started", f"{sample_rate} Hz")

        if (record := await self._update(mutate)) is not None:
            self._events.status(record, "media_started")

    async def on_dtmf(self, digit: str) -> None:
        # Digits may be account numbers: never log or store them in clear.
        log.info("dtmf received")
        await self._update(lambda record: record.add_event("dtmf"))

    # --- CallObserver: the conversation as call-record events (the text is in the transcript) ---
    async def on_turn(self, turn: TranscriptTurn) -> None:
        if self._on_turn is not None:
            self._on_turn(turn)
        self._events.turn(turn)  # before the record write: dashboards should not wait on it
        event: str
        detail: str
        if turn.speaker == "caller":
            event, detail = "caller_turn", turn.kind
        else:
            event = "agent_cut_short" if turn.interrupted else "agent_turn"
            tools = ",".join(call.name for call in turn.tool_calls)
            detail = f"{turn.agent}:{turn.kind}" + (f" tools={tools}" if tools else "")
        await self._update(lambda record: record.add_event(event, detail))

    async def on_agent_changed(self, previous: str, current: str) -> None:
        self._events.agent_changed(self._call_id, previous, current)
        await self._update(lambda record: record.add_event("agent_changed", f"{previous} -> {current}"))

    async def on_media_ended(self, stats: TransportStats) -> None:
        log.info(
            "media ended",
            extra={
                "frames_in": stats.audio_frames_in,
                "frames_out": stats.audio_frames_out,
                "malformed_in": stats.malformed_in,
            },
        )

        def mutate(record: CallRecord) -> None:
            record.media_connected = False
            record.add_event(
                "media_ended",
                f"in={stats.audio_frames_in} out={stats.audio_frames_out} malformed={stats.malformed_in}",
            )

        if (record := await self._update(mutate)) is not None:
            self._events.status(record, "media_ended")
