"""What a relay client may send, validated before anything goes upstream.

The relay speaks the upstream's realtime protocol to the client (OpenAI GA, or the beta dialect of Azure
OpenAI and VoiceLive): the client events of both dialects are accepted here. The server owns the agent: its
instructions, tools and tool results come from the scenario, so a client that sets `instructions`, `tools` or
`tool_choice`, or sends a `function_call_output`, gets an `error` event and the rest of its event goes on.
Anything malformed or unknown gets an `error` event; the session goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

MAX_EVENT_CHARS = 512 * 1024
"""One client event (an audio append of ~8 s of 24 kHz PCM16 in base64 fits)."""
SERVER_OWNED_SESSION_FIELDS = ("instructions", "tools", "tool_choice")
EventId = Annotated[str, Field(max_length=64)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId | None = None


class _Open(BaseModel):
    """Nested shapes we pass through: known fields type-checked, others kept as sent."""

    model_config = ConfigDict(extra="allow")


class AudioAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: Annotated[str, Field(min_length=1, max_length=MAX_EVENT_CHARS)]

    @field_validator("audio")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("audio is not base64") from exc
        return value


class AudioCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class AudioClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class OutputAudioClear(_Event):
    type: Literal["output_audio_buffer.clear"]


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: dict[str, Any]


class ContentPart(_Open):
    type: Literal["input_text", "text", "output_text", "input_audio", "audio"]
    text: Annotated[str, Field(max_length=32_000)] | None = None


class MessageItem(_Open):
    type: Literal["message"] = "message"
    id: EventId | None = None
    role: Literal["user", "assistant", "system"]
    content: Annotated[list[ContentPart], Field(min_length=1, max_length=16)]

    def text(self) -> str:
        return " ".join(part.text for part in self.content if part.text)


class ItemCreate(_Event):
    type: Literal["conversation.item.create"]
    previous_item_id: EventId | None = None
    item: MessageItem


class ItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: EventId
    content_index: Annotated[int, Field(ge=0)] = 0
    audio_end_ms: Annotated[int, Field(ge=0)]


class ItemDelete(_Event):
    type: Literal["conversation.item.delete"]
    item_id: EventId


class ItemRetrieve(_Event):
    type: Literal["conversation.item.retrieve"]
    item_id: EventId


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: dict[str, Any] | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: EventId | None = None


ClientEvent = Annotated[
    AudioAppend
    | AudioCommit
    | AudioClear
    | OutputAudioClear
    | SessionUpdate
    | ItemCreate
    | ItemTruncate
    | ItemDelete
    | ItemRetrieve
    | ResponseCreate
    | ResponseCancel,
    Field(discriminator="type"),
]
_client_event: TypeAdapter[ClientEvent] = TypeAdapter(ClientEvent)
KNOWN_TYPES = frozenset(
    typ
    for model in (
        AudioAppend,
        AudioCommit,
        AudioClear,
        OutputAudioClear,
        SessionUpdate,
        ItemCreate,
        ItemTruncate,
        ItemDelete,
        ItemRetrieve,
        ResponseCreate,
        ResponseCancel,
    )
    for typ in model.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
)


class ClientEventError(Exception):
    """Why a client event was refused: sent back as an `error` event (the session goes on)."""

    def __init__(self, code: str, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.event_id = code, message, event_id


def parse_client_event(text: str) -> tuple[ClientEvent, dict[str, Any]]:
    """The event, validated, and as sent (what is forwarded: nothing is lost or reshaped on the way);
    raises `ClientEventError` with a code and a reason."""
    if len(text) > MAX_EVENT_CHARS:
        raise ClientEventError("event_too_large", f"an event is at most {MAX_EVENT_CHARS} characters")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClientEventError("invalid_json", f"not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(raw, dict):
        raise ClientEventError("invalid_event", "an event is a JSON object")
    event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        shown = kind if isinstance(kind, str) and len(kind) <= 64 else "?"
        raise ClientEventError("unknown_event", f"unknown or unsupported event type {shown!r}", event_id)
    if kind == "conversation.item.create":
        item = raw.get("item")
        if isinstance(item, dict) and item.get("type") in ("function_call_output", "function_call"):
            raise ClientEventError(
                "server_owned", "tools run on the server: send no function calls", event_id
            )
    try:
        return _client_event.validate_python(raw), raw
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "event"
        raise ClientEventError("invalid_event", f"{where}: {first['msg']}", event_id) from None


def server_owned_fields(event: SessionUpdate | ResponseCreate) -> list[str]:
    """Fields the client may not set (they come from the scenario's agent)."""
    body = event.session if isinstance(event, SessionUpdate) else (event.response or {})
    return [name for name in SERVER_OWNED_SESSION_FIELDS if name in body]


def error_event(code: str, message: str, event_id: str | None = None) -> dict[str, Any]:
    """An `error` server event in the realtime protocol's shape."""
    return {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": code, "message": message, "event_id": event_id},
    }
