"""Inbound ACS shapes: Event Grid events on the webhook and CloudEvents on the mid-call callback URL.

Only the fields we act on are modelled strictly; everything else is kept (`extra="allow"`) so a new field
from ACS never breaks a call.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
INCOMING_CALL_EVENT = "Microsoft.Communication.IncomingCall"
CALLBACK_PREFIX = "Microsoft.Communication."


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EventGridEvent(_Lenient):
    id: str = ""
    event_type: str = Field(alias="eventType")
    subject: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class SubscriptionValidationData(_Lenient):
    validation_code: str = Field(alias="validationCode")
    validation_url: str | None = Field(None, alias="validationUrl")


class PhoneNumber(_Lenient):
    value: str


class CommunicationIdentifier(_Lenient):
    raw_id: str = Field("", alias="rawId")
    kind: str | None = None
    phone_number: PhoneNumber | None = Field(None, alias="phoneNumber")

    @property
    def display(self) -> str:
        """The phone number if there is one, else the raw id."""
        return self.phone_number.value if self.phone_number else self.raw_id


class IncomingCallData(_Lenient):
    to: CommunicationIdentifier
    from_: CommunicationIdentifier = Field(alias="from")
    server_call_id: str = Field("", alias="serverCallId")
    caller_display_name: str = Field("", alias="callerDisplayName")
    incoming_call_context: str = Field(alias="incomingCallContext")
    correlation_id: str = Field("", alias="correlationId")


class ResultInformation(_Lenient):
    code: int | None = None
    sub_code: int | None = Field(None, alias="subCode")
    message: str | None = None


class CallbackData(_Lenient):
    call_connection_id: str = Field(alias="callConnectionId")
    server_call_id: str | None = Field(None, alias="serverCallId")
    correlation_id: str | None = Field(None, alias="correlationId")
    operation_context: str | None = Field(None, alias="operationContext")
    result_information: ResultInformation | None = Field(None, alias="resultInformation")


class CloudEvent(_Lenient):
    id: str = ""
    type: str
    source: str = ""
    data: CallbackData

    @property
    def short_type(self) -> str:
        """`Microsoft.Communication.CallConnected` -> `CallConnected`."""
        return self.type.removeprefix(CALLBACK_PREFIX)
