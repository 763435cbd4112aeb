"""Event Grid and ACS callback deliveries: bounded, validated whole, errors name the event and the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apps.backend.acs.deliveries import (
    MAX_EVENTS_PER_DELIVERY,
    DeliveryError,
    parse_callback_delivery,
    parse_event_grid_delivery,
)
from apps.backend.acs.events import DISPLAY_NAME_MAX, clean_display_name


def incoming_call(**data: Any) -> dict[str, Any]:
    """An IncomingCall as ACS sends it; keyword arguments replace data fields (None removes one)."""
    event: dict[str, Any] = {
        "id": "e0",
        "eventType": "Microsoft.Communication.IncomingCall",
        "subject": "/caller/4:+14255550123/recipient/4:+18005550100",
        "data": {
            "to": {
                "kind": "phoneNumber",
                "rawId": "4:+18005550100",
                "phoneNumber": {"value": "+18005550100"},
            },
            "from": {
                "kind": "phoneNumber",
                "rawId": "4:+14255550123",
                "phoneNumber": {"value": "+14255550123"},
            },
            "serverCallId": "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29t",
            "callerDisplayName": "Ada Lovelace",
            "incomingCallContext": "eyJhbGciOiJub25lIn0.eyJjYyI6IkgifQ.",
            "correlationId": "d5b6a9e2-4f1c-4b8e-9a44-2b3f0c9d7e11",
        },
    }
    for name, value in data.items():
        if value is None:
            del event["data"][name]
        else:
            event["data"][name] = value
    return event


def callback(connection: str = "conn-1") -> dict[str, Any]:
    return {
        "id": "c1",
        "type": "Microsoft.Communication.CallConnected",
        "source": f"calling/callConnections/{connection}",
        "data": {"callConnectionId": connection},
    }


def rejected(items: list[Any]) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        parse_event_grid_delivery(items)
    return caught.value


def test_a_well_formed_incoming_call_is_parsed() -> None:
    delivery = parse_event_grid_delivery([incoming_call()])
    (call,) = delivery.incoming_calls
    assert call.event_id == "e0" and call.data.from_.display == "+14255550123"
    assert call.data.caller_display_name == "Ada Lovelace"


def test_batches_over_the_limit_are_refused_whole() -> None:
    assert len(parse_event_grid_delivery([incoming_call()] * MAX_EVENTS_PER_DELIVERY).incoming_calls) == 10
    too_many = rejected([incoming_call()] * (MAX_EVENTS_PER_DELIVERY + 1))
    assert too_many.status == 413 and "at most 10 events" in str(too_many)
    assert rejected([]).status == 400
    with pytest.raises(DeliveryError) as caught:
        parse_callback_delivery([callback()] * (MAX_EVENTS_PER_DELIVERY + 1))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"incomingCallContext": None}, "event 0: data.incomingCallContext: Field required"),
        ({"from": None}, "event 0: data.from: Field required"),
        ({"serverCallId": None}, "event 0: data.serverCallId: Field required"),
        ({"correlationId": None}, "event 0: data.correlationId: Field required"),
        ({"to": {"kind": "phoneNumber"}}, "event 0: data.to.rawId: Field required"),
        ({"to": {"rawId": "555-0100"}}, "event 0: data.to.rawId: Value error, not an E.164 raw id"),
        ({"from": {"rawId": "4:+1" + "5" * 100_000}}, "event 0: data.from.rawId: String should have at most"),
        (
            {"from": {"rawId": "4:+14255550123", "phoneNumber": {"value": "12"}}},
            "data.from.phoneNumber.value",
        ),
        (
            {"incomingCallContext": "x" * 40_000},
            "event 0: data.incomingCallContext: String should have at most",
        ),
        (
            {"incomingCallContext": "two words"},
            "data.incomingCallContext: Value error, must be printable ASCII",
        ),
        ({"correlationId": "c" * 129}, "event 0: data.correlationId: String should have at most 128"),
        ({"callerDisplayName": 42}, "event 0: data.callerDisplayName: Value error, must be a string"),
    ],
)
def test_malformed_incoming_calls_are_refused_naming_the_event_and_field(
    data: dict[str, Any], where: str
) -> None:
    error = rejected([incoming_call(**data)])
    assert error.status == 400
    assert where in str(error)
    assert "55555" not in str(error)  # the offending value is never echoed


def test_one_bad_event_rejects_the_delivery_naming_its_index() -> None:
    error = rejected([incoming_call(), incoming_call(), incoming_call(to={"rawId": "nope"})])
    assert str(error).startswith("event 2: data.to.rawId")
    assert "event 1: eventType: Field required" in str(rejected([incoming_call(), {"data": {}}]))


@pytest.mark.parametrize(
    "raw_id",
    ["4:+14255550123", "4:anonymous", "4:+14255550123_207ffef6-9444-41fb-92ab-20eacaae2768",
     "8:acs:1bdaa2b9-9507-4542-bb64-a7b22c00a8d4_00000020-1c2a-4ac5-9f7a-5a3a0d00ad00",
     "8:orgid:2dee18ea-3e9a-4d1b-9b44-f5c8c2c4c1a2", "28:orgid:00000000-0000-0000-0000-000000000abc"],
)  # fmt: skip
def test_caller_ids_acs_sends_are_accepted(raw_id: str) -> None:
    delivery = parse_event_grid_delivery([incoming_call(**{"from": {"rawId": raw_id}})])
    assert delivery.incoming_calls[0].data.from_.display == raw_id


def test_display_names_are_trimmed_and_stripped_of_control_characters() -> None:
    long_name = "Ada\x00 \u202eLovelace\r\n\tX" + "y" * 200
    cleaned = parse_event_grid_delivery([incoming_call(callerDisplayName=long_name)])
    name = cleaned.incoming_calls[0].data.caller_display_name
    assert name.startswith("Ada Lovelace Xyyy") and len(name) == DISPLAY_NAME_MAX
    assert clean_display_name("\x07\x1b[31m  ") == "[31m"
    assert clean_display_name(None) == ""
    missing = parse_event_grid_delivery([incoming_call(callerDisplayName=None)])
    assert missing.incoming_calls[0].data.caller_display_name == ""


def test_the_validation_handshake_and_unknown_events() -> None:
    handshake = {
        "id": "v",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "512d38b6"},
    }
    assert parse_event_grid_delivery([handshake]).validation is not None
    no_code = copy.deepcopy(handshake)
    del no_code["data"]["validationCode"]
    assert "event 0: data.validationCode: Field required" in str(rejected([no_code]))
    other = parse_event_grid_delivery([{"eventType": "Microsoft.Storage.BlobCreated", "data": {}}])
    assert other.ignored_types == ["Microsoft.Storage.BlobCreated"] and not other.incoming_calls


def test_callbacks_name_the_bad_event() -> None:
    assert [e.data.call_connection_id for e in parse_callback_delivery([callback("a"), callback("b")])] == [
        "a",
        "b",
    ]
    with pytest.raises(DeliveryError) as caught:
        parse_callback_delivery([callback(), {"type": "x", "data": {}}])
    assert caught.value.status == 400 and "event 1: data.callConnectionId: Field required" in str(
        caught.value
    )
