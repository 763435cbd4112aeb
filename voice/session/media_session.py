"""One call's media loop, for any channel: inbound audio through VAD into the orchestrator, agent audio paced out.

The session owns the playout task and hands every inbound frame of its `MediaTransport`, with the VAD
probabilities of the windows it completed (scored by the process-wide `VadBatcher`, for orchestrators that
use our VAD), to the call's `Orchestrator`. When the channel closes it closes the orchestrator, so a hang-up
mid-sentence leaves nothing running. `voice` knows nothing about storage or HTTP: the app hears about media
through `MediaSessionListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from voice.audio.resample import StreamResampler
from voice.audio.vad import VadStream
from voice.audio.vad_batcher import VadBatcher
from voice.session.orchestrator import Orchestrator
from voice.telemetry import NO_TELEMETRY, CallTelemetry
from voice.transports.base import AudioFrame, DtmfTone, MediaStarted, MediaTransport, TransportStats
from voice.transports.cadence import FrameCadence
from voice.transports.playout import PacedPlayout

log = logging.getLogger(__name__)


class MediaSessionListener(Protocol):
    async def on_media_started(self, sample_rate: int) -> None: ...

    async def on_dtmf(self, digit: str) -> None: ...

    async def on_media_ended(self, stats: TransportStats) -> None: ...


class MediaSession:
    def __init__(
        self,
        *,
        call_id: str,
        transport: MediaTransport,
        orchestrator: Orchestrator,
        listener: MediaSessionListener,
        vad: VadBatcher | None = None,
        telemetry: CallTelemetry = NO_TELEMETRY,
    ) -> None:
        self.call_id = call_id
        self._transport = transport
        self._orchestrator = orchestrator
        self._listener = listener
        self._vad_batcher = vad if orchestrator.uses_vad else None
        self._telemetry = telemetry
        self._cadence = FrameCadence()
        self._playout = PacedPlayout(
            transport, frame_bytes=transport.frame_bytes, on_underrun=telemetry.playout_underrun
        )
        self._vad: VadStream | None = None
        self._to_vad_rate: StreamResampler | None = None
        self._started = False
        self._end_reason: str | None = None
        self._no_probabilities: tuple[float, ...] = ()

    @property
    def playout(self) -> PacedPlayout:
        return self._playout

    @property
    def orchestrator(self) -> Orchestrator:
        return self._orchestrator

    def ending(self, reason: str) -> None:
        """Whoever is about to close the transport says why (the API, a shutdown), so the call's outcome is
        not taken for the caller hanging up. The orchestrator's own reason (goodbye, transfer, idle) still wins."""
        self._end_reason = reason

    async def run(self) -> None:
        playout_task = asyncio.create_task(self._playout.run(), name=f"playout:{self.call_id}")
        try:
            await self._receive_loop()
        finally:
            playout_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await playout_task
            if self._started:
                try:
                    await self._orchestrator.aclose(self._end_reason)
                except Exception:
                    log.exception("orchestrator did not close cleanly")
            await self._listener.on_media_ended(self._transport.stats)

    async def _receive_loop(self) -> None:
        stats = self._transport.stats
        malformed = stats.malformed_in
        while (event := await self._transport.receive()) is not None:
            if stats.malformed_in != malformed:
                for _ in range(stats.malformed_in - malformed):
                    self._telemetry.frame_malformed()
                malformed = stats.malformed_in
            if isinstance(event, AudioFrame):
                if not self._started:  # channels announce their format first; tolerate one that does not
                    await self._start(self._transport.sample_rate)
                await self._on_audio(event)
                stamp = event.timestamp if isinstance(event.timestamp, str) else None
                missing = self._cadence.missing
                lag = self._cadence.lag(time.monotonic(), stamp, frames=event.frames)
                for _ in range(event.frames):
                    self._telemetry.frame_handled(lag)
                if self._cadence.missing != missing:
                    self._telemetry.frames_missing(self._cadence.missing - missing)
            elif isinstance(event, MediaStarted):
                if not self._started:
                    await self._start(event.sample_rate)
            elif isinstance(event, DtmfTone):
                await self._listener.on_dtmf(event.digit)
                if self._started:
                    await self._orchestrator.on_dtmf(event.digit)

    async def _start(self, sample_rate: int) -> None:
        self._started = True
        self._playout.frame_bytes = self._transport.frame_bytes
        if self._vad_batcher is not None:
            batcher = self._vad_batcher
            if batcher.accepts(sample_rate):
                self._vad = batcher.stream(input_rate=sample_rate)
            else:  # 24 kHz and the like: resampled to the model's rate
                self._vad = batcher.stream(input_rate=batcher.format.sample_rate)
                self._to_vad_rate = StreamResampler(sample_rate, batcher.format.sample_rate)
        await self._listener.on_media_started(sample_rate)
        await self._orchestrator.start(sample_rate=sample_rate, playout=self._playout)

    async def _on_audio(self, frame: AudioFrame) -> None:
        stream, batcher = self._vad, self._vad_batcher
        if stream is None or batcher is None:
            await self._orchestrator.on_audio(frame.pcm, self._no_probabilities)
            return
        stream.append(self._to_vad_rate.process(frame.pcm) if self._to_vad_rate else frame.pcm)
        if not stream.ready_windows:  # 3 frames in 8 complete no 32 ms window
            await self._orchestrator.on_audio(frame.pcm, self._no_probabilities)
            return
        probabilities = batcher.settle_silence(stream)  # digital silence: settled now, no wait
        if stream.ready_windows:
            # Awaiting here holds this call's next frame for at most the batcher's wait (5 ms), keeping order.
            probabilities = await batcher.score(stream, probabilities)
        await self._orchestrator.on_audio(frame.pcm, probabilities)
