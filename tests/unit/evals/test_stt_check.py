"""`switchboard eval --stt-only`'s audio and latency bookkeeping (the recognisers themselves are tested in
tests/unit/stt and tests/integration/test_whisper_stt.py)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from apps.evals.stt_check import LineResult, SttReport, _pcm


def write_tone(path: Path, rate: int, seconds: float = 0.5) -> None:
    t = np.arange(int(rate * seconds)) / rate
    samples = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


def test_lines_are_read_at_16_khz_whatever_the_voice_renders(tmp_path: Path) -> None:
    write_tone(tmp_path / "piper.wav", 22_050)
    write_tone(tmp_path / "espeak.wav", 16_000)
    assert abs(len(_pcm(tmp_path / "piper.wav")) // 2 - 8000) <= 16  # 0.5 s at 16 kHz, not 0.69 s
    assert len(_pcm(tmp_path / "espeak.wav")) // 2 == 8000


def test_latency_counts_only_lines_of_1_to_5_seconds() -> None:
    report = SttReport(recogniser="whisper-tiny.en")
    for seconds, ms in [(0.5, 9000.0), (1.0, 100.0), (2.0, 200.0), (3.0, 300.0), (6.0, 9000.0)]:
        report.lines.append(LineResult("banking", "c", "espeak-us", "hi", "hi", 0.0, seconds, ms))
    assert report.latency() == {"lines": 3, "p50_ms": 200.0, "p95_ms": 300.0}
    assert report.summary().startswith(
        "final text by: whisper-tiny.en; end of line -> final text over 3 lines"
    )
