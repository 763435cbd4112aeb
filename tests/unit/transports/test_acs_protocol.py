"""The ACS media wire format, message by message (docs/architecture.md, "Wire facts": ACS media WebSocket)."""

import base64

import orjson
import pytest

from voice.transports.acs import (
    MAX_CHUNK_FRAMES,
    AcsMediaTransport,
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


class _BufferedSocket:
    """A `BufferedMediaSocket` over a list of messages arriving in `groups`: the messages of a group are in
    together (`receive_buffered` hands over the rest of the group the last `receive_text` opened)."""

    def __init__(self, messages: list[str], groups: list[int]) -> None:
        assert sum(groups) == len(messages)
        self.messages = messages
        self.groups = groups
        self.left_in_group = 0

    async def receive_text(self) -> str | None:
        if not self.messages:
            return None
        if self.left_in_group:
            self.left_in_group -= 1
        else:
            self.left_in_group = self.groups.pop(0) - 1
        return self.messages.pop(0)

    def receive_buffered(self) -> str | None:
        if self.left_in_group == 0:
            return None
        self.left_in_group -= 1
        return self.messages.pop(0)

    async def send_text(self, data: str) -> None:
        raise AssertionError("not sent")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


async def test_audio_frames_already_in_come_up_as_one_chunk_in_order() -> None:
    first = _audio(b"\x01\x00" * 320, timestamp="2026-11-21T10:00:00.000Z")
    second = _audio(b"\x02\x00" * 320, timestamp="2026-11-21T10:00:00.020Z")
    third = _audio(b"\x03\x00" * 320)
    socket = _BufferedSocket([first, second, third], groups=[2, 1])
    transport = AcsMediaTransport(socket, sample_rate=16000)
    chunk = await transport.receive()
    assert isinstance(chunk, AudioFrame)
    assert chunk.frames == 2 and chunk.pcm == b"\x01\x00" * 320 + b"\x02\x00" * 320
    assert chunk.timestamp == "2026-11-21T10:00:00.000Z" and not chunk.silent
    alone = await transport.receive()  # not in yet when the chunk was taken: on its own
    assert isinstance(alone, AudioFrame) and alone.frames == 1 and alone.pcm == b"\x03\x00" * 320
    assert transport.stats.audio_frames_in == 3 and transport.stats.messages_in == 3


async def test_a_chunk_stops_at_a_key_press_which_comes_up_next_and_skips_malformed_frames() -> None:
    frame = _audio(b"\x01\x00" * 320)
    dtmf = '{"kind":"DtmfData","dtmfData":{"data":"5"}}'
    socket = _BufferedSocket([frame, "{broken", frame, dtmf, frame], groups=[5])
    transport = AcsMediaTransport(socket, sample_rate=16000)
    chunk = await transport.receive()
    assert isinstance(chunk, AudioFrame) and chunk.frames == 2  # the malformed message between is dropped
    assert await transport.receive() == DtmfTone(digit="5")
    last = await transport.receive()
    assert isinstance(last, AudioFrame) and last.frames == 1
    assert await transport.receive() is None
    assert transport.stats.malformed_in == 1


async def test_a_call_that_fell_behind_catches_up_in_chunks_of_at_most_the_cap() -> None:
    frames = [_audio(bytes([k, 0]) * 320) for k in range(MAX_CHUNK_FRAMES + 2)]
    transport = AcsMediaTransport(_BufferedSocket(frames, groups=[len(frames)]), sample_rate=16000)
    sizes = []
    while (chunk := await transport.receive()) is not None:
        assert isinstance(chunk, AudioFrame)
        sizes.append(chunk.frames)
    assert sizes == [MAX_CHUNK_FRAMES, 2]


async def test_silent_only_when_every_frame_of_the_chunk_is() -> None:
    quiet = _audio(b"", silent=True)
    loud = _audio(b"\x01\x00" * 320)
    transport = AcsMediaTransport(
        _BufferedSocket([quiet, quiet, quiet, loud], groups=[2, 2]), sample_rate=16000
    )
    both_quiet, mixed = await transport.receive(), await transport.receive()
    assert isinstance(both_quiet, AudioFrame) and both_quiet.silent and both_quiet.pcm == bytes(1280)
    assert isinstance(mixed, AudioFrame) and not mixed.silent and mixed.frames == 2
