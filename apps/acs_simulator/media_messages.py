"""Messages on the ACS bidirectional media WebSocket.

Inbound to the backend (ACS -> app) use camelCase (`kind`, `audioData`, `participantRawID`); outbound from the
backend (app -> ACS) use PascalCase (`Kind`, `AudioData.Data`, `StopAudio`), and ACS accepts camelCase too.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from apps.acs_simulator.rest_models import WireModel

FRAME_MS = 20


def frame_bytes(sample_rate: int) -> int:
    """PCM16 mono bytes in one 20 ms frame: 640 at 16 kHz, 960 at 24 kHz."""
    return sample_rate * FRAME_MS // 1000 * 2


class AudioMetadata(WireModel):
    subscription_id: str
    encoding: Literal["PCM"] = "PCM"
    sample_rate: int
    channels: int = 1
    length: int


class AudioMetadataMessage(WireModel):
    kind: Literal["AudioMetadata"] = "AudioMetadata"
    audio_metadata: AudioMetadata


class AudioData(WireModel):
    timestamp: str
    participant_raw_id: str = Field(alias="participantRawID")
    data: str
    silent: bool


class AudioDataMessage(WireModel):
    kind: Literal["AudioData"] = "AudioData"
    audio_data: AudioData


class DtmfData(WireModel):
    data: str


class DtmfDataMessage(WireModel):
    kind: Literal["DtmfData"] = "DtmfData"
    dtmf_data: DtmfData


def audio_metadata_json(subscription_id: str, sample_rate: int) -> str:
    meta = AudioMetadata(
        subscription_id=subscription_id, sample_rate=sample_rate, length=frame_bytes(sample_rate)
    )
    return orjson.dumps(AudioMetadataMessage(audio_metadata=meta).wire()).decode()


def audio_data_json(timestamp: str, participant_raw_id: str, pcm: bytes, silent: bool) -> str:
    """Hot path (50 per second per call): same shape as AudioDataMessage, built without validation."""
    return orjson.dumps(
        {
            "kind": "AudioData",
            "audioData": {
                "timestamp": timestamp,
                "participantRawID": participant_raw_id,
                "data": base64.b64encode(pcm).decode("ascii"),
                "silent": silent,
            },
        }
    ).decode()


def dtmf_json(digit: str) -> str:
    return orjson.dumps(DtmfDataMessage(dtmf_data=DtmfData(data=digit)).wire()).decode()


# ------------------------------------------------------------------ outbound (backend -> ACS) -------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OutboundAudioData(_Lenient):
    data: str = Field(validation_alias=AliasChoices("Data", "data"))


class OutboundMessage(_Lenient):
    kind: str = Field(validation_alias=AliasChoices("Kind", "kind"))
    audio_data: OutboundAudioData | None = Field(
        default=None, validation_alias=AliasChoices("AudioData", "audioData")
    )
    stop_audio: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("StopAudio", "stopAudio")
    )


@dataclass(frozen=True, slots=True)
class AgentAudio:
    pcm: bytes


@dataclass(frozen=True, slots=True)
class AgentStopAudio:
    pass


class MalformedMessage(ValueError):
    """A frame from the backend that ACS would drop."""


def parse_outbound(raw: str | bytes) -> AgentAudio | AgentStopAudio:
    try:
        message = OutboundMessage.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise MalformedMessage(f"not a media message: {exc.__class__.__name__}") from exc
    kind = message.kind.lower()
    if kind == "stopaudio":
        return AgentStopAudio()
    if kind == "audiodata":
        if message.audio_data is None:
            raise MalformedMessage("AudioData message without an AudioData object")
        try:
            pcm = base64.b64decode(message.audio_data.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedMessage("AudioData.Data is not base64") from exc
        if len(pcm) % 2:
            raise MalformedMessage("AudioData.Data is not whole PCM16 samples")
        return AgentAudio(pcm)
    raise MalformedMessage(f"unknown Kind {message.kind!r}")
