"""The simulator's wire shapes match the wire facts in docs/architecture.md and what the 1.6 SDK parses."""

from __future__ import annotations

import base64

import orjson
import pytest
from azure.communication.callautomation._generated.models import (
    CallConnectionProperties as GeneratedProperties,
)
from azure.communication.callautomation._models import CallConnectionProperties

from apps.acs_simulator import events as ev
from apps.acs_simulator.media_messages import (
    AgentAudio,
    AgentStopAudio,
    AudioDataMessage,
    MalformedMessage,
    audio_data_json,
    audio_metadata_json,
    dtmf_json,
    frame_bytes,
    parse_outbound,
)
from apps.acs_simulator.rest_models import (
    CallConnectionPropertiesModel,
    CommunicationIdentifierModel,
    MediaStreamingSubscriptionModel,
    PhoneNumberModel,
)


def test_subscription_validation_event_has_the_event_grid_schema():
    event = ev.subscription_validation_event().wire()
    assert set(event) == {
        "id",
        "topic",
        "subject",
        "data",
        "eventType",
        "eventTime",
        "metadataVersion",
        "dataVersion",
    }
    assert event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
    assert set(event["data"]) == {"validationCode", "validationUrl"}
    assert (event["metadataVersion"], event["dataVersion"]) == ("1", "1")


def test_incoming_call_event_carries_what_the_backend_needs():
    event = ev.incoming_call_event(
        to_number="+18005550100",
        from_number="+14255550123",
        server_call_id="server-1",
        caller_display_name="Pat",
        incoming_call_context="ctx",
        correlation_id="corr-1",
    ).wire()
    assert event["eventType"] == "Microsoft.Communication.IncomingCall"
    assert event["data"] == {
        "to": {"kind": "phoneNumber", "rawId": "4:+18005550100", "phoneNumber": {"value": "+18005550100"}},
        "from": {"kind": "phoneNumber", "rawId": "4:+14255550123", "phoneNumber": {"value": "+14255550123"}},
        "serverCallId": "server-1",
        "callerDisplayName": "Pat",
        "incomingCallContext": "ctx",
        "correlationId": "corr-1",
    }
    assert event["eventTime"].endswith("Z")


def test_callback_is_a_cloudevent_with_call_automation_data():
    event = ev.call_event(
        ev.CALL_CONNECTED,
        call_connection_id="cc-1",
        server_call_id="s-1",
        correlation_id="c-1",
        operation_context="op",
    ).wire()
    assert set(event) == {"id", "source", "type", "specversion", "time", "datacontenttype", "subject", "data"}
    assert event["source"] == event["subject"] == "calling/callConnections/cc-1"
    assert (event["type"], event["specversion"], event["datacontenttype"]) == (
        "Microsoft.Communication.CallConnected",
        "1.0",
        "application/json",
    )
    assert event["data"] == {
        "callConnectionId": "cc-1",
        "serverCallId": "s-1",
        "correlationId": "c-1",
        "operationContext": "op",
        "version": "2026-03-12",
        "publicEventType": "Microsoft.Communication.CallConnected",
        "resultInformation": {"code": 200, "subCode": 0, "message": "Action completed successfully."},
    }


def test_call_connection_properties_parse_with_the_sdk():
    caller = CommunicationIdentifierModel.phone("+14255550123")
    body = CallConnectionPropertiesModel(
        call_connection_id="cc-1",
        server_call_id="s-1",
        targets=[CommunicationIdentifierModel.phone("+18005550100")],
        call_connection_state="connecting",
        callback_uri="http://127.0.0.1:8000/cb",
        source=caller,
        correlation_id="c-1",
        answered_for=PhoneNumberModel(value="+18005550100"),
        media_streaming_subscription=MediaStreamingSubscriptionModel(id="sub-1", state="inactive"),
    ).wire()
    props = CallConnectionProperties._from_generated(GeneratedProperties.deserialize(body))
    assert props.call_connection_id == "cc-1"
    assert props.callback_url == "http://127.0.0.1:8000/cb"
    assert props.source.raw_id == "4:+14255550123"
    assert props.targets[0].properties["value"] == "+18005550100"
    assert props.media_streaming_subscription.id == "sub-1"


@pytest.mark.parametrize(("rate", "length"), [(16000, 640), (24000, 960)])
def test_audio_metadata_is_exactly_the_acs_shape(rate, length):
    assert frame_bytes(rate) == length
    assert orjson.loads(audio_metadata_json("sub-1", rate)) == {
        "kind": "AudioMetadata",
        "audioMetadata": {
            "subscriptionId": "sub-1",
            "encoding": "PCM",
            "sampleRate": rate,
            "channels": 1,
            "length": length,
        },
    }


def test_audio_data_fast_path_matches_the_model():
    pcm = bytes(range(256)) * 2 + bytes(128)
    raw = audio_data_json("2026-01-01T00:00:00.020Z", "4:+14255550123", pcm, False)
    parsed = orjson.loads(raw)
    assert parsed == {
        "kind": "AudioData",
        "audioData": {
            "timestamp": "2026-01-01T00:00:00.020Z",
            "participantRawID": "4:+14255550123",
            "data": base64.b64encode(pcm).decode(),
            "silent": False,
        },
    }
    assert AudioDataMessage.model_validate(parsed).wire() == parsed


def test_dtmf_message():
    assert orjson.loads(dtmf_json("3")) == {"kind": "DtmfData", "dtmfData": {"data": "3"}}


@pytest.mark.parametrize(
    "message",
    [
        {"Kind": "AudioData", "AudioData": {"Data": "AAABAA=="}, "StopAudio": None},
        {"kind": "AudioData", "audioData": {"data": "AAABAA=="}},
        {"kind": "audioData", "audioData": {"data": "AAABAA=="}, "stopAudio": None},
    ],
)
def test_outbound_audio_in_pascal_or_camel_case(message):
    assert parse_outbound(orjson.dumps(message)) == AgentAudio(b"\x00\x00\x01\x00")


@pytest.mark.parametrize(
    "message",
    [{"Kind": "StopAudio", "AudioData": None, "StopAudio": {}}, {"kind": "stopAudio", "stopAudio": {}}],
)
def test_outbound_stop_audio(message):
    assert parse_outbound(orjson.dumps(message)) == AgentStopAudio()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"Kind": "AudioData"}',
        b'{"Kind": "AudioData", "AudioData": {"Data": "%%%"}}',
        b'{"Kind": "AudioData", "AudioData": {"Data": "AAAA"}}',  # 3 bytes: not whole samples
        b'{"Kind": "Mystery"}',
    ],
)
def test_malformed_outbound_messages_are_reported(raw):
    with pytest.raises(MalformedMessage):
        parse_outbound(raw)


def test_add_participant_response_and_events_parse_with_the_sdk():
    from azure.communication.callautomation._generated.models import (
        AddParticipantFailed,
        AddParticipantResponse,
        AddParticipantSucceeded,
    )

    from apps.acs_simulator.rest_models import AddParticipantResponse as SimResponse
    from apps.acs_simulator.rest_models import CallParticipantModel

    human = CommunicationIdentifierModel.phone("+18005550199")
    body = SimResponse(
        participant=CallParticipantModel(identifier=human), operation_context="op", invitation_id="inv-1"
    ).wire()
    response = AddParticipantResponse.deserialize(body)
    assert (response.invitation_id, response.operation_context) == ("inv-1", "op")
    assert response.participant.identifier.raw_id == "4:+18005550199"
    for event_type, model in (
        (ev.ADD_PARTICIPANT_SUCCEEDED, AddParticipantSucceeded),
        (ev.ADD_PARTICIPANT_FAILED, AddParticipantFailed),
    ):
        data = ev.call_event(
            event_type,
            call_connection_id="cc-1",
            server_call_id="s-1",
            correlation_id="c-1",
            operation_context="op",
            participant=human,
        ).wire()["data"]
        parsed = model.deserialize(data)
        assert parsed.participant.raw_id == "4:+18005550199" and parsed.operation_context == "op"
