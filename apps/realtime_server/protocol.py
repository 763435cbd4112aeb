"""Wire shapes of the realtime protocol in its beta (Azure VoiceLive / OpenAI `realtime=v1`) dialect.

Client events are validated into pydantic models; the GA dialect is translated to these names first
(`dialect.py`). Server events are plain dicts built by the small functions at the bottom: every one has an
`event_id` and a `type`. The session config keeps only what the local engine acts on; fields real services
accept but we do not implement (noise reduction, echo cancellation, avatar, ...) are accepted and ignored,
while a wrong *type* for a known field is a validation error the session reports as an `error` event.
"""

from __future__ import annotations

import itertools
import secrets
import typing
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

InputFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
OutputFormat = Literal["pcm16", "pcm16_16000hz", "pcm16_8000hz", "g711_ulaw", "g711_alaw"]
Modality = Literal["text", "audio"]

OUTPUT_RATES: dict[str, int] = {
    "pcm16": 24000,
    "pcm16_16000hz": 16000,
    "pcm16_8000hz": 8000,
    "g711_ulaw": 8000,
    "g711_alaw": 8000,
}


def voice_name(value: Any) -> Any:
    """VoiceLive sends voice objects (`{"type": "azure-standard", "name": ...}`), GA custom voices `{"id"}`:
    the local TTS only needs the name."""
    if isinstance(value, dict):
        name = value.get("name") or value.get("id")
        if not isinstance(name, str):
            raise ValueError("a voice object needs a string 'name'")
        return name
    return value


def _all_modalities() -> list[Modality]:
    return ["text", "audio"]


class _Lenient(BaseModel):
    """Known fields are type-checked; unknown ones are kept aside (`model_extra`) and ignored."""

    model_config = ConfigDict(extra="allow")


class EndOfUtteranceDetection(_Lenient):
    """Azure VoiceLive's semantic end-of-utterance options (`turn_detection.end_of_utterance_detection`)."""

    model: str = "semantic_detection_v1"
    threshold_level: Literal["low", "medium", "high", "default"] | None = None
    timeout_ms: Annotated[int, Field(ge=0, le=10_000)] | None = None
    """The longest pause waited for before a turn that sounds unfinished is ended anyway."""


class TurnDetection(_Lenient):
    type: Literal[
        "server_vad",
        "semantic_vad",
        "azure_semantic_vad",
        "azure_semantic_vad_en",
        "azure_semantic_vad_multilingual",
    ] = "server_vad"
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    silence_duration_ms: Annotated[int, Field(ge=0, le=10_000)] | None = None
    prefix_padding_ms: Annotated[int, Field(ge=0, le=5_000)] | None = None
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    """`semantic_vad` (OpenAI): how soon a turn that may be complete is ended."""
    end_of_utterance_detection: EndOfUtteranceDetection | None = None
    """`azure_semantic_vad*` (Azure VoiceLive): the end-of-utterance model's options."""
    remove_filler_words: bool | None = None
    """`azure_semantic_vad*`: drop "um", "uh" and the like from the caller's transcript."""

    @property
    def semantic(self) -> bool:
        """The turn ends on what the caller said, not on a fixed silence."""
        return self.type != "server_vad"


class FunctionTool(_Lenient):
    type: Literal["function"] = "function"
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class RealtimeSessionConfig(_Lenient):
    """A session's settings (beta names). Partial `session.update`s are merged with `merged_with`."""

    instructions: str = ""
    voice: str | None = None
    input_audio_format: InputFormat = "pcm16"
    input_audio_sampling_rate: Literal[8000, 16000, 24000] = 24000
    output_audio_format: OutputFormat = "pcm16"
    turn_detection: TurnDetection | None = Field(default_factory=TurnDetection)
    input_audio_transcription: dict[str, Any] | None = None
    tools: list[FunctionTool] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    temperature: float = 0.8
    max_response_output_tokens: int | Literal["inf"] = "inf"
    modalities: list[Modality] = Field(default_factory=_all_modalities)

    @field_validator("voice", mode="before")
    @classmethod
    def _voice(cls, value: Any) -> Any:
        return voice_name(value)

    @field_validator("tools", mode="before")
    @classmethod
    def _function_tools_only(cls, value: Any) -> Any:
        # Server-side tools (mcp, web search, ...) cannot run here; they are ignored, not refused.
        if isinstance(value, list):
            return [t for t in value if not (isinstance(t, dict) and t.get("type", "function") != "function")]
        return value

    @property
    def input_rate(self) -> int:
        return 8000 if self.input_audio_format != "pcm16" else self.input_audio_sampling_rate

    @property
    def output_rate(self) -> int:
        return OUTPUT_RATES[self.output_audio_format]

    @property
    def audio_out(self) -> bool:
        return "audio" in self.modalities

    def merged_with(self, update: dict[str, Any]) -> tuple[RealtimeSessionConfig, list[str]]:
        """This config with `update`'s fields replaced; returns it and the names of ignored fields.

        Raises `pydantic.ValidationError` for wrong types of known fields (nothing changes then)."""
        known = type(self).model_fields
        ignored = sorted(k for k in update if k not in known)
        values = self.model_dump(exclude_unset=False)
        values.update({k: v for k, v in update.items() if k in known})
        merged = type(self).model_validate(values)
        return merged, ignored

    def wire(self) -> dict[str, Any]:
        """The session as `session.created` / `session.updated` carry it (beta shape)."""
        data = self.model_dump(mode="json", exclude={"tools"})
        if self.turn_detection is not None:
            data["turn_detection"] = self.turn_detection.model_dump(mode="json", exclude_none=True)
        data["tools"] = [
            t.model_dump(mode="json", include={"type", "name", "description", "parameters"})
            for t in self.tools
        ]
        return data


# --- conversation items -----------------------------------------------------------------------------------
class ContentPart(_Lenient):
    type: Literal["input_text", "text", "output_text", "input_audio", "audio", "output_audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None

    def spoken_text(self) -> str:
        return (self.text if self.type in ("input_text", "text", "output_text") else self.transcript) or ""


class MessageItem(_Lenient):
    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["user", "assistant", "system"]
    content: list[ContentPart] = Field(default_factory=list)


class FunctionCallItem(_Lenient):
    type: Literal["function_call"]
    id: str | None = None
    call_id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    arguments: str = "{}"


class FunctionCallOutputItem(_Lenient):
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: Annotated[str, Field(min_length=1)]
    output: str


ItemParam = Annotated[MessageItem | FunctionCallItem | FunctionCallOutputItem, Field(discriminator="type")]


class ResponseParams(_Lenient):
    instructions: str | None = None
    tool_choice: str | dict[str, Any] | None = None
    modalities: list[Modality] | None = None
    voice: str | None = None
    pre_generated_assistant_message: MessageItem | None = None
    metadata: dict[str, str] | None = None
    """Echoed on the response object, so a client can tell its own responses from automatic ones."""

    @field_validator("voice", mode="before")
    @classmethod
    def _voice(cls, value: Any) -> Any:
        return voice_name(value)


# --- client events ------------------------------------------------------------------------------------------
class _ClientEvent(_Lenient):
    event_id: str | None = None


class SessionUpdate(_ClientEvent):
    type: Literal["session.update"]
    session: dict[str, Any]


class AudioAppend(_ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str


class AudioCommit(_ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class AudioClear(_ClientEvent):
    type: Literal["input_audio_buffer.clear"]


class ItemCreate(_ClientEvent):
    type: Literal["conversation.item.create"]
    previous_item_id: str | None = None
    item: ItemParam


class ItemTruncate(_ClientEvent):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: Annotated[int, Field(ge=0)] = 0
    audio_end_ms: Annotated[int, Field(ge=0)]


class ItemDelete(_ClientEvent):
    type: Literal["conversation.item.delete"]
    item_id: str


class ResponseCreate(_ClientEvent):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(_ClientEvent):
    type: Literal["response.cancel"]
    response_id: str | None = None


ClientEvent = (
    SessionUpdate
    | AudioAppend
    | AudioCommit
    | AudioClear
    | ItemCreate
    | ItemTruncate
    | ItemDelete
    | ResponseCreate
    | ResponseCancel
)
CLIENT_EVENTS: dict[str, type[BaseModel]] = {
    # Each model's `type` field is a one-value Literal: its value is the event name.
    typing.get_args(model.model_fields["type"].annotation)[0]: model
    for model in (
        SessionUpdate,
        AudioAppend,
        AudioCommit,
        AudioClear,
        ItemCreate,
        ItemTruncate,
        ItemDelete,
        ResponseCreate,
        ResponseCancel,
    )
}


class ProtocolError(Exception):
    """A client event we cannot act on; becomes one `error` event, the session carries on."""

    def __init__(self, code: str, message: str, *, param: str | None = None, event_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id


def parse_client_event(data: Any) -> ClientEvent:
    """A decoded JSON value -> a typed client event. Raises `ProtocolError` naming the problem."""
    if not isinstance(data, dict):
        raise ProtocolError("invalid_event", "an event must be a JSON object")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    model = CLIENT_EVENTS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ProtocolError(
            "invalid_event_type", f"unknown event type {kind!r}", param="type", event_id=event_id
        )
    try:
        return cast(ClientEvent, model.model_validate(data))  # CLIENT_EVENTS holds only ClientEvent models
    except ValidationError as exc:
        raise validation_problem(exc, event_id) from None


def validation_problem(exc: ValidationError, event_id: str | None, prefix: str = "") -> ProtocolError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    return ProtocolError("invalid_value", f"{where}: {first['msg']}", param=where or None, event_id=event_id)


# --- server events (beta names) -------------------------------------------------------------------------------
_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    """Ids like OpenAI's (`item_...`, `resp_...`, `event_...`); unique per process."""
    return f"{prefix}_{secrets.token_hex(6)}{next(_counter):x}"


def server_event(type_: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": new_id("event"), "type": type_, **fields}


def error_event(problem: ProtocolError, type_: str = "invalid_request_error") -> dict[str, Any]:
    return server_event(
        "error",
        error={
            "type": type_,
            "code": problem.code,
            "message": problem.message,
            "param": problem.param,
            "event_id": problem.event_id,
        },
    )
