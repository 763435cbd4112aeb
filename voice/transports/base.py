"""What the engine needs from a call's media channel (`MediaTransport`), what a WebSocket-based transport needs
from its socket (`MediaSocket`), and the events a transport hands up.

One file per channel implements `MediaTransport` (`acs.py` for ACS media streaming, `webrtc.py` for a
browser over aiortc, `memory.py` in-process).
`voice` never imports a web framework: the app adapts its WebSocket to `MediaSocket`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class MediaSocket(Protocol):
    async def receive_text(self) -> str | None:
        """The next text message, or None once the peer has closed."""
        ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@runtime_checkable
class BufferedMediaSocket(MediaSocket, Protocol):
    """A socket that can hand over a message it has already received without waiting, so a transport can
    take the frames that arrived together as one chunk (one pass of the call's media path for several)."""

    def receive_buffered(self) -> str | None:
        """The next message if one is already in; None if it would have to wait (or the socket is closed)."""
        ...


class AudioSink(Protocol):
    async def send_audio(self, frame: bytes) -> None: ...

    async def send_stop_audio(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MediaStarted:
    sample_rate: int
    channels: int
    frame_bytes: int
    subscription_id: str | None


@dataclass(slots=True)
class AudioFrame:
    """Inbound audio: one 20 ms frame, or `frames` consecutive ones that reached us together (one chunk,
    handled in one pass: `timestamp` is the first frame's). Read-only by convention: not a frozen dataclass,
    whose `__init__` costs twice as much (0.77 vs 0.32 us), on every frame of every call."""

    pcm: bytes
    silent: bool
    timestamp: str | None
    participant: str | None
    frames: int = 1


@dataclass(frozen=True, slots=True)
class DtmfTone:
    digit: str


InboundMedia = MediaStarted | AudioFrame | DtmfTone


@dataclass(slots=True)
class TransportStats:
    messages_in: int = 0
    audio_frames_in: int = 0
    malformed_in: int = 0
    """Inbound messages that could not be decoded (counted and dropped, never fatal)."""
    audio_frames_out: int = 0
    stop_audio_out: int = 0


@runtime_checkable
class PlaybackReport(Protocol):
    """A channel whose far end says what it has played (Twilio's marks); the others go by the clock alone."""

    def unplayed_frames(self, now: float) -> int:
        """Outbound frames that cannot have finished playing by monotonic `now` (0: none known)."""
        ...


class MediaTransport(AudioSink, Protocol):
    """One call's media channel: inbound audio frames (PCM16 mono at `sample_rate`) and keys, outbound paced
    agent audio (`send_audio`, one frame of `frame_bytes` at a time) and a clear (`send_stop_audio`: drop
    whatever the far end still has queued), and close."""

    sample_rate: int
    """The call's audio rate; may change when the channel announces its format (`MediaStarted`)."""
    frame_bytes: int
    """Bytes of one 20 ms PCM16 frame at `sample_rate`."""
    stats: TransportStats

    async def receive(self) -> InboundMedia | None:
        """The next inbound event; None once the channel is closed. Malformed input is counted and skipped."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class MediaSocketClosed(Exception):
    """Sending failed because the peer is gone."""
