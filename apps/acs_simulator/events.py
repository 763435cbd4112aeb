"""Event Grid events (to the backend's webhook) and Call Automation CloudEvents (to a call's callbackUri)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from apps.acs_simulator.rest_models import (
    CallParticipantModel,
    CommunicationIdentifierModel,
    WireModel,
)

API_VERSION = "2026-03-12"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
INCOMING_CALL_EVENT = "Microsoft.Communication.IncomingCall"
SIMULATOR_TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/switchboard-local/providers/"
    "Microsoft.Communication/communicationServices/acs-simulator"
)

CALL_CONNECTED = "Microsoft.Communication.CallConnected"
CALL_DISCONNECTED = "Microsoft.Communication.CallDisconnected"
PARTICIPANTS_UPDATED = "Microsoft.Communication.ParticipantsUpdated"
PLAY_STARTED = "Microsoft.Communication.PlayStarted"
PLAY_COMPLETED = "Microsoft.Communication.PlayCompleted"
CALL_TRANSFER_ACCEPTED = "Microsoft.Communication.CallTransferAccepted"
ANSWER_FAILED = "Microsoft.Communication.AnswerFailed"
CREATE_CALL_FAILED = "Microsoft.Communication.CreateCallFailed"
MEDIA_STREAMING_STARTED = "Microsoft.Communication.MediaStreamingStarted"
MEDIA_STREAMING_FAILED = "Microsoft.Communication.MediaStreamingFailed"
ADD_PARTICIPANT_SUCCEEDED = "Microsoft.Communication.AddParticipantSucceeded"
ADD_PARTICIPANT_FAILED = "Microsoft.Communication.AddParticipantFailed"
CANCEL_ADD_PARTICIPANT_SUCCEEDED = "Microsoft.Communication.CancelAddParticipantSucceeded"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- Event Grid (webhook) -------------------


class SubscriptionValidationData(WireModel):
    validation_code: str
    validation_url: str


class IncomingCallData(WireModel):
    to: CommunicationIdentifierModel
    from_: CommunicationIdentifierModel = Field(alias="from")
    server_call_id: str
    caller_display_name: str
    incoming_call_context: str
    correlation_id: str


class EventGridEvent(WireModel):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    topic: str = SIMULATOR_TOPIC
    subject: str
    data: SubscriptionValidationData | IncomingCallData
    event_type: str
    event_time: str = Field(default_factory=utc_now_iso)
    metadata_version: str = "1"
    data_version: str = "1"


def subscription_validation_event(topic: str = SIMULATOR_TOPIC) -> EventGridEvent:
    code = str(uuid.uuid4()).upper()
    url = f"https://rp-eastus.eventgrid.azure.net:553/eventsubscriptions/switchboard/validate?id={code}&t=sim"
    return EventGridEvent(
        topic=topic,
        subject="",
        data=SubscriptionValidationData(validation_code=code, validation_url=url),
        event_type=VALIDATION_EVENT,
    )


def incoming_call_event(
    *,
    to_number: str,
    from_number: str,
    server_call_id: str,
    caller_display_name: str,
    incoming_call_context: str,
    correlation_id: str,
    topic: str = SIMULATOR_TOPIC,
) -> EventGridEvent:
    data = IncomingCallData.model_validate(
        {
            "to": CommunicationIdentifierModel.phone(to_number),
            "from": CommunicationIdentifierModel.phone(from_number),
            "server_call_id": server_call_id,
            "caller_display_name": caller_display_name,
            "incoming_call_context": incoming_call_context,
            "correlation_id": correlation_id,
        }
    )
    return EventGridEvent(
        topic=topic,
        subject=f"/caller/4:{from_number}/recipient/4:{to_number}",
        data=data,
        event_type=INCOMING_CALL_EVENT,
    )


def new_incoming_call_context() -> str:
    """Opaque to the backend (real ACS sends a long signed blob); maps to the pending call."""
    return "sim." + secrets.token_urlsafe(48)


# ---------------------------------------------------------------- CloudEvents (callbacks) ----------------


class ResultInformation(WireModel):
    code: int = 200
    sub_code: int = 0
    message: str = "Action completed successfully."


class CallEventData(WireModel):
    call_connection_id: str
    server_call_id: str
    correlation_id: str
    operation_context: str | None = None
    version: str = API_VERSION
    public_event_type: str
    result_information: ResultInformation | None = None
    participants: list[CallParticipantModel] | None = None
    sequence_number: int | None = None
    transfer_target: CommunicationIdentifierModel | None = None
    transferee: CommunicationIdentifierModel | None = None
    media_streaming_update: dict[str, Any] | None = None
    participant: CommunicationIdentifierModel | None = None
    invitation_id: str | None = None


class CloudEvent(WireModel):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    specversion: str = "1.0"
    time: str = Field(default_factory=utc_now_iso)
    datacontenttype: str = "application/json"
    subject: str
    data: CallEventData


def call_event(
    event_type: str,
    *,
    call_connection_id: str,
    server_call_id: str,
    correlation_id: str,
    operation_context: str | None = None,
    result: ResultInformation | None = None,
    **extra: Any,
) -> CloudEvent:
    """One callback event; `extra` fills event-specific data (participants, transferTarget, ...)."""
    source = f"calling/callConnections/{call_connection_id}"
    data = CallEventData(
        call_connection_id=call_connection_id,
        server_call_id=server_call_id,
        correlation_id=correlation_id,
        operation_context=operation_context,
        public_event_type=event_type,
        result_information=result if result is not None else ResultInformation(),
        **extra,
    )
    return CloudEvent(source=source, subject=source, type=event_type, data=data)
