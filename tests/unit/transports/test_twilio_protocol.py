"""The Twilio Media Streams wire format through `TwilioMediaTransport`, message by message (DESIGN.md, "Wire facts":
Twilio Media Streams)."""

from __future__ import annotations

import base64

import numpy as np
import orjson
import pytest

from voice.audio.codecs import mulaw_decode, mulaw_encode
from voice.transports.base import AudioFrame, DtmfTone, MediaStarted
from voice.transports.twilio import TwilioMediaTransport


class ScriptedSocket:
    """A socket that hands out queued messages, then reports the peer closed; records what was sent."""

    def __init__(self, messages: list[object]) -> None:
        self._messages = [m if isinstance(m, str) else orjson.dumps(m).decode() for m in messages]
        self.sent: list[dict] = []
        self.closed: tuple[int, str] | None = None

    async def receive_text(self) -> str | None:
        return self._messages.pop(0) if self._messages else None

    async def send_text(self, data: str) -> None:
        self.sent.append(orjson.loads(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZ1",
    "start": {
        "accountSid": "AC1",
        "streamSid": "MZ1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": {"call_id": "abc"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}
CONNECTED = {"event": "connected", "protocol": "Call", "version": "1.0.0"}


def _tone(seconds: float, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def _media(ulaw: bytes, ts: int = 0, track: str = "inbound") -> dict:
    payload = base64.b64encode(ulaw).decode()
    media = {"track": track, "chunk": "1", "timestamp": str(ts), "payload": payload}
    return {"event": "media", "sequenceNumber": "2", "streamSid": "MZ1", "media": media}


async def _drain(transport: TwilioMediaTransport) -> list[object]:
    events = []
    while (event := await transport.receive()) is not None:
        events.append(event)
    return events


@pytest.mark.parametrize("rate", [16000, 24000])
async def test_start_then_media_gives_whole_pipeline_frames_of_the_callers_audio(rate: int) -> None:
    tone = _tone(1.0)
    chunks = [mulaw_encode(tone[i : i + 320]) for i in range(0, len(tone), 320)]  # 20 ms of mu-law each
    socket = ScriptedSocket([CONNECTED, START, *[_media(c, 20 * i) for i, c in enumerate(chunks)]])
    transport = TwilioMediaTransport(socket, sample_rate=rate)
    events = await _drain(transport)
    started = events[0]
    assert isinstance(started, MediaStarted) and started.sample_rate == rate
    assert started.subscription_id == "MZ1"
    assert (transport.stream_sid, transport.call_sid) == ("MZ1", "CA1")
    assert transport.custom_parameters == {"call_id": "abc"}
    frames = [e for e in events[1:] if isinstance(e, AudioFrame)]
    assert all(len(f.pcm) == rate // 50 * 2 for f in frames)
    assert len(frames) == 50  # 1 s, one pipeline frame per 20 ms payload
    pcm = np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm))
    peak_hz = np.argmax(spectrum) * rate / len(pcm)
    assert abs(peak_hz - 440) < 10  # the caller's tone, at the pipeline rate
    assert transport.stats.malformed_in == 0
    assert transport.stats.audio_frames_in == len(frames)


async def test_dtmf_and_stop() -> None:
    dtmf = {
        "event": "dtmf",
        "streamSid": "MZ1",
        "sequenceNumber": "5",
        "dtmf": {"track": "inbound_track", "digit": "7"},
    }
    stop = {"event": "stop", "streamSid": "MZ1", "stop": {"accountSid": "AC1", "callSid": "CA1"}}
    after_stop = _media(b"\xff" * 160)
    socket = ScriptedSocket([START, dtmf, stop, after_stop])
    transport = TwilioMediaTransport(socket, sample_rate=16000)
    events = await _drain(transport)
    assert events[1:] == [DtmfTone(digit="7")]
    assert transport.stopped
    assert await transport.receive() is None  # stop ends the stream: nothing after it is read


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ({"streamSid": "MZ1"}, "no event"),
        ({"event": "media", "media": {"payload": "!!!not base64"}}, "bad base64"),
        ({"event": "media", "media": {}}, "no payload"),
        ({"event": "media", "media": {"payload": ""}}, "empty payload"),
        ({"event": "media", "media": {"payload": "A" * 20_000}}, "payload too long"),
        ({"event": "dtmf", "dtmf": {"digit": "x"}}, "bad digit"),
        ({"event": "mark", "mark": {}}, "mark without name"),
        ({"event": "start", "start": {"streamSid": "MZ2"}}, "start without callSid/mediaFormat"),
        (
            {
                **START,
                "start": {
                    **START["start"],
                    "mediaFormat": {"encoding": "audio/x-alaw", "sampleRate": 8000, "channels": 1},
                },
            },  # type: ignore[dict-item]
            "second start, and a-law",
        ),
    ],
)
async def test_malformed_messages_are_counted_and_dropped(message: object, why: str) -> None:
    ok = _media(mulaw_encode(_tone(0.1)))
    socket = ScriptedSocket([START, message, ok])
    transport = TwilioMediaTransport(socket, sample_rate=16000)
    events = await _drain(transport)
    assert transport.stats.malformed_in == 1, why
    assert isinstance(events[0], MediaStarted) and any(isinstance(e, AudioFrame) for e in events[1:]), why


async def test_media_before_start_is_malformed_and_unknown_events_are_ignored() -> None:
    socket = ScriptedSocket([_media(b"\xff" * 160), {"event": "future-thing", "x": 1}, START])
    transport = TwilioMediaTransport(socket, sample_rate=16000)
    events = await _drain(transport)
    assert transport.stats.malformed_in == 1
    assert len(events) == 1 and isinstance(events[0], MediaStarted)


async def test_outbound_track_echo_is_not_the_caller() -> None:
    socket = ScriptedSocket([START, _media(mulaw_encode(_tone(0.2)), track="outbound")])
    transport = TwilioMediaTransport(socket, sample_rate=16000)
    events = await _drain(transport)
    assert len(events) == 1 and transport.stats.audio_frames_in == 0


async def test_outbound_media_is_mulaw_at_8k_with_marks_and_clear() -> None:
    socket = ScriptedSocket([START])
    transport = TwilioMediaTransport(socket, sample_rate=16000, mark_every_frames=5)
    assert isinstance(await transport.receive(), MediaStarted)
    tone = _tone(0.2, 16000)
    for i in range(0, len(tone), 640):
        await transport.send_audio(tone[i : i + 640])
    media = [m for m in socket.sent if m["event"] == "media"]
    marks = [m for m in socket.sent if m["event"] == "mark"]
    assert all(m["streamSid"] == "MZ1" for m in socket.sent)
    assert [m["mark"]["name"] for m in marks] == ["f5", "f10"]
    decoded = mulaw_decode(b"".join(base64.b64decode(m["media"]["payload"]) for m in media))
    assert [len(base64.b64decode(m["media"]["payload"])) for m in media] == [160] * 10  # 20 ms each
    assert len(decoded) // 2 == 1600  # 0.2 s at 8 kHz
    # A mark every 5 frames follows the 5th frame's media.
    assert socket.sent.index(marks[0]) == 5

    await transport.send_stop_audio()
    assert socket.sent[-1] == {"event": "clear", "streamSid": "MZ1"}
    assert transport.stats.stop_audio_out == 1


async def test_echoed_marks_count_what_was_played_and_cleared_marks_do_not() -> None:
    socket = ScriptedSocket([START])
    transport = TwilioMediaTransport(socket, sample_rate=16000, mark_every_frames=2)
    await transport.receive()
    for _ in range(6):  # marks f2, f4, f6
        await transport.send_audio(bytes(640))
    socket._messages = [orjson.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": "f2"}}).decode()]
    assert await transport.receive() is None
    assert transport.frames_played == 2
    transport.stopped = False
    await transport.send_stop_audio()  # f4 and f6 were not played: Twilio echoes them after the clear
    for _ in range(2):
        await transport.send_audio(bytes(640))  # f8
    socket._messages = [
        orjson.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": n}}).decode()
        for n in ("f4", "f6")
    ]
    await transport.receive()
    assert transport.frames_played == 2  # cleared marks say nothing was heard
    transport.stopped = False
    socket._messages = [orjson.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": "f8"}}).decode()]
    await transport.receive()
    assert transport.frames_played == 8


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _mark(name: str) -> str:
    return orjson.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": name}}).decode()


async def test_unplayed_frames_follow_the_marks_when_twilio_plays_slower_than_our_clock() -> None:
    clock = FakeClock()
    socket = ScriptedSocket([START])
    transport = TwilioMediaTransport(socket, sample_rate=16000, mark_every_frames=5, clock=clock)
    await transport.receive()
    for _ in range(10):  # a burst, sent ahead of playback
        await transport.send_audio(bytes(640))
    assert transport.unplayed_frames(clock.now) == 10
    clock.now += 0.100  # at real-time speed 5 frames could have played by now
    assert transport.unplayed_frames(clock.now) == 5
    clock.now += 0.200  # ... and all 10 by now, but Twilio stalled: only f5 came back
    socket._messages = [_mark("f5")]
    await transport.receive()
    assert transport.frames_played == 5
    assert transport.unplayed_frames(clock.now) == 5  # the 5 after the echo cannot have played yet
    clock.now += 0.060
    assert transport.unplayed_frames(clock.now) == 2

    await transport.send_stop_audio()  # a clear: nothing is left to play
    assert transport.unplayed_frames(clock.now) == 0


async def test_after_an_idle_gap_playback_restarts_with_the_next_frame() -> None:
    clock = FakeClock()
    socket = ScriptedSocket([START])
    transport = TwilioMediaTransport(socket, sample_rate=16000, mark_every_frames=5, clock=clock)
    await transport.receive()
    for _ in range(3):  # a short reply: no mark was due, none echoed
        await transport.send_audio(bytes(640))
    clock.now += 5.0
    await transport.send_audio(bytes(640))
    assert transport.unplayed_frames(clock.now) == 1  # only the new frame, not the old reply's tail
