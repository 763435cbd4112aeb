"""Turns media-session happenings into call-record updates and log lines."""

from __future__ import annotations

import logging

from apps.backend.storage.call_store import CallNotFound, CallRecord, RedisCallStore, utcnow
from voice.audio.speech import SpeechEnded, SpeechStarted
from voice.transports.acs import TransportStats

log = logging.getLogger(__name__)


class CallRecordMediaListener:
    def __init__(self, store: RedisCallStore, call_id: str) -> None:
        self._store = store
        self._call_id = call_id

    async def _update(self, mutate) -> None:  # type: ignore[no-untyped-def]
        try:
            await self._store.update(self._call_id, mutate)
        except CallNotFound:
            log.warning("call record vanished (TTL?) during media")

    async def on_media_started(self, sample_rate: int) -> None:
        log.info("media started", extra={"sample_rate": sample_rate})

        def mutate(record: CallRecord) -> None:
            record.media_connected = True
            record.audio_sample_rate = sample_rate
            record.media_started_at = record.media_started_at or utcnow()
            record.add_event("media_started", f"{sample_rate} Hz")

        await self._update(mutate)

    async def on_caller_speech(self, event: SpeechStarted | SpeechEnded) -> None:
        if isinstance(event, SpeechStarted):
            log.info("caller speech started", extra={"at_ms": event.at_ms})
            return
        log.info("caller speech ended", extra={"at_ms": event.at_ms, "speech_ms": event.speech_ms})
        await self._update(lambda record: record.add_event("caller_spoke", f"{event.speech_ms} ms"))

    async def on_dtmf(self, digit: str) -> None:
        # Digits may be account numbers: never log or store them in clear.
        log.info("dtmf received")
        await self._update(lambda record: record.add_event("dtmf"))

    async def on_agent_utterance(self, text: str, *, completed: bool) -> None:
        log.info("agent utterance " + ("played" if completed else "cut short"), extra={"chars": len(text)})
        await self._update(
            lambda r: r.add_event("agent_spoke" if completed else "agent_cut_short", text[:200])
        )

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

        await self._update(mutate)
