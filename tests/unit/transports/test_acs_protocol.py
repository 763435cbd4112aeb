"""The ACS media wire format, message by message (docs/architecture.md, "Wire facts": ACS media WebSocket)."""

import base64

import orjson
import pytest

from voice.transports.acs import (
    MalformedMessage,
    OutboundMessage,
    decode_inbound,
    encode_audio,
    encode_stop_audio,
)
from voice.transports.base import AudioFrame, DtmfTone, MediaStarted


def _audio(data: bytes, **extra: object) -> str:
    payload = {
        "timestamp": "2026-11-21T10:00:00.000Z",
        "participantRawID": "4:+15550100",
        "data": base64.b64encode(data).decode(),
        "silent": False,
    }
    payload.update(extra)
    return orjson.dumps({"kind": "AudioData", "audioData": payload}).decode()


def test_audio_metadata_starts_media_at_its_rate() -> None:
    message = {
        "kind": "AudioMetadata",
        "audioMetadata": {
            "subscriptionId": "s1",
            "encoding": "PCM",
            "sampleRate": 24000,
            "channels": 1,
            "length": 960,
        },
    }
    event = decode_inbound(orjson.dumps(message), frame_bytes=640)
    assert event == MediaStarted(sample_rate=24000, channels=1, frame_bytes=960, subscription_id="s1")


def test_audio_data_is_decoded_to_pcm() -> None:
    pcm = bytes(range(256)) * 2 + bytes(128)
    event = decode_inbound(_audio(pcm), frame_bytes=640)
    assert isinstance(event, AudioFrame)
    assert event.pcm == pcm and not event.silent and event.participant == "4:+15550100"


def test_silent_frame_without_data_becomes_a_zero_frame() -> None:
    message = orjson.dumps({"kind": "AudioData", "audioData": {"silent": True}})
    event = decode_inbound(message, frame_bytes=640)
    assert isinstance(event, AudioFrame) and event.silent and event.pcm == bytes(640)


def test_dtmf_digit() -> None:
    assert decode_inbound('{"kind":"DtmfData","dtmfData":{"data":"#"}}', frame_bytes=640) == DtmfTone("#")


def test_pascal_case_is_accepted_too() -> None:
    message = orjson.dumps(
        {"Kind": "AudioData", "AudioData": {"data": base64.b64encode(bytes(640)).decode()}}
    )
    assert isinstance(decode_inbound(message, frame_bytes=640), AudioFrame)


def test_unknown_kind_is_ignored_not_an_error() -> None:
    assert decode_inbound('{"kind":"TranscriptionData","transcriptionData":{}}', frame_bytes=640) is None


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[1,2]",
        '{"audioData":{}}',
        '{"kind":"AudioData"}',
        '{"kind":"AudioData","audioData":{"data":"***"}}',
        '{"kind":"AudioData","audioData":{"data":"AAEC"}}',  # 3 bytes
        '{"kind":"AudioMetadata","audioMetadata":{"encoding":"PCM","sampleRate":8000,"channels":1}}',
        '{"kind":"DtmfData","dtmfData":{"data":"12"}}',
    ],
)
def test_malformed_messages_raise(raw: str) -> None:
    with pytest.raises(MalformedMessage):
        decode_inbound(raw, frame_bytes=640)


def test_outbound_audio_matches_the_documented_shape() -> None:
    pcm = bytes(range(200))
    message = orjson.loads(encode_audio(pcm))
    assert message == {
        "Kind": "AudioData",
        "AudioData": {"Data": base64.b64encode(pcm).decode()},
        "StopAudio": None,
    }
    OutboundMessage.model_validate(message)


def test_outbound_stop_audio_matches_the_documented_shape() -> None:
    assert orjson.loads(encode_stop_audio()) == {"Kind": "StopAudio", "AudioData": None, "StopAudio": {}}


@pytest.mark.parametrize("frame_bytes", [640, 960])
def test_a_frame_of_digital_silence_decodes_to_zeros_of_its_own_length(frame_bytes: int) -> None:
    for size in (frame_bytes, frame_bytes // 2):  # the expected length (no base64 decode), and another one
        event = decode_inbound(_audio(bytes(size)), frame_bytes=frame_bytes)
        assert isinstance(event, AudioFrame) and event.pcm == bytes(size) and not event.silent
        assert event.participant == "4:+15550100" and event.timestamp == "2026-11-21T10:00:00.000Z"
