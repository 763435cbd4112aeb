"""Caller phrases are cut to their voiced span, so the simulator's speech marks sit on the speech itself."""

from __future__ import annotations

import numpy as np

from bench.phrases import trim_to_voiced, voiced_span

RATE = 16000


def pcm(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).astype("<i2").tobytes()


def tone(ms: int, level: float = 8000.0) -> np.ndarray:
    t = np.arange(RATE * ms // 1000) / RATE
    return level * np.sin(2 * np.pi * 200 * t)


def quiet(ms: int, level: float = 0.0) -> np.ndarray:
    return np.full(RATE * ms // 1000, level)


def test_voiced_span_finds_the_first_and_last_voiced_windows():
    audio = pcm(quiet(120), tone(500), quiet(30, level=20), tone(200), quiet(250))
    assert voiced_span(audio, RATE) == (RATE * 120 // 1000, RATE * 850 // 1000)
    assert voiced_span(pcm(quiet(300, level=10)), RATE) is None
    assert voiced_span(b"", RATE) is None


def test_trim_keeps_the_voiced_span_in_whole_frames():
    trimmed = trim_to_voiced(pcm(quiet(120), tone(510), quiet(250)), RATE)
    samples = np.frombuffer(trimmed, dtype="<i2")
    assert samples.size == RATE * 520 // 1000  # 510 ms of speech, extended to whole 20 ms frames
    assert np.abs(samples[:160]).max() > 1000  # starts on the speech, not on the silence before it
    assert trim_to_voiced(pcm(quiet(100)), RATE) == b""


def test_a_quiet_lead_in_relative_to_the_phrase_counts_as_silence():
    # -50 dB under the phrase's level: below the relative floor, so it is trimmed away.
    audio = pcm(quiet(100, level=25), tone(300, level=8000), quiet(100))
    assert voiced_span(audio, RATE) == (RATE * 100 // 1000, RATE * 400 // 1000)
