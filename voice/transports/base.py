"""What a media transport needs from a WebSocket, and what the engine needs from a transport.

`voice` never imports a web framework: the app adapts its WebSocket to `MediaSocket`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class MediaSocket(Protocol):
    async def receive_text(self) -> str | None:
        """The next text message, or None once the peer has closed."""
        ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class AudioSink(Protocol):
    async def send_audio(self, frame: bytes) -> None: ...

    async def send_stop_audio(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MediaStarted:
    sample_rate: int
    channels: int
    frame_bytes: int
    subscription_id: str | None


@dataclass(frozen=True, slots=True)
class AudioFrame:
    pcm: bytes
    silent: bool
    timestamp: str | None
    participant: str | None


@dataclass(frozen=True, slots=True)
class DtmfTone:
    digit: str


InboundMedia = MediaStarted | AudioFrame | DtmfTone


class MediaSocketClosed(Exception):
    """Sending failed because the peer is gone."""
