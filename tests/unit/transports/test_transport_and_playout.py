"""AcsMediaTransport over an in-memory socket, and PacedPlayout's ordering and interruption."""

import asyncio
import base64
import time

import orjson

from voice.transports.acs import AcsMediaTransport
from voice.transports.base import AudioFrame, DtmfTone, MediaStarted
from voice.transports.playout import PacedPlayout


class ScriptedSocket:
    """A MediaSocket that replays inbound text and records what is sent."""

    def __init__(self, inbound: list[str]) -> None:
        self._inbound = list(inbound)
        self.sent: list[dict[str, object]] = []
        self.closed: tuple[int, str] | None = None

    async def receive_text(self) -> str | None:
        return self._inbound.pop(0) if self._inbound else None

    async def send_text(self, data: str) -> None:
        self.sent.append(orjson.loads(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


def _frame(pcm: bytes) -> str:
    return orjson.dumps(
        {"kind": "AudioData", "audioData": {"data": base64.b64encode(pcm).decode(), "silent": False}}
    ).decode()


async def test_transport_skips_and_counts_malformed_messages_then_keeps_going() -> None:
    socket = ScriptedSocket(
        [
            '{"kind":"AudioMetadata","audioMetadata":{"encoding":"PCM","sampleRate":24000,"channels":1,"length":960}}',
            "garbage",
            _frame(bytes(960)),
            '{"kind":"AudioData","audioData":{"data":"@@@"}}',
            '{"kind":"DtmfData","dtmfData":{"data":"7"}}',
        ]
    )
    transport = AcsMediaTransport(socket, sample_rate=16000)
    events = []
    while (event := await transport.receive()) is not None:
        events.append(event)
    assert [type(e) for e in events] == [MediaStarted, AudioFrame, DtmfTone]
    assert transport.sample_rate == 24000 and transport.frame_bytes == 960
    assert transport.stats.malformed_in == 2
    assert transport.stats.audio_frames_in == 1


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[bytes | str] = []

        self.first_frame = asyncio.Event()

    async def send_audio(self, frame: bytes) -> None:
        self.sent.append(frame)
        self.first_frame.set()

    async def send_stop_audio(self) -> None:
        self.sent.append("stop")


async def test_playout_sends_whole_frames_in_order_and_pads_the_tail() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=50)  # lead > utterance: no waiting in the test
    runner = asyncio.create_task(playout.run())
    pcm = b"".join(bytes([i]) * 640 for i in range(1, 5)) + b"\x09" * 100
    playout.enqueue(pcm)
    playout.end_utterance()
    await asyncio.wait_for(playout.wait_idle(), timeout=5)
    runner.cancel()
    assert len(sink.sent) == 5
    assert all(isinstance(f, bytes) and len(f) == 640 for f in sink.sent)
    assert [f[0] for f in sink.sent] == [1, 2, 3, 4, 9]  # type: ignore[index]
    assert sink.sent[-1][100:] == bytes(540)  # type: ignore[index]


async def test_interrupt_drops_queued_audio_and_sends_stop_audio() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=1)
    runner = asyncio.create_task(playout.run())
    playout.enqueue(bytes(640 * 100))  # 2 s of audio
    await asyncio.wait_for(sink.first_frame.wait(), timeout=5)
    assert await playout.interrupt() is True
    sent_at_interrupt = len(sink.sent)
    await asyncio.sleep(0.1)
    runner.cancel()
    assert sink.sent[-1] == "stop"
    assert len(sink.sent) == sent_at_interrupt  # nothing sent after StopAudio
    assert sent_at_interrupt < 100


async def test_interrupt_when_silent_sends_nothing() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640)
    assert await playout.interrupt() is False
    assert sink.sent == []


async def test_pause_sends_stop_audio_and_resume_replays_from_the_first_unheard_frame() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=3)
    runner = asyncio.create_task(playout.run())
    playout.enqueue(b"".join(bytes([i]) * 640 for i in range(1, 41)))  # 40 numbered frames, 0.8 s
    playout.end_utterance()
    await asyncio.sleep(0.2)
    assert await playout.pause() is True
    assert sink.sent[-1] == "stop"
    heard = playout.frames_sent  # frames that started playing before the pause
    await asyncio.sleep(0.1)
    assert sink.sent[-1] == "stop"  # quiet while paused
    playout.resume()
    await asyncio.wait_for(playout.wait_idle(), timeout=5)
    runner.cancel()
    after = [f[0] for f in sink.sent[sink.sent.index("stop") + 1 :]]  # type: ignore[index]
    # StopAudio flushed the frames still in flight; they are sent again, so nothing is skipped or doubled
    # from the caller's point of view: playback carries on at the frame after the last one heard.
    assert after == list(range(heard + 1, 41))
    assert playout.frames_sent == 40


async def test_pause_mid_utterance_after_a_stall_still_sends_stop_audio() -> None:
    now = [0.0]
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=1, clock=lambda: now[0])
    runner = asyncio.create_task(playout.run())
    playout.enqueue(bytes(640 * 50))
    await asyncio.wait_for(sink.first_frame.wait(), timeout=5)
    now[0] = 1.0  # the loop stalled: by our clock everything sent has played, with most of the reply queued
    assert await playout.pause() is True
    runner.cancel()
    assert sink.sent[-1] == "stop" and playout.paused


async def test_interrupt_after_a_pause_sends_no_second_stop_audio() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=1)
    runner = asyncio.create_task(playout.run())
    playout.enqueue(bytes(640 * 50))
    await asyncio.wait_for(sink.first_frame.wait(), timeout=5)
    assert await playout.pause() is True
    assert await playout.interrupt() is False
    runner.cancel()
    assert sink.sent.count("stop") == 1
    assert not playout.paused and playout.pending_bytes == 0


async def test_a_stalled_loop_mid_utterance_counts_an_underrun() -> None:
    underruns: list[int] = []
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=1, on_underrun=lambda: underruns.append(1))
    runner = asyncio.create_task(playout.run())
    playout.enqueue(bytes(640 * 20))
    await asyncio.wait_for(sink.first_frame.wait(), timeout=5)
    time.sleep(0.1)  # noqa: ASYNC251 - deliberately stall the loop: the caller's buffer runs dry
    await asyncio.wait_for(playout.wait_idle(), timeout=5)
    runner.cancel()
    assert underruns


class ReportingSink:
    """A sink whose far end reports frames it has not played (as Twilio's marks do)."""

    def __init__(self) -> None:
        self.unplayed = 0

    async def send_audio(self, frame: bytes) -> None:
        pass

    async def send_stop_audio(self) -> None:
        pass

    def unplayed_frames(self, now: float) -> int:
        return self.unplayed


def test_audible_until_waits_for_what_the_far_end_reports_unplayed() -> None:
    now = [50.0]
    sink = ReportingSink()
    playout = PacedPlayout(sink, frame_bytes=640, clock=lambda: now[0])
    assert playout.audible_until == 50.0  # our clock: nothing scheduled
    sink.unplayed = 7  # the far end stalled: 7 frames sent are still to play
    assert abs(playout.audible_until - (50.0 + 7 * 0.020)) < 1e-9
    assert PacedPlayout(RecordingSink(), frame_bytes=640, clock=lambda: now[0]).audible_until == 0.0


async def test_waiting_for_the_playout_to_go_idle_ends_when_the_queue_is_dropped() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640)  # not running: nothing is sent, the queue stays
    playout.enqueue(bytes(640 * 3))
    waiting = asyncio.create_task(playout.wait_idle())
    await asyncio.sleep(0)
    assert not waiting.done()
    await playout.interrupt()
    await asyncio.wait_for(waiting, timeout=5)
    assert playout.pending_bytes == 0


async def test_two_waits_for_idle_are_independent_and_one_cancelled_leaves_the_other() -> None:
    sink = RecordingSink()
    playout = PacedPlayout(sink, frame_bytes=640, lead_frames=50)
    playout.enqueue(bytes(640 * 4))
    first, second = asyncio.create_task(playout.wait_idle()), asyncio.create_task(playout.wait_idle())
    await asyncio.sleep(0)
    first.cancel()
    runner = asyncio.create_task(playout.run())
    await asyncio.wait_for(second, timeout=5)
    runner.cancel()
    assert first.cancelled() and sink.sent == [bytes(640)] * 4
