"""Browser voice over a plain WebSocket (`/api/v1/realtime/conversation`): raw PCM16 frames and JSON control.

Client -> server:
  binary   PCM16LE mono at the session's rate (16000 Hz unless `start` says 24000): whole samples, at most 1 s
           per message; 20 ms frames sent in real time are what the pipeline expects.
  text     one JSON object per message, at most 8 kB:
           {"type":"start","sample_rate":16000}   optional, first: announce the rate (16000 or 24000; any
                                                  other closes the socket with 1003 and the reason)
           {"type":"dtmf","digits":"4821#"}       keys, as if pressed on a phone keypad (0-9 * # A-D)
           {"type":"stop"}                        end the session (the server closes with 1000)
Server -> client:
  binary   agent audio, PCM16LE mono at the session's rate, one 20 ms frame per message, paced in real time
  text     {"type":"clear"}                       the agent was interrupted: drop whatever audio is queued
           {"type":"error","source":"protocol","message":"..."}   a message of ours was dropped (the session
                                                  carries on)
           and the session's live events, as on the events socket but with no `snapshot`:
           `transcript_chunk`, `status_update`, `agent_changed`, `tool_called`, `error`, `intake_complete`
           (see apps.backend.calls.live_events).

A malformed message (odd-length or oversized audio, an encoded container such as WebM, Ogg, WAV or FLAC instead
of raw samples, a text message over 8 kB, bad JSON, an unknown type) is
counted in `stats.malformed_in`, answered with an `error` message and dropped; after `max_malformed` of them
the socket is closed: 1009 when the last one was too big, else 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Annotated, Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from voice.transports.base import (
    AudioFrame,
    DtmfTone,
    InboundMedia,
    MediaSocketClosed,
    MediaStarted,
    TransportStats,
)

log = logging.getLogger(__name__)

SUPPORTED_RATES = (16000, 24000)
MAX_TEXT_BYTES = 8 * 1024
MAX_MALFORMED = 20
UNSUPPORTED_DATA = 1003
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
_VALID_DTMF = frozenset("0123456789*#ABCD")


class DuplexSocket(Protocol):
    """A WebSocket carrying both binary and text messages (the app adapts its framework's socket)."""

    async def receive_message(self) -> str | bytes | None:
        """The next message (text as str, binary as bytes), or None once the peer has closed."""
        ...

    async def send_text(self, data: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class _Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StartMessage(_Control):
    type: Literal["start"]
    sample_rate: int = 16000


class DtmfMessage(_Control):
    type: Literal["dtmf"]
    digits: str = Field(min_length=1, max_length=32)


class StopMessage(_Control):
    type: Literal["stop"]


ControlMessage = Annotated[StartMessage | DtmfMessage | StopMessage, Field(discriminator="type")]
_CONTROL = TypeAdapter(ControlMessage)


class ClearMessage(BaseModel):
    type: Literal["clear"] = "clear"


class ProtocolError(BaseModel):
    type: Literal["error"] = "error"
    source: Literal["protocol"] = "protocol"
    message: str


class MalformedMessage(ValueError):
    def __init__(self, reason: str, *, too_big: bool = False) -> None:
        super().__init__(reason)
        self.too_big = too_big


_CLEAR = ClearMessage().model_dump_json()


def decode_control(text: str) -> StartMessage | DtmfMessage | StopMessage:
    """One JSON control message. Raises MalformedMessage (size, JSON, shape, digits)."""
    if len(text) > MAX_TEXT_BYTES or len(text.encode()) > MAX_TEXT_BYTES:
        raise MalformedMessage(f"text message over {MAX_TEXT_BYTES} bytes", too_big=True)
    try:
        message = _CONTROL.validate_python(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage("not JSON") from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise MalformedMessage(f"bad control message: {where}: {error['msg']}") from exc
    if isinstance(message, DtmfMessage) and not set(message.digits.upper()) <= _VALID_DTMF:
        raise MalformedMessage("dtmf digits must be 0-9, *, #, A-D")
    return message


# What a browser's MediaRecorder or a file upload sends instead of raw samples. Raw PCM cannot be told from
# noise in general, but these four-byte signatures can: as PCM they would be two loud samples at exactly these
# values, at a frame's very start (about one frame in four billion).
_CONTAINER_MAGIC = {b"RIFF": "WAV", b"OggS": "Ogg", b"\x1aE\xdf\xa3": "WebM", b"fLaC": "FLAC"}


def check_audio(pcm: bytes, sample_rate: int) -> bytes:
    """One binary message as PCM16 audio. Raises MalformedMessage (empty, odd length, over 1 s, an encoded
    audio container instead of samples)."""
    if len(pcm) > sample_rate * 2:
        raise MalformedMessage("audio message longer than 1 s", too_big=True)
    if not pcm or len(pcm) % 2:
        raise MalformedMessage("audio is not whole PCM16 samples")
    if (container := _CONTAINER_MAGIC.get(pcm[:4])) is not None:
        raise MalformedMessage(f"audio must be raw PCM16 samples, not {container}")
    return pcm


class WebSocketVoiceTransport:
    """One browser session's voice WebSocket as a `MediaTransport`."""

    def __init__(
        self,
        socket: DuplexSocket,
        *,
        sample_rate: int = 16000,
        max_malformed: int = MAX_MALFORMED,
        max_logged_errors: int = 5,
    ) -> None:
        self._socket = socket
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate // 50 * 2
        self.stats = TransportStats()
        self._max_malformed = max_malformed
        self._max_logged_errors = max_logged_errors
        self._started = False
        self._pending: deque[InboundMedia] = deque()
        self._send_lock = asyncio.Lock()  # audio, clears and forwarded events share the socket
        self.close_code: int | None = None
        self.close_reason = ""

    async def receive(self) -> InboundMedia | None:
        while not self._pending:
            if self.close_code is not None:
                return None
            message = await self._socket.receive_message()
            if message is None:
                return None
            self.stats.messages_in += 1
            try:
                event = await self._decode(message)
            except MalformedMessage as exc:
                if await self._malformed(exc):
                    return None
                continue
            if event is not None:
                self._pending.append(event)
        return self._pending.popleft()

    async def _decode(self, message: str | bytes) -> InboundMedia | None:
        if isinstance(message, bytes):
            pcm = check_audio(message, self.sample_rate)
            self.stats.audio_frames_in += 1
            self._started = True  # audio without a `start` is at the default rate
            return AudioFrame(pcm=pcm, silent=False, timestamp=None, participant=None)
        control = decode_control(message)
        if isinstance(control, StartMessage):
            if control.sample_rate not in SUPPORTED_RATES:
                await self.close(
                    UNSUPPORTED_DATA, f"unsupported sample_rate {control.sample_rate}: 16000 or 24000"
                )
                return None
            if self._started:
                if control.sample_rate != self.sample_rate:
                    raise MalformedMessage("the sample rate cannot change once audio has started")
                return None
            self._started = True
            self.sample_rate = control.sample_rate
            self.frame_bytes = control.sample_rate // 50 * 2
            return MediaStarted(
                sample_rate=self.sample_rate, channels=1, frame_bytes=self.frame_bytes, subscription_id=None
            )
        if isinstance(control, DtmfMessage):
            self._pending.extend(DtmfTone(digit=digit) for digit in control.digits.upper()[:-1])
            return DtmfTone(digit=control.digits.upper()[-1])
        await self.close(1000, "stopped by the client")
        return None

    async def _malformed(self, exc: MalformedMessage) -> bool:
        """Count and answer a dropped message; True once the socket was closed for too many of them."""
        self.stats.malformed_in += 1
        if self.stats.malformed_in <= self._max_logged_errors:
            log.warning("malformed voice message dropped", extra={"error": str(exc)})
        if self.stats.malformed_in >= self._max_malformed:
            code = MESSAGE_TOO_BIG if exc.too_big else POLICY_VIOLATION
            reason = "too many oversized messages" if exc.too_big else "too many malformed messages"
            log.warning("voice socket closed: malformed flood", extra={"malformed": self.stats.malformed_in})
            await self.close(code, reason)
            return True
        with contextlib.suppress(MediaSocketClosed):
            await self.send_text(ProtocolError(message=str(exc)).model_dump_json())
        return False

    async def send_audio(self, frame: bytes) -> None:
        async with self._send_lock:
            await self._socket.send_bytes(frame)
        self.stats.audio_frames_out += 1

    async def send_stop_audio(self) -> None:
        await self.send_text(_CLEAR)
        self.stats.stop_audio_out += 1

    async def send_text(self, data: str) -> None:
        """A JSON event for the client (a clear, an error, a forwarded live event)."""
        async with self._send_lock:
            await self._socket.send_text(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        await self._socket.close(code, reason)
