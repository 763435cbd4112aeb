"""The ACS bidirectional media WebSocket protocol (one JSON text message per event).

Inbound (ACS -> us), camelCase:
  {"kind":"AudioMetadata","audioMetadata":{"subscriptionId","encoding":"PCM","sampleRate","channels","length"}}
  {"kind":"AudioData","audioData":{"timestamp","participantRawID","data":"<base64 PCM16LE>","silent"}}
  {"kind":"DtmfData","dtmfData":{"data":"3"}}
Outbound (us -> ACS), PascalCase (ACS accepts camelCase too):
  {"Kind":"AudioData","AudioData":{"Data":"<base64>"},"StopAudio":null}
  {"Kind":"StopAudio","AudioData":null,"StopAudio":{}}

AudioData arrives every 20 ms per call, so it is decoded on a fast path (orjson + direct key access);
the pydantic models below document every shape and validate the rare messages.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voice.transports.base import (
    AudioFrame,
    BufferedMediaSocket,
    DtmfTone,
    InboundMedia,
    MediaSocket,
    MediaStarted,
    TransportStats,
)

log = logging.getLogger(__name__)

_VALID_DTMF = frozenset("0123456789*#ABCD")
MAX_CHUNK_FRAMES = 4  # 80 ms: a call that fell behind catches up in fewer, larger passes


class AudioMetadataPayload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    subscription_id: str | None = Field(None, alias="subscriptionId")
    encoding: str = "PCM"
    sample_rate: int = Field(alias="sampleRate")
    channels: int = 1
    length: int | None = None


class AudioDataPayload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    timestamp: str | None = None
    participant_raw_id: str | None = Field(None, alias="participantRawID")
    data: str = ""
    silent: bool = False


class DtmfDataPayload(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: str


class OutboundAudioData(BaseModel):
    Data: str


class OutboundMessage(BaseModel):
    """What we send; serialised by hand on the hot path in `encode_audio`, kept here as the spec."""

    Kind: str
    AudioData: OutboundAudioData | None = None
    StopAudio: dict[str, object] | None = None


class MalformedMessage(ValueError):
    pass


_STOP_AUDIO_MESSAGE = orjson.dumps({"Kind": "StopAudio", "AudioData": None, "StopAudio": {}}).decode()


def encode_audio(pcm: bytes) -> str:
    data = base64.b64encode(pcm).decode("ascii")
    # Equivalent to OutboundMessage(Kind="AudioData", ...) without a model per 20 ms frame.
    return '{"Kind":"AudioData","AudioData":{"Data":"' + data + '"},"StopAudio":null}'


def encode_stop_audio() -> str:
    return _STOP_AUDIO_MESSAGE


def _get(message: dict[str, object], camel: str, pascal: str) -> object:
    value = message.get(camel)
    return message.get(pascal) if value is None else value


def decode_inbound(text: str | bytes, *, frame_bytes: int) -> InboundMedia | None:
    """One inbound message -> an event; None for kinds we do not use. Raises MalformedMessage."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("not a JSON object")
    kind = message.get("kind")  # `_get`, inlined on the path every frame takes
    if kind is None:
        kind = message.get("Kind")
    if kind == "AudioData":
        payload = message.get("audioData")
        return _decode_audio(message.get("AudioData") if payload is None else payload, frame_bytes)
    if kind == "AudioMetadata":
        try:
            meta = AudioMetadataPayload.model_validate(_get(message, "audioMetadata", "AudioMetadata"))
        except ValidationError as exc:
            raise MalformedMessage(f"bad AudioMetadata: {exc.errors()[0]['msg']}") from exc
        if meta.encoding.upper() != "PCM" or meta.sample_rate not in (16000, 24000) or meta.channels != 1:
            raise MalformedMessage(
                f"unsupported audio format {meta.encoding}/{meta.sample_rate}/{meta.channels}"
            )
        return MediaStarted(
            sample_rate=meta.sample_rate,
            channels=meta.channels,
            frame_bytes=meta.length or meta.sample_rate // 50 * 2,
            subscription_id=meta.subscription_id,
        )
    if kind == "DtmfData":
        try:
            dtmf = DtmfDataPayload.model_validate(_get(message, "dtmfData", "DtmfData"))
        except ValidationError as exc:
            raise MalformedMessage("bad DtmfData") from exc
        digit = dtmf.data.strip().upper()
        if len(digit) != 1 or digit not in _VALID_DTMF:
            raise MalformedMessage(f"bad DTMF digit {dtmf.data!r}")
        return DtmfTone(digit=digit)
    if isinstance(kind, str):
        return None  # e.g. TranscriptionData: not ours to handle, not an error
    raise MalformedMessage("message has no kind")


@functools.lru_cache(maxsize=8)
def _silence(frame_bytes: int) -> tuple[str, bytes]:
    """One frame of digital silence, base64 and decoded (shared: bytes are immutable)."""
    pcm = bytes(frame_bytes)
    return base64.b64encode(pcm).decode("ascii"), pcm


def _decode_audio(payload: object, frame_bytes: int) -> AudioFrame:
    if not isinstance(payload, dict):
        raise MalformedMessage("AudioData without audioData object")
    silent = payload.get("silent") is True
    encoded = payload.get("data")
    if not encoded:
        if silent:  # a silent frame may come without samples
            return AudioFrame(
                pcm=_silence(frame_bytes)[1],
                silent=True,
                timestamp=payload.get("timestamp"),
                participant=None,
            )
        raise MalformedMessage("AudioData without data")
    if not isinstance(encoded, str):
        raise MalformedMessage("AudioData.data is not a string")
    zeros_b64, zeros = _silence(frame_bytes)
    if encoded == zeros_b64:  # a frame of digital silence (a caller who is quiet): no base64 decode
        return AudioFrame(
            pcm=zeros,
            silent=silent,
            timestamp=payload.get("timestamp"),
            participant=payload.get("participantRawID"),
        )
    try:
        # strict_mode: the C check of base64.b64decode(validate=True) without its per-call regex.
        pcm = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage("AudioData.data is not base64") from exc
    if len(pcm) % 2:
        raise MalformedMessage("AudioData is not whole PCM16 samples")
    return AudioFrame(
        pcm=pcm,
        silent=silent,
        timestamp=payload.get("timestamp"),
        participant=payload.get("participantRawID"),
    )


class AcsMediaTransport:
    """One call's ACS media socket as a `MediaTransport`: decoded inbound events, encoded outbound audio."""

    def __init__(self, socket: MediaSocket, *, sample_rate: int, max_logged_errors: int = 5) -> None:
        self._socket = socket
        self._buffered = socket if isinstance(socket, BufferedMediaSocket) else None
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate // 50 * 2
        self.stats = TransportStats()
        self._max_logged_errors = max_logged_errors
        self._held: InboundMedia | None = None  # decoded after an audio chunk it could not join

    async def receive(self) -> InboundMedia | None:
        """Next inbound event; None once the socket is closed. Malformed messages are counted and skipped.

        Audio frames that are already in when one is read (a call that fell behind, or frames the network
        delivered together) come up as one chunk of up to `MAX_CHUNK_FRAMES` frames: one pass of the media
        path for all of them. Nothing is held back to make a chunk."""
        held, self._held = self._held, None
        if held is not None:
            return held
        while True:
            text = await self._socket.receive_text()
            if text is None:
                return None
            event = self._decode(text)
            if event is None:
                continue
            if isinstance(event, AudioFrame) and self._buffered is not None:
                return self._join_buffered(event, self._buffered)
            return event

    def _join_buffered(self, first: AudioFrame, socket: BufferedMediaSocket) -> AudioFrame:
        text = socket.receive_buffered()
        if text is None:  # the usual case: nothing else in yet
            return first
        frames = [first]
        while True:
            event = self._decode(text)
            if isinstance(event, AudioFrame):
                frames.append(event)
            elif event is not None:
                self._held = event  # a key press or a format change: handled after the audio before it
                break
            if len(frames) == MAX_CHUNK_FRAMES or (text := socket.receive_buffered()) is None:
                break
        if len(frames) == 1:
            return first
        return AudioFrame(
            pcm=b"".join(frame.pcm for frame in frames),
            silent=all(frame.silent for frame in frames),
            timestamp=first.timestamp,
            participant=frames[-1].participant,
            frames=len(frames),
        )

    def _decode(self, text: str) -> InboundMedia | None:
        self.stats.messages_in += 1
        try:
            event = decode_inbound(text, frame_bytes=self.frame_bytes)
        except MalformedMessage as exc:
            self.stats.malformed_in += 1
            if self.stats.malformed_in <= self._max_logged_errors:
                log.warning("malformed media message dropped", extra={"error": str(exc)})
            return None
        if isinstance(event, AudioFrame):
            self.stats.audio_frames_in += 1
        elif isinstance(event, MediaStarted):
            self.sample_rate = event.sample_rate
            self.frame_bytes = event.sample_rate // 50 * 2
        return event

    async def send_audio(self, frame: bytes) -> None:
        await self._socket.send_text(encode_audio(frame))
        self.stats.audio_frames_out += 1

    async def send_stop_audio(self) -> None:
        await self._socket.send_text(encode_stop_audio())
        self.stats.stop_audio_out += 1

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._socket.close(code, reason)
