"""Taps a call's media channel for its recording: the caller's audio as it arrives, and the agent's audio as the
caller actually hears it.

The tap sits between `MediaSession` and the channel, so it sees exactly what went out, whichever orchestrator
spoke. Agent frames are placed where the far end plays them (it plays what it receives in order, from now or
from the end of what it already has), and a StopAudio drops whatever was sent but not yet played: the agent
channel keeps what the caller heard, truncated at a barge-in. Positions are in samples on the call's timeline,
which starts at the first inbound audio. Nothing here blocks: the recorder only queues.

A channel whose far end reports what it has played (Twilio's marks, `PlaybackReport`) gets a tap that reports
too (`recording_tap` picks it): the playout keeps reading the far end's report through the tap, and a cut keeps
only what the far end can have played, not what the clock alone says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from voice.transports.base import (
    AudioFrame,
    InboundMedia,
    MediaStarted,
    MediaTransport,
    PlaybackReport,
    TransportStats,
)

FRAME_SECONDS = 0.020


class AudioRecorder(Protocol):
    """Where a tapped call's audio goes. Every method must return at once (hand the work to another thread)."""

    def started(self, sample_rate: int) -> None: ...

    def caller_audio(self, position: int, pcm: bytes) -> None:
        """Caller PCM16 mono starting at sample `position`."""
        ...

    def agent_audio(self, position: int, pcm: bytes) -> None:
        """Agent PCM16 mono the caller hears from sample `position`."""
        ...

    def agent_cut(self, position: int) -> None:
        """The far end dropped every agent sample from `position` on (StopAudio)."""
        ...


class RecordingTap:
    """A `MediaTransport` that forwards everything to `inner` and tells `recorder` what the caller heard."""

    def __init__(
        self, inner: MediaTransport, recorder: AudioRecorder, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inner = inner
        self._recorder = recorder
        self._clock = clock
        self._origin: float | None = None  # clock time of the first inbound audio: sample 0
        self._rate = inner.sample_rate
        self._caller_at = 0  # samples of caller audio received so far
        self._agent_until = 0  # sample at which the agent audio sent so far finishes playing

    # --- what MediaSession reads -------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self._inner.sample_rate

    @sample_rate.setter
    def sample_rate(self, value: int) -> None:
        self._inner.sample_rate = value

    @property
    def frame_bytes(self) -> int:
        return self._inner.frame_bytes

    @frame_bytes.setter
    def frame_bytes(self, value: int) -> None:
        self._inner.frame_bytes = value

    @property
    def stats(self) -> TransportStats:
        return self._inner.stats

    @stats.setter
    def stats(self, value: TransportStats) -> None:
        self._inner.stats = value

    # --- inbound -----------------------------------------------------------------------------------
    async def receive(self) -> InboundMedia | None:
        event = await self._inner.receive()
        if isinstance(event, MediaStarted):
            self._start(event.sample_rate)
        elif isinstance(event, AudioFrame):
            if self._origin is None:
                self._start(self._inner.sample_rate)
            self._recorder.caller_audio(self._caller_at, event.pcm)
            self._caller_at += len(event.pcm) // 2
        return event

    def _start(self, sample_rate: int) -> None:
        if self._origin is None:
            self._origin = self._clock()
            self._rate = sample_rate
            self._recorder.started(sample_rate)

    def _now(self) -> int:
        if self._origin is None:
            return 0
        return int((self._clock() - self._origin) * self._rate)

    # --- outbound ----------------------------------------------------------------------------------
    async def send_audio(self, frame: bytes) -> None:
        await self._inner.send_audio(frame)
        if self._origin is None:
            return  # nothing inbound yet: no timeline to place it on (a channel always speaks first)
        position = max(self._now(), self._agent_until)
        self._recorder.agent_audio(position, frame)
        self._agent_until = position + len(frame) // 2

    def _heard_until(self) -> int:
        """The sample up to which the caller has heard the agent audio sent so far (by the clock)."""
        return self._now()

    async def send_stop_audio(self) -> None:
        heard = self._heard_until()  # before the clear: a reporting channel forgets its queue once it is sent
        await self._inner.send_stop_audio()
        if self._agent_until > heard:
            self._recorder.agent_cut(heard)
            self._agent_until = heard

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._inner.close(code, reason)


class ReportingRecordingTap(RecordingTap):
    """A tap over a channel that reports its playback: it is a `PlaybackReport` itself, so the playout still
    sees how far behind the far end is, and a cut also drops audio the far end reports as not yet played."""

    def __init__(
        self,
        inner: MediaTransport,
        report: PlaybackReport,
        recorder: AudioRecorder,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(inner, recorder, clock=clock)
        self._report = report

    def unplayed_frames(self, now: float) -> int:
        return self._report.unplayed_frames(now)

    def _heard_until(self) -> int:
        unplayed = self._report.unplayed_frames(self._clock())
        frame_samples = round(FRAME_SECONDS * self._rate)
        return max(0, min(self._now(), self._agent_until - unplayed * frame_samples))


def recording_tap(
    inner: MediaTransport, recorder: AudioRecorder, *, clock: Callable[[], float] = time.monotonic
) -> RecordingTap:
    """The tap for `inner`: one that passes the far end's playback report on when the channel has one."""
    if isinstance(inner, PlaybackReport):
        return ReportingRecordingTap(inner, inner, recorder, clock=clock)
    return RecordingTap(inner, recorder, clock=clock)
