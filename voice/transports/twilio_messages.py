"""Twilio Media Streams messages (bidirectional `<Connect><Stream>`), one JSON text message per event.

Inbound (Twilio -> us), discriminated by `event`:
  {"event":"connected","protocol":"Call","version":"1.0.0"}
  {"event":"start","sequenceNumber":"1","streamSid":"MZ..","start":{"accountSid","streamSid","callSid",
   "tracks":["inbound"],"customParameters":{..},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,
   "channels":1}}}
  {"event":"media","sequenceNumber":"3","streamSid":"MZ..","media":{"track":"inbound","chunk":"1",
   "timestamp":"20","payload":"<base64 mu-law>"}}
  {"event":"dtmf","streamSid":"MZ..","dtmf":{"track":"inbound_track","digit":"1"}}
  {"event":"mark","streamSid":"MZ..","mark":{"name":".."}}   (a mark we sent has been played, or cleared)
  {"event":"stop","streamSid":"MZ..","stop":{"accountSid","callSid"}}
Outbound (us -> Twilio): media {"event":"media","streamSid","media":{"payload"}}, mark
{"event":"mark","streamSid","mark":{"name"}}, clear {"event":"clear","streamSid"}.

Every inbound message is validated in one pass (a discriminated union over the JSON text); outbound media is
serialised by hand (one per 20 ms), the models below stay its spec.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MULAW_RATE = 8000
MAX_PAYLOAD_CHARS = 16_000
"""Bound on one media payload (base64): ~1.5 s of mu-law; Twilio sends 20 ms (~216 characters)."""
MAX_NAME_CHARS = 256
MAX_PARAMETERS = 32


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class MediaFormat(_Wire):
    encoding: str
    sample_rate: int = Field(alias="sampleRate")
    channels: int


class StartPayload(_Wire):
    account_sid: str = Field("", alias="accountSid", max_length=MAX_NAME_CHARS)
    stream_sid: str = Field(alias="streamSid", min_length=1, max_length=MAX_NAME_CHARS)
    call_sid: str = Field(alias="callSid", min_length=1, max_length=MAX_NAME_CHARS)
    tracks: list[str] = Field(default_factory=lambda: ["inbound"], max_length=4)
    custom_parameters: dict[str, Annotated[str, Field(max_length=MAX_NAME_CHARS)]] = Field(
        default_factory=dict, alias="customParameters", max_length=MAX_PARAMETERS
    )
    media_format: MediaFormat = Field(alias="mediaFormat")


class MediaPayload(_Wire):
    track: str = "inbound"
    chunk: str | None = None
    timestamp: str | None = Field(None, max_length=32)
    payload: str = Field(max_length=MAX_PAYLOAD_CHARS)


class DtmfPayload(_Wire):
    track: str | None = None
    digit: str = Field(max_length=4)


class MarkPayload(_Wire):
    name: str = Field(max_length=MAX_NAME_CHARS)


class StopPayload(_Wire):
    account_sid: str = Field("", alias="accountSid")
    call_sid: str = Field("", alias="callSid")


class ConnectedMessage(_Wire):
    event: Literal["connected"]
    protocol: str = ""
    version: str = ""


class StartMessage(_Wire):
    event: Literal["start"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    stream_sid: str | None = Field(None, alias="streamSid")
    start: StartPayload


class MediaMessage(_Wire):
    event: Literal["media"]
    sequence_number: str | None = Field(None, alias="sequenceNumber")
    stream_sid: str | None = Field(None, alias="streamSid")
    media: MediaPayload


class DtmfMessage(_Wire):
    event: Literal["dtmf"]
    stream_sid: str | None = Field(None, alias="streamSid")
    dtmf: DtmfPayload


class MarkMessage(_Wire):
    """Inbound: Twilio played (or, after a clear, dropped) the audio before this mark. Outbound: our mark."""

    event: Literal["mark"]
    stream_sid: str | None = Field(None, alias="streamSid")
    mark: MarkPayload


class StopMessage(_Wire):
    event: Literal["stop"]
    stream_sid: str | None = Field(None, alias="streamSid")
    stop: StopPayload = Field(default_factory=lambda: StopPayload.model_validate({}))


class ClearMessage(_Wire):
    """Outbound only: drop the audio Twilio still has queued (barge-in)."""

    event: Literal["clear"]
    stream_sid: str = Field(alias="streamSid")


class OutboundMedia(_Wire):
    payload: str


class OutboundMediaMessage(_Wire):
    event: Literal["media"]
    stream_sid: str = Field(alias="streamSid")
    media: OutboundMedia


InboundMessage = ConnectedMessage | StartMessage | MediaMessage | DtmfMessage | MarkMessage | StopMessage
_INBOUND: TypeAdapter[InboundMessage] = TypeAdapter(Annotated[InboundMessage, Field(discriminator="event")])
_KNOWN_EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop"})


class MalformedMessage(ValueError):
    pass


def parse_inbound(text: str | bytes) -> InboundMessage | None:
    """One inbound message; None for an event we do not know (a newer protocol's). Raises MalformedMessage."""
    try:
        return _INBOUND.validate_json(text)
    except ValidationError as exc:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise MalformedMessage("not JSON") from exc
        if not isinstance(message, dict):
            raise MalformedMessage("not a JSON object") from exc
        event = message.get("event")
        if not isinstance(event, str):
            raise MalformedMessage("message has no event") from exc
        if event not in _KNOWN_EVENTS:
            return None
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"][1:])
        raise MalformedMessage(f"bad {event}: {where} {error['msg']}") from exc


def media_json(stream_sid: str, payload_b64: str) -> str:
    # Equivalent to OutboundMediaMessage(...).model_dump_json(by_alias=True), without a model per 20 ms.
    return (
        '{"event":"media","streamSid":'
        + orjson.dumps(stream_sid).decode()
        + ',"media":{"payload":"'
        + (payload_b64 + '"}}')
    )


def mark_json(stream_sid: str, name: str) -> str:
    return orjson.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}).decode()


def clear_json(stream_sid: str) -> str:
    return orjson.dumps({"event": "clear", "streamSid": stream_sid}).decode()
