"""The ACS side of the bidirectional media WebSocket: connect to the backend's transportUrl, stream the
caller's audio in real time (AudioMetadata first, then a 20 ms AudioData frame every 20 ms, silence included),
play the agent's AudioData into the recording and honour StopAudio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerAudioSource
from apps.acs_simulator.media_messages import (
    FRAME_MS,
    AgentStopAudio,
    MalformedMessage,
    audio_data_json,
    audio_metadata_json,
    dtmf_json,
    parse_outbound,
)
from apps.acs_simulator.pacing import FramePacer
from apps.acs_simulator.playout import AgentPlayout

log = logging.getLogger(__name__)


class MediaConnectError(Exception):
    """The backend's media WebSocket could not be opened."""


@dataclass(frozen=True, slots=True)
class MediaTarget:
    transport_url: str
    call_connection_id: str
    correlation_id: str
    subscription_id: str
    sample_rate: int
    participant_raw_id: str


class MediaSession:
    def __init__(self, target: MediaTarget, timeline: tl.Timeline, bearer: Callable[[], str]) -> None:
        self.target = target
        self.timeline = timeline
        self._bearer = bearer
        self.playout = AgentPlayout(target.sample_rate)

        def mark_agent_audio(kind: str, t_ms: float) -> None:
            timeline.mark(kind, t_ms=t_ms)

        self.detector = tl.AgentAudioDetector(mark_agent_audio)
        self.source = CallerAudioSource(target.sample_rate, timeline.mark)
        self.pacer = FramePacer(FRAME_MS / 1000)
        self.frames_sent = 0
        self.malformed_messages = 0
        self.closed_by_backend = asyncio.Event()
        # How the backend closed the socket (1000 = a normal end; 1008 = refused by policy, ...).
        self.close_code: int | None = None
        self.close_reason = ""
        self.upgrade_headers: dict[str, str] = {}
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tick = asyncio.Event()
        self._now_ms = 0.0
        self._base_ms = 0.0
        self._closing = False
        self.caller_on_hold = False
        """A held caller is neither heard (their frames go out as silence) nor hears the agent."""
        self.on_agent_frame: Callable[[float, bytes, bool], None] | None = None
        """(t_ms, frame, voiced) of every agent frame played: other participants hear it too."""

    async def connect(self, open_timeout_s: float = 10.0) -> None:
        self.upgrade_headers = {
            "x-ms-call-connection-id": self.target.call_connection_id,
            "x-ms-call-correlation-id": self.target.correlation_id,
            "Authorization": self._bearer(),
        }
        try:
            self._ws = await connect(
                self.target.transport_url,
                additional_headers=self.upgrade_headers,
                open_timeout=open_timeout_s,
                max_size=None,
                compression=None,
            )
        except InvalidStatus as exc:
            raise MediaConnectError(
                f"backend refused the media WebSocket: HTTP {exc.response.status_code}"
            ) from exc
        except Exception as exc:  # refused, timed out, bad URI, failed handshake
            raise MediaConnectError(f"media WebSocket to {self.target.transport_url} failed: {exc}") from exc

    async def start(self) -> None:
        """Send AudioMetadata, then start the real-time frame loop and the receiver."""
        assert self._ws is not None, "connect() first"
        try:
            await self._ws.send(audio_metadata_json(self.target.subscription_id, self.target.sample_rate))
        except ConnectionClosed:
            self._peer_closed()  # the backend accepted the upgrade and hung up straight away
            return
        t0 = self.pacer.start()
        self._base_ms = self.timeline.ms_at(t0)
        self._now_ms = self._base_ms
        wall0 = datetime.now(UTC)
        self._tasks = [
            asyncio.create_task(self._frames(wall0), name="acs-sim-media-frames"),
            asyncio.create_task(self._receive(), name="acs-sim-media-receive"),
        ]

    # ---- the media clock, for the caller script -------------------------------------------------------

    def now_ms(self) -> float:
        return self._now_ms

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Re-check `predicate` after every frame; False on timeout or when the media stream ends."""

        async def poll() -> bool:
            while not predicate():
                if self.closed_by_backend.is_set() or not self._tasks or self._tasks[0].done():
                    return False
                await self._tick.wait()
            return True

        try:
            return await asyncio.wait_for(poll(), timeout_s)
        except TimeoutError:
            return False

    # ---- loops ------------------------------------------------------------------------------------------

    async def _frames(self, wall0: datetime) -> None:
        ws = self._ws
        assert ws is not None
        raw_id = self.target.participant_raw_id
        k = 0
        try:
            while True:
                await self.pacer.wait_for(k)
                t_ms = self._base_ms + k * FRAME_MS
                frame, silent, digit = self.source.next(t_ms)
                held = self.caller_on_hold
                if held:
                    frame, silent, digit = bytes(len(frame)), True, None
                if digit is not None:
                    await ws.send(dtmf_json(digit))
                stamp = (wall0 + timedelta(milliseconds=k * FRAME_MS)).isoformat(timespec="milliseconds")
                await ws.send(audio_data_json(stamp.replace("+00:00", "Z"), raw_id, frame, silent))
                self.frames_sent += 1
                voiced = self.playout.tick(to_caller=not held)
                if self.on_agent_frame is not None:
                    self.on_agent_frame(t_ms, self.playout.last_frame, voiced)
                self.detector.feed(t_ms, voiced and not held)
                self._now_ms = t_ms + FRAME_MS
                self._tick.set()
                self._tick = asyncio.Event()
                k += 1
        except ConnectionClosed:
            self._peer_closed()

    def _peer_closed(self) -> None:
        if not self._closing:
            if self._ws is not None and not self.closed_by_backend.is_set():
                self.close_code, self.close_reason = self._ws.close_code, self._ws.close_reason or ""
            self.closed_by_backend.set()
        self._tick.set()

    async def _receive(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for raw in ws:
                try:
                    message = parse_outbound(raw)
                except MalformedMessage as exc:
                    self.malformed_messages += 1
                    log.debug("dropped media message from backend: %s", exc)
                    continue
                if isinstance(message, AgentStopAudio):
                    dropped_ms = self.playout.queued_ms
                    self.playout.stop_audio()
                    self.timeline.mark(tl.STOP_AUDIO_RECEIVED, dropped_ms=round(dropped_ms))
                else:
                    self.playout.push(message.pcm)
        except ConnectionClosed:
            pass
        self._peer_closed()

    async def close(self) -> None:
        """Stop streaming and close the WebSocket (ACS's side of a hang-up)."""
        self._closing = True
        frames = self._tasks[0] if self._tasks else None
        if frames is not None:
            frames.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await frames
        self.source.close()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=1000, reason="call ended"), 5.0)
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.detector.flush()
        self._tick.set()
