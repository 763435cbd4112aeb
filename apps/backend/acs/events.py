"""Inbound ACS shapes: Event Grid events on the webhook and CloudEvents on the mid-call callback URL.

Only the fields we act on are modelled strictly, and every one of them is bounded (the raw ids' form and
length, the opaque ids' length, the display name trimmed and stripped of control characters), since the call
record stores them and the greeting reads the display name out. Everything else is kept (`extra="allow"`,
bounded by the body limit) so a new field from ACS never breaks a call.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
INCOMING_CALL_EVENT = "Microsoft.Communication.IncomingCall"
CALLBACK_PREFIX = "Microsoft.Communication."

RAW_ID_MAX = 256
DISPLAY_NAME_MAX = 64
INCOMING_CALL_CONTEXT_MAX = 32 * 1024  # ACS' signed context runs to a few kB
SERVER_CALL_ID_MAX = 1024
CORRELATION_ID_MAX = 128
EVENT_ID_MAX = 256

# 4:+E.164 (optionally _<asserted id>), 4:anonymous for a withheld caller id; 8:acs:..., 8:orgid:... and
# 28:... for ACS users, Teams users and bots.
_PHONE_RAW_ID = re.compile(r"4:(?:\+[1-9][0-9]{1,14}(?:_[A-Za-z0-9-]{1,64})?|anonymous)")
_ACS_RAW_ID = re.compile(r"(?:8|28):[A-Za-z0-9][A-Za-z0-9:_.-]*")
_PHONE_NUMBER = re.compile(r"\+[1-9][0-9]{1,14}|anonymous")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: opaque ids and contexts


def _raw_id(value: str) -> str:
    if not (_PHONE_RAW_ID.fullmatch(value) or _ACS_RAW_ID.fullmatch(value)):
        raise ValueError("not an E.164 raw id (4:+14255550123) or an ACS raw id (8:acs:...)")
    return value


def _phone_number(value: str) -> str:
    if not _PHONE_NUMBER.fullmatch(value):
        raise ValueError("not an E.164 number (+14255550123)")
    return value


def _token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("must be printable ASCII without spaces")
    return value


def clean_display_name(value: object) -> str:
    """Control, format and separator characters become spaces, runs of space collapse, then at most
    DISPLAY_NAME_MAX characters are kept: a caller-controlled string the greeting reads out."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    head = value[: DISPLAY_NAME_MAX * 4]  # bound the work before looking at every character
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in head)
    return " ".join(printable.split())[:DISPLAY_NAME_MAX].rstrip()


RawId = Annotated[str, Field(min_length=3, max_length=RAW_ID_MAX), AfterValidator(_raw_id)]
PhoneNumberValue = Annotated[str, Field(max_length=32), AfterValidator(_phone_number)]
DisplayName = Annotated[str, BeforeValidator(clean_display_name)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EventGridEvent(_Lenient):
    id: str = Field("", max_length=EVENT_ID_MAX)
    event_type: str = Field(alias="eventType", max_length=256)
    subject: str = Field("", max_length=2048)
    data: dict[str, Any] = Field(default_factory=dict)


class SubscriptionValidationData(_Lenient):
    validation_code: str = Field(alias="validationCode", min_length=1, max_length=256)
    validation_url: str | None = Field(None, alias="validationUrl", max_length=2048)


class PhoneNumber(_Lenient):
    value: PhoneNumberValue


class CommunicationIdentifier(_Lenient):
    raw_id: RawId = Field(alias="rawId")
    kind: str | None = Field(None, max_length=64)
    phone_number: PhoneNumber | None = Field(None, alias="phoneNumber")

    @property
    def display(self) -> str:
        """The phone number if there is one, else the raw id."""
        return self.phone_number.value if self.phone_number else self.raw_id


class IncomingCallData(_Lenient):
    to: CommunicationIdentifier
    from_: CommunicationIdentifier = Field(alias="from")
    server_call_id: Annotated[str, AfterValidator(_token)] = Field(
        alias="serverCallId", max_length=SERVER_CALL_ID_MAX
    )
    caller_display_name: DisplayName = Field("", alias="callerDisplayName")
    incoming_call_context: Annotated[str, AfterValidator(_token)] = Field(
        alias="incomingCallContext", max_length=INCOMING_CALL_CONTEXT_MAX
    )
    correlation_id: Annotated[str, AfterValidator(_token)] = Field(
        alias="correlationId", max_length=CORRELATION_ID_MAX
    )


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
