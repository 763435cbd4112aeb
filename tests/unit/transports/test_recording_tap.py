"""RecordingTap: agent audio is placed where the far end plays it, and a StopAudio drops what was sent but not
yet heard, so the agent channel holds exactly what the caller heard."""

from __future__ import annotations

from voice.transports.base import AudioFrame, InboundMedia, MediaStarted, PlaybackReport, TransportStats
from voice.transports.recording_tap import RecordingTap, recording_tap

RATE = 16000
FRAME = bytes(640)  # 20 ms at 16 kHz


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Channel:
    """The far end, as far as the tap sees it: scripted inbound events; outbound is just counted."""

    def __init__(self, inbound: list[InboundMedia]) -> None:
        self.sample_rate = RATE
        self.frame_bytes = 640
        self.stats = TransportStats()
        self._inbound = inbound
        self.sent = 0
        self.stops = 0

    async def receive(self) -> InboundMedia | None:
        return self._inbound.pop(0) if self._inbound else None

    async def send_audio(self, frame: bytes) -> None:
        self.sent += 1

    async def send_stop_audio(self) -> None:
        self.stops += 1

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


class Tape:
    def __init__(self) -> None:
        self.rate: int | None = None
        self.caller: list[tuple[int, int]] = []
        self.agent: list[tuple[int, int]] = []
        self.cuts: list[int] = []

    def started(self, sample_rate: int) -> None:
        self.rate = sample_rate

    def caller_audio(self, position: int, pcm: bytes) -> None:
        self.caller.append((position, len(pcm) // 2))

    def agent_audio(self, position: int, pcm: bytes) -> None:
        self.agent.append((position, len(pcm) // 2))

    def agent_cut(self, position: int) -> None:
        self.cuts.append(position)


async def test_agent_audio_follows_the_far_ends_playback_and_a_stop_cuts_what_was_not_heard() -> None:
    clock, tape = Clock(), Tape()
    channel = Channel([MediaStarted(RATE, 1, 640, None), AudioFrame(FRAME, False, None, None)])
    tap = RecordingTap(channel, tape, clock=clock)
    assert isinstance(await tap.receive(), MediaStarted) and tape.rate == RATE
    await tap.receive()
    assert tape.caller == [(0, 320)]

    clock.now += 1.0  # one second into the call the agent sends three frames at once (the playout's lead)
    for _ in range(3):
        await tap.send_audio(FRAME)
    assert tape.agent == [(16000, 320), (16320, 320), (16640, 320)]  # back to back from now

    clock.now += 0.030  # 30 ms later the caller barges in: the rest of what was sent is never heard
    await tap.send_stop_audio()
    assert channel.stops == 1 and tape.cuts == [16480]

    clock.now += 0.5
    await tap.send_audio(FRAME)  # the next reply starts from now, not after the dropped frames
    assert tape.agent[-1] == (16480 + 8000, 320)


async def test_a_stop_with_nothing_playing_cuts_nothing() -> None:
    clock, tape = Clock(), Tape()
    tap = RecordingTap(Channel([AudioFrame(FRAME, False, None, None)]), tape, clock=clock)
    await tap.receive()
    await tap.send_audio(FRAME)
    clock.now += 1.0
    await tap.send_stop_audio()
    assert tape.cuts == [] and tape.rate == RATE


class ReportingChannel(Channel):
    """A far end that says how much of what it was sent it has not played yet (Twilio's marks)."""

    def __init__(self, inbound: list[InboundMedia]) -> None:
        super().__init__(inbound)
        self.unplayed = 0

    def unplayed_frames(self, now: float) -> int:
        return self.unplayed


async def test_a_reporting_channel_keeps_its_report_through_the_tap_and_a_cut_drops_what_it_never_played() -> (
    None
):
    clock, tape = Clock(), Tape()
    channel = ReportingChannel([AudioFrame(FRAME, False, None, None)])
    tap = recording_tap(channel, tape, clock=clock)
    assert isinstance(tap, PlaybackReport)  # the playout still reads the far end's report
    assert not isinstance(recording_tap(Channel([]), Tape(), clock=clock), PlaybackReport)
    await tap.receive()
    clock.now += 1.0
    for _ in range(3):
        await tap.send_audio(FRAME)
    channel.unplayed = 3
    assert tap.unplayed_frames(clock.now) == 3

    # 30 ms on, the clock alone would say one and a half frames were heard; the far end says none were.
    clock.now += 0.030
    await tap.send_stop_audio()
    assert channel.stops == 1 and tape.cuts == [16000]
