"""The caller's script rendered into 20 ms frames, and the agent playout (what the caller hears)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from apps.acs_simulator.caller_audio import (
    CallerAudioSource,
    Pause,
    PlayWav,
    Say,
    ScriptError,
    SendDtmf,
    WaitForAgent,
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
