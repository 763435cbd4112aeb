"""Turns media-session and conversation happenings into call-record updates, live dashboard events and log
lines.

Nothing here waits on Redis: the media loop and the orchestrators await these methods on the caller's audio
and turn path, so record updates go to the call's `CallRecordWriter` (written behind the call, in order) and
dashboard events to the fire-and-forget publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apps.backend.calls.cost import CallUsageMeter
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.record_writer import CallRecordWriter
from apps.backend.storage.call_store import CallRecord, RedisCallStore, utcnow
from apps.backend.storage.intake_result import intake_of_turn
from voice.guidance.live import LiveGuidance
from voice.transcript import Speaker, TranscriptTurn
from voice.transports.base import TransportStats

log = logging.getLogger(__name__)

FLUSH_AT_END_S = 2.0
"""How long the end of a call waits for its record updates to reach Redis before dropping them."""


class CallRecordMediaListener:
    def __init__(
        self,
        store: RedisCallStore,
        call_id: str,
        events: CallEventPublisher | None = None,
        on_turn: Callable[[TranscriptTurn], None] | None = None,
        on_dropped_update: Callable[[], None] | None = None,
        guidance: LiveGuidance | None = None,
    ) -> None:
        self._call_id = call_id
        self._guidance = guidance  # runs behind the call in its own task; this listener owns it
        self._events = events or CallEventPublisher.shared(store.redis)
        self._on_turn = on_turn  # metrics and traces
        self.writer = CallRecordWriter(store, call_id, on_drop=on_dropped_update)
        self.usage: CallUsageMeter | None = None
        """The call's usage ledger and where it goes (set by `CallDepsBuilder`)."""

    def _event(self, type_: str, detail: str | None = None) -> None:
        at = utcnow()  # when it happened, not when Redis took it
        self.writer.submit(lambda record: record.add_event(type_, detail, at=at))

    async def on_media_started(self, sample_rate: int) -> None:
        log.info("media started", extra={"sample_rate": sample_rate})
        at = utcnow()
        if self.usage is not None:
            self.usage.media_started()

        def mutate(record: CallRecord) -> None:
            record.media_connected = True
            record.audio_sample_rate = sample_rate
            record.media_started_at = record.media_started_at or at
            record.add_event("media_started", f"{sample_rate} Hz", at=at)

        self.writer.submit(mutate, then=lambda r: self._events.status(r, "media_started"), keep=True)

    async def on_dtmf(self, digit: str) -> None:
        # Digits may be account numbers: never log or store them in clear.
        log.info("dtmf received")
        self._event("dtmf")

    # --- CallObserver: the conversation as call-record events (the text is in the transcript) ---
    async def on_turn(self, turn: TranscriptTurn) -> None:
        if self._on_turn is not None:
            self._on_turn(turn)
        self._events.turn(turn)
        if self._guidance is not None:
            self._guidance.feed(turn)
        if (intake := intake_of_turn(turn)) is not None:
            self._events.intake_complete(self._call_id, intake)
            self.writer.submit(lambda record: setattr(record, "intake", intake), keep=True)
        if turn.speaker == "caller":
            self._event("caller_turn", turn.kind)
            return
        if self.usage is not None:
            self.usage.flush()  # after the agent's turn: its LLM and TTS usage is in
        tools = ",".join(call.name for call in turn.tool_calls)
        detail = f"{turn.agent}:{turn.kind}" + (f" tools={tools}" if tools else "")
        self._event("agent_cut_short" if turn.interrupted else "agent_turn", detail)

    def on_partial(self, speaker: Speaker, text: str, agent: str | None) -> None:
        self._events.partial(self._call_id, speaker, text, agent)

    async def on_agent_changed(self, previous: str, current: str) -> None:
        self._events.agent_changed(self._call_id, previous, current)
        self._event("agent_changed", f"{previous} -> {current}")

    async def on_media_ended(self, stats: TransportStats) -> None:
        """The call is over: queue its last update and flush (bounded; the socket is already closed)."""
        log.info(
            "media ended",
            extra={
                "frames_in": stats.audio_frames_in,
                "frames_out": stats.audio_frames_out,
                "malformed_in": stats.malformed_in,
            },
        )
        at = utcnow()
        detail = f"in={stats.audio_frames_in} out={stats.audio_frames_out} malformed={stats.malformed_in}"

        def mutate(record: CallRecord) -> None:
            record.media_connected = False
            record.add_event("media_ended", detail, at=at)

        if self.usage is not None:
            self.usage.media_ended()
            self.usage.flush()
        self.writer.submit(mutate, then=lambda r: self._events.status(r, "media_ended"), keep=True)
        if self._guidance is not None:
            self._guidance.cancel()
        await self.writer.close(FLUSH_AT_END_S)

    def cancel(self) -> None:
        """The call's task is going away (shutdown): stop writing at once."""
        if self._guidance is not None:
            self._guidance.cancel()
        self.writer.cancel()
