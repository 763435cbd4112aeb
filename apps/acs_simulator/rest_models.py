"""Wire shapes of the Call Automation REST API (api-version 2026-03-12), as the 1.6 SDK emits and parses them.

Field names follow `_generated/models/_models.py` (`_attribute_map` keys). Requests are parsed leniently
(unknown fields ignored: the raw body is recorded anyway); responses are dumped with camelCase keys and no
nulls, which is what the SDK's deserializer reads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

AUDIO_FORMAT_RATES = {"pcm16KMono": 16000, "pcm24KMono": 24000}
DEFAULT_AUDIO_FORMAT = "pcm16KMono"


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class PhoneNumberModel(WireModel):
    value: str
    is_anonymous: bool | None = None
    asserted_id: str | None = None


class CommunicationUserModel(WireModel):
    id: str


class CommunicationIdentifierModel(WireModel):
    kind: str | None = None
    raw_id: str | None = None
    phone_number: PhoneNumberModel | None = None
    communication_user: CommunicationUserModel | None = None

    @classmethod
    def phone(cls, number: str) -> CommunicationIdentifierModel:
        return cls(kind="phoneNumber", raw_id=f"4:{number}", phone_number=PhoneNumberModel(value=number))

    def resolved_raw_id(self) -> str:
        if self.raw_id:
            return self.raw_id
        if self.phone_number:
            return f"4:{self.phone_number.value}"
        if self.communication_user:
            return self.communication_user.id
        return ""

    def normalized(self) -> CommunicationIdentifierModel:
        """The form ACS returns: kind and rawId always filled in."""
        if self.phone_number:
            return self.phone(self.phone_number.value)
        kind = "communicationUser" if self.communication_user else (self.kind or "unknown")
        return self.model_copy(update={"kind": kind, "raw_id": self.resolved_raw_id()})


class MediaStreamingOptionsModel(WireModel):
    transport_type: str
    audio_channel_type: str
    transport_url: str | None = None
    content_type: str | None = None
    start_media_streaming: bool | None = None
    enable_bidirectional: bool | None = None
    audio_format: str | None = None
    enable_dtmf_tones: bool | None = None


class AnswerCallRequest(WireModel):
    incoming_call_context: str
    callback_uri: str
    operation_context: str | None = None
    media_streaming_options: MediaStreamingOptionsModel | None = None
    call_intelligence_options: dict[str, Any] | None = None
    answered_by: CommunicationUserModel | None = None


class CreateCallRequest(WireModel):
    targets: list[CommunicationIdentifierModel] = Field(min_length=1)
    callback_uri: str
    source_caller_id_number: PhoneNumberModel | None = None
    source_display_name: str | None = None
    source: CommunicationUserModel | None = None
    operation_context: str | None = None
    media_streaming_options: MediaStreamingOptionsModel | None = None
    call_intelligence_options: dict[str, Any] | None = None


class TransferToParticipantRequest(WireModel):
    target_participant: CommunicationIdentifierModel
    operation_context: str | None = None
    transferee: CommunicationIdentifierModel | None = None
    operation_callback_uri: str | None = None
    source_caller_id_number: PhoneNumberModel | None = None
    custom_calling_context: dict[str, Any] | None = None


class PlayRequest(WireModel):
    play_sources: list[dict[str, Any]] = Field(min_length=1)
    play_to: list[CommunicationIdentifierModel] = Field(default_factory=list)
    interrupt_call_media_operation: bool | None = None
    play_options: dict[str, Any] | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class AddParticipantRequest(WireModel):
    participant_to_add: CommunicationIdentifierModel
    source_caller_id_number: PhoneNumberModel | None = None
    source_display_name: str | None = None
    invitation_timeout_in_seconds: int | None = Field(default=None, ge=1, le=180)
    operation_context: str | None = None
    operation_callback_uri: str | None = None
    custom_calling_context: dict[str, Any] | None = None


class RemoveParticipantRequest(WireModel):
    participant_to_remove: CommunicationIdentifierModel
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class CancelAddParticipantRequest(WireModel):
    invitation_id: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class HoldRequest(WireModel):
    target_participant: CommunicationIdentifierModel
    play_source_info: dict[str, Any] | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class UnholdRequest(WireModel):
    target_participant: CommunicationIdentifierModel
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class MediaStreamingSubscriptionModel(WireModel):
    id: str
    state: str
    subscribed_content_types: list[str] = Field(default_factory=lambda: ["audio"])


class CallConnectionPropertiesModel(WireModel):
    call_connection_id: str
    server_call_id: str
    targets: list[CommunicationIdentifierModel]
    call_connection_state: str
    callback_uri: str
    source: CommunicationIdentifierModel | None = None
    source_caller_id_number: PhoneNumberModel | None = None
    source_display_name: str | None = None
    correlation_id: str
    answered_for: PhoneNumberModel | None = None
    media_streaming_subscription: MediaStreamingSubscriptionModel | None = None


class CallParticipantModel(WireModel):
    identifier: CommunicationIdentifierModel
    is_muted: bool = False
    is_on_hold: bool = False


class GetParticipantsResponse(WireModel):
    value: list[CallParticipantModel]
    next_link: str | None = None


class AddParticipantResponse(WireModel):
    participant: CallParticipantModel
    operation_context: str | None = None
    invitation_id: str


class OperationContextResponse(WireModel):
    """The 202 body of remove-participant and cancel-add-participant."""

    operation_context: str | None = None
    invitation_id: str | None = None


class TransferCallResponse(WireModel):
    operation_context: str | None = None


class CommunicationError(WireModel):
    code: str
    message: str


class CommunicationErrorResponse(WireModel):
    error: CommunicationError

    @classmethod
    def of(cls, code: str, message: str) -> dict[str, Any]:
        return cls(error=CommunicationError(code=code, message=message)).wire()
