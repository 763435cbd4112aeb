"""The caller's script rendered into 20 ms frames, and the agent playout (what the caller hears)."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import (
    CallerAudioSource,
    CallerScriptRunner,
    CallerStep,
    Pause,
    PlayWav,
    Say,
    ScriptError,
    SendDtmf,
    WaitForAgent,
    WaitForAgentStart,
    load_wav,
    validate_script,
)
from apps.acs_simulator.playout import AgentPlayout


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def test_wav_is_resampled_to_the_call_rate(tmp_path):
    t = np.arange(8000) / 8000
    path = write_wav(tmp_path / "a.wav", 10000 * np.sin(2 * np.pi * 300 * t), 8000)
    pcm = load_wav(path, 16000)
    assert abs(len(pcm) // 2 - 16000) <= 2
    samples = np.frombuffer(pcm, dtype="<i2").astype(float)
    assert 6000 < np.sqrt(np.mean(samples**2)) < 8000  # a 10000-peak sine keeps its level (rms ~7071)


def test_stereo_wav_is_mixed_down(tmp_path):
    stereo = np.repeat(np.full(1600, 1000), 2)
    path = write_wav(tmp_path / "s.wav", stereo, 16000, channels=2)
    pcm = load_wav(path, 16000)
    assert len(pcm) == 3200
    assert set(np.frombuffer(pcm, dtype="<i2")) == {1000}


def test_script_validation(tmp_path):
    validate_script([Pause(0.5), SendDtmf("12#"), WaitForAgent()])
    with pytest.raises(ScriptError, match="no such file"):
        validate_script([PlayWav(tmp_path / "missing.wav")])
    with pytest.raises(ScriptError, match="dtmf"):
        validate_script([SendDtmf("9x")])
    with pytest.raises(ScriptError, match="empty"):
        validate_script([Say("  ")])
    with pytest.raises(ScriptError, match="pause"):
        validate_script([Pause(-1)])


def test_wait_for_agent_start_validation():
    validate_script([WaitForAgentStart(), WaitForAgentStart(after_ms=750, start_timeout_s=2)])
    with pytest.raises(ScriptError, match="after_ms"):
        validate_script([WaitForAgentStart(after_ms=-1)])
    with pytest.raises(ScriptError, match="start_timeout_s"):
        validate_script([WaitForAgentStart(start_timeout_s=0)])


async def test_source_plays_queued_items_in_order_then_silence():
    marks: list[tuple[str, float, dict]] = []
    source = CallerAudioSource(16000, lambda kind, t_ms, **detail: marks.append((kind, t_ms, detail)))
    speech = np.full(800, 500, dtype="<i2").tobytes()  # 50 ms: 2.5 frames, padded to 3
    said = source.say(speech, "hello")
    paused = source.silence(0.04)
    pressed = source.dtmf("7")

    frames = [source.next(i * 20.0) for i in range(20)]
    assert [silent for _, silent, _ in frames[:3]] == [False, False, False]
    assert all(len(f) == 640 for f, _, _ in frames)
    assert frames[2][0][320:] == bytes(320)  # the partial last frame is padded with silence
    assert [silent for _, silent, _ in frames[3:]] == [True] * 17
    assert [digit for _, _, digit in frames] == [None] * 5 + ["7"] + [None] * 14
    assert said.done() and paused.done() and pressed.done()
    assert marks == [
        ("caller_speech_start", 0.0, {"what": "hello"}),
        ("caller_speech_end", 60.0, {"what": "hello"}),
        ("dtmf_sent", 100.0, {"digit": "7"}),
    ]
    assert source.last_speech_end_ms == 60.0


async def test_closing_the_source_cancels_what_was_not_played():
    source = CallerAudioSource(16000, lambda *a, **k: None)
    pending = source.silence(10)
    source.close()
    assert pending.cancelled()


def test_playout_plays_in_real_time_and_stop_audio_drops_the_rest():
    playout = AgentPlayout(16000)
    tone = (8000 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440)).astype("<i2").tobytes()
    playout.push(tone)  # one second arrives at once
    assert playout.queued_ms == 1000.0
    voiced = [playout.tick() for _ in range(10)]  # 200 ms later
    assert voiced == [True] * 10
    assert playout.stop_audio() == 640 * 40
    assert playout.tick() is False
    assert len(playout.recording) == 11 * 640
    assert (playout.audio_messages, playout.stop_audio_count) == (1, 1)


def test_playout_pads_a_partial_frame():
    playout = AgentPlayout(24000)
    playout.push(np.full(100, 3000, dtype="<i2").tobytes())
    assert playout.tick() is True
    assert len(playout.recording) == 960
    assert playout.recording[200:] == bytes(760)


class WatchedSource(CallerAudioSource):
    """Notes the first queued utterance, so the scripted ear knows the runner has finished rendering."""

    def __init__(self, sample_rate: int, emit: Callable[..., Any]) -> None:
        super().__init__(sample_rate, emit)
        self.started = asyncio.Event()

    def say(self, pcm: bytes, label: str) -> asyncio.Future[None]:
        self.started.set()
        return super().say(pcm, label)


class ScriptedEar:
    """The media clock without a network: 20 ms frames advanced in lockstep with the script runner, agent
    audio voiced during the given [start, end) ms spans. Timeouts run on this clock, so nothing is timed."""

    def __init__(self, source: WatchedSource, agent_spans: list[tuple[float, float]]) -> None:
        self.source = source
        self.spans = agent_spans
        self.detector = tl.AgentAudioDetector()
        self.keyed: list[tuple[float, str, bool]] = []  # (frame start ms, DTMF digit, frame silent)
        self._now = 0.0
        self._tick = asyncio.Event()

    def now_ms(self) -> float:
        return self._now

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = self._now + timeout_s * 1000
        self.source.started.set()
        while not predicate():
            if self._now >= deadline:
                return False
            await self._tick.wait()
        return True

    async def drive(self, runner: asyncio.Task[None], max_frames: int = 500) -> None:
        started = asyncio.ensure_future(self.source.started.wait())  # rendering runs in a thread first
        await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        for k in range(max_frames):
            if runner.done():
                return
            t_ms = k * 20.0
            _, silent, digit = self.source.next(t_ms)
            if digit is not None:
                self.keyed.append((t_ms, digit, silent))
            self.detector.feed(t_ms, any(start <= t_ms < end for start, end in self.spans))
            self._now = t_ms + 20.0
            self._tick.set()
            self._tick = asyncio.Event()
            for _ in range(10):  # let the runner react before the next frame, as the real 20 ms would
                await asyncio.sleep(0)
        raise AssertionError("the script did not finish")


Marks = list[tuple[str, float | None, dict[str, Any]]]


async def play_script(steps: list[CallerStep], agent_spans: list[tuple[float, float]]) -> Marks:
    marks, _ = await run_script(steps, agent_spans)
    return marks


async def run_script(
    steps: list[CallerStep], agent_spans: list[tuple[float, float]]
) -> tuple[Marks, ScriptedEar]:
    marks: Marks = []

    def emit(kind: str, t_ms: float | None = None, **detail: Any) -> None:
        marks.append((kind, t_ms, detail))

    source = WatchedSource(16000, emit)
    ear = ScriptedEar(source, agent_spans)
    runner = asyncio.create_task(CallerScriptRunner(steps, source, ear, 16000, emit).run())
    await ear.drive(runner)
    await runner
    return marks, ear


def speech_starts(marks: list[tuple[str, float | None, dict[str, Any]]]) -> list[float | None]:
    return [t_ms for kind, t_ms, _ in marks if kind == tl.CALLER_SPEECH_START]


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "speech.wav", np.full(1600, 3000), 16000)  # 100 ms


async def test_wait_for_agent_start_cuts_in_after_ms_into_the_agents_answer(short_wav):
    # The caller speaks 0-100 ms; the agent answers from 1000 ms; the caller cuts in 200 ms into that.
    marks = await play_script(
        [PlayWav(short_wav), WaitForAgentStart(after_ms=200), PlayWav(short_wav)], [(1000, 3000)]
    )
    assert speech_starts(marks) == [0.0, 1200.0]


async def test_wait_for_agent_start_counts_from_the_callers_end_when_the_agent_was_already_talking(short_wav):
    # The agent talks over the caller's whole first utterance (0-100 ms): count from its end, not from 0.
    marks = await play_script(
        [PlayWav(short_wav), WaitForAgentStart(after_ms=200), PlayWav(short_wav)], [(0, 3000)]
    )
    assert speech_starts(marks) == [0.0, 300.0]


async def test_wait_for_agent_start_gives_up_when_the_agent_stays_silent(short_wav):
    marks = await play_script([WaitForAgentStart(after_ms=200, start_timeout_s=0.5), PlayWav(short_wav)], [])
    assert [detail for kind, _, detail in marks if kind == tl.WAIT_TIMEOUT] == [
        {"reason": "agent did not start speaking", "after_s": 0.5}
    ]
    assert speech_starts(marks) == [500.0]


async def test_send_dtmf_keys_one_digit_per_message_a_key_press_apart(short_wav):
    # The caller speaks 0-100 ms, then keys 4, 8, #: one digit per frame that carries one (the media loop
    # sends it as its own DtmfData message), with silent audio, one key press (240 ms) after the other.
    marks, ear = await run_script([PlayWav(short_wav), SendDtmf("48#"), Pause(0.1)], [])
    assert ear.keyed == [(100.0, "4", True), (340.0, "8", True), (580.0, "#", True)]
    assert [(t_ms, detail) for kind, t_ms, detail in marks if kind == tl.DTMF_SENT] == [
        (100.0, {"digit": "4"}),
        (340.0, {"digit": "8"}),
        (580.0, {"digit": "#"}),
    ]
