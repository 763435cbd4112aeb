"""The ACS side of the bidirectional media WebSocket: connect to the backend's transportUrl, stream the
caller's audio in real time (AudioMetadata first, then a 20 ms AudioData frame every 20 ms, silence included),
play the agent's AudioData into the recording and honour StopAudio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_stream import CallerStream
from apps.acs_simulator.hold_audio import HoldLoop
from apps.acs_simulator.media_messages import (
    FRAME_MS,
    AgentStopAudio,
    MalformedMessage,
    audio_data_json,
    audio_metadata_json,
    dtmf_json,
    parse_outbound,
)
from apps.acs_simulator.playout import AgentPlayout, frame_is_voiced

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


class MediaSession(CallerStream):
    def __init__(self, target: MediaTarget, timeline: tl.Timeline, bearer: Callable[[], str]) -> None:
        super().__init__(target.sample_rate, timeline, task_prefix="acs-sim-media")
        self.target = target
        self._bearer = bearer
        self.playout = AgentPlayout(target.sample_rate)
        self.frames_sent = 0
        self.malformed_messages = 0
        self.upgrade_headers: dict[str, str] = {}
        self._wall0 = datetime.now(UTC)
        self.caller_on_hold = False
        """A held caller is neither heard (their frames go out as silence) nor hears the agent."""
        self.hold_loop: HoldLoop | None = None
        """The hold audio a held caller hears (ACS plays the hold request's file in a loop)."""
        self.hold_audio_voiced_ms = 0.0
        """How much audible hold audio the caller heard."""
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
        self._start_streaming()
        self._wall0 = datetime.now(
            UTC
        )  # before the frame loop first runs: AudioData timestamps count from it

    async def _exchange(
        self, ws: ClientConnection, k: int, t_ms: float, frame: bytes, silent: bool, digit: str | None
    ) -> bool:
        held = self.caller_on_hold
        if held:
            frame, silent, digit = bytes(len(frame)), True, None
        if digit is not None:
            await ws.send(dtmf_json(digit))
        stamp = (self._wall0 + timedelta(milliseconds=k * FRAME_MS)).isoformat(timespec="milliseconds")
        await ws.send(
            audio_data_json(stamp.replace("+00:00", "Z"), self.target.participant_raw_id, frame, silent)
        )
        self.frames_sent += 1
        hold_frame = self.hold_loop.next_frame() if held and self.hold_loop is not None else None
        if hold_frame is not None and frame_is_voiced(hold_frame):
            self.hold_audio_voiced_ms += FRAME_MS
        voiced = self.playout.tick(to_caller=not held, held_audio=hold_frame)
        if self.on_agent_frame is not None:
            self.on_agent_frame(t_ms, self.playout.last_frame, voiced)
        return voiced and not held

    async def _on_message(self, raw: str | bytes) -> None:
        try:
            message = parse_outbound(raw)
        except MalformedMessage as exc:
            self.malformed_messages += 1
            log.debug("dropped media message from backend: %s", exc)
            return
        if isinstance(message, AgentStopAudio):
            dropped_ms = self.playout.queued_ms
            self.playout.stop_audio()
            self.timeline.mark(tl.STOP_AUDIO_RECEIVED, dropped_ms=round(dropped_ms))
        else:
            self.playout.push(message.pcm)

    async def close(self) -> None:
        """Stop streaming and close the WebSocket (ACS's side of a hang-up)."""
        await self._hang_up()
