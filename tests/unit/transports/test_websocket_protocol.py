"""The browser voice WebSocket protocol, message by message (`voice.transports.websocket`)."""

from __future__ import annotations

import json

import pytest

from voice.transports.base import AudioFrame, DtmfTone, MediaStarted
from voice.transports.websocket import (
    DtmfMessage,
    MalformedMessage,
    StartMessage,
    StopMessage,
    WebSocketVoiceTransport,
    check_audio,
    decode_control,
)


class ScriptedSocket:
    """A DuplexSocket that replays inbound messages and records what the transport sends."""

    def __init__(self, inbound: list[str | bytes]) -> None:
        self.inbound = list(inbound)
        self.sent: list[str | bytes] = []
        self.closed: tuple[int, str] | None = None

    async def receive_message(self) -> str | bytes | None:
        return self.inbound.pop(0) if self.inbound and self.closed is None else None

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


def test_control_messages_decode_to_their_models() -> None:
    assert decode_control('{"type":"start","sample_rate":24000}') == StartMessage(
        type="start", sample_rate=24000
    )
    assert decode_control('{"type":"dtmf","digits":"48#"}') == DtmfMessage(type="dtmf", digits="48#")
    assert decode_control('{"type":"stop"}') == StopMessage(type="stop")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{oops", "not JSON"),
        ("[1]", "bad control message"),
        ('{"type":"dance"}', "bad control message"),
        ('{"type":"start","sample_rate":"fast"}', "bad control message: start.sample_rate"),
        ('{"type":"stop","extra":1}', "bad control message: stop.extra"),
        ('{"type":"dtmf","digits":""}', "bad control message: dtmf.digits"),
        ('{"type":"dtmf","digits":"12x"}', "dtmf digits must be"),
        ('{"type":"stop","pad":"' + "x" * 9000 + '"}', "text message over 8192 bytes"),
    ],
)
def test_bad_control_messages_are_malformed_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(MalformedMessage) as raised:
        decode_control(text)
    assert str(raised.value).startswith(reason)


def test_audio_must_be_whole_samples_and_at_most_a_second() -> None:
    assert check_audio(bytes(640), 16000) == bytes(640)
    assert check_audio(bytes(32000), 16000) == bytes(32000)
    for bad, too_big in ((b"", False), (bytes(641), False), (bytes(32002), True)):
        with pytest.raises(MalformedMessage) as raised:
            check_audio(bad, 16000)
        assert raised.value.too_big is too_big


@pytest.mark.parametrize(
    ("magic", "container"),
    [(b"\x1aE\xdf\xa3", "WebM"), (b"OggS", "Ogg"), (b"RIFF", "WAV"), (b"fLaC", "FLAC")],
)
def test_an_encoded_container_is_not_pcm(magic: bytes, container: str) -> None:
    with pytest.raises(MalformedMessage) as raised:
        check_audio(magic + bytes(636), 16000)
    assert str(raised.value) == f"audio must be raw PCM16 samples, not {container}"
    assert not raised.value.too_big
    assert check_audio(bytes(4) + magic + bytes(632), 16000)  # the same bytes inside a frame are samples


async def test_start_audio_and_keys_become_media_events() -> None:
    socket = ScriptedSocket(
        [
            json.dumps({"type": "start", "sample_rate": 24000}),
            bytes(960),
            json.dumps({"type": "dtmf", "digits": "4#"}),
        ]
    )
    transport = WebSocketVoiceTransport(socket)
    started = await transport.receive()
    assert started == MediaStarted(sample_rate=24000, channels=1, frame_bytes=960, subscription_id=None)
    assert (transport.sample_rate, transport.frame_bytes) == (24000, 960)
    frame = await transport.receive()
    assert isinstance(frame, AudioFrame) and frame.pcm == bytes(960)
    assert [await transport.receive(), await transport.receive()] == [DtmfTone("4"), DtmfTone("#")]
    assert await transport.receive() is None
    assert (transport.stats.messages_in, transport.stats.audio_frames_in, transport.stats.malformed_in) == (
        3,
        1,
        0,
    )


async def test_malformed_messages_are_answered_counted_and_skipped() -> None:
    socket = ScriptedSocket([b"\x00", "{oops", bytes(640)])
    transport = WebSocketVoiceTransport(socket)
    frame = await transport.receive()
    assert isinstance(frame, AudioFrame) and transport.stats.malformed_in == 2
    assert [json.loads(m) for m in socket.sent if isinstance(m, str)] == [
        {"type": "error", "source": "protocol", "message": "audio is not whole PCM16 samples"},
        {"type": "error", "source": "protocol", "message": "not JSON"},
    ]
    assert socket.closed is None


async def test_an_unsupported_rate_closes_1003_and_stop_closes_1000() -> None:
    socket = ScriptedSocket([json.dumps({"type": "start", "sample_rate": 8000}), bytes(640)])
    transport = WebSocketVoiceTransport(socket)
    assert await transport.receive() is None
    assert socket.closed == (1003, "unsupported sample_rate 8000: 16000 or 24000")
    stop = ScriptedSocket([json.dumps({"type": "stop"}), bytes(640)])
    stopped = WebSocketVoiceTransport(stop)
    assert await stopped.receive() is None
    assert stop.closed == (1000, "stopped by the client") and stopped.close_reason == "stopped by the client"


async def test_the_rate_cannot_change_after_audio_started() -> None:
    socket = ScriptedSocket([bytes(640), json.dumps({"type": "start", "sample_rate": 24000}), bytes(640)])
    transport = WebSocketVoiceTransport(socket)
    assert isinstance(await transport.receive(), AudioFrame)
    assert isinstance(await transport.receive(), AudioFrame)
    assert transport.stats.malformed_in == 1 and transport.sample_rate == 16000


@pytest.mark.parametrize(("message", "code"), [(b"\x00", 1008), (bytes(40000), 1009)])
async def test_a_flood_of_malformed_messages_closes(message: bytes, code: int) -> None:
    socket = ScriptedSocket([message] * 30)
    transport = WebSocketVoiceTransport(socket, max_malformed=5)
    assert await transport.receive() is None
    assert socket.closed is not None and socket.closed[0] == code
    assert transport.stats.malformed_in == 5


async def test_agent_audio_is_binary_and_a_clear_is_json() -> None:
    socket = ScriptedSocket([])
    transport = WebSocketVoiceTransport(socket)
    await transport.send_audio(bytes(640))
    await transport.send_stop_audio()
    assert socket.sent == [bytes(640), '{"type":"clear"}']
    assert (transport.stats.audio_frames_out, transport.stats.stop_audio_out) == (1, 1)
