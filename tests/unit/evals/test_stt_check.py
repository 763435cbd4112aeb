"""`switchboard eval --stt-only`'s audio and latency bookkeeping (the recognisers themselves are tested in
tests/unit/stt and tests/integration/test_whisper_stt.py)."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import cast

import numpy as np

from apps.evals.scripts import CallerTurn
from apps.evals.stt_check import LineResult, SttReport, _Hints, _pcm
from apps.evals.text_run import TextCall
from voice.expectation import Expectation


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


class FakeTextCall:
    """The brain's side of a call for `_Hints`: each turn said is kept, and answered with the next hint."""

    def __init__(self, hints: list[Expectation | None]) -> None:
        self.hints = hints
        self.said: list[tuple[str, str]] = []
        self.expects: Expectation | None = None
        self.ended: str | None = None

    async def say(self, kind: str, text: str) -> None:
        self.said.append((kind, text))
        self.expects = self.hints.pop(0)


async def test_each_line_gets_the_hint_of_the_agents_reply_before_it() -> None:
    last_four = Expectation(lengths=(4,))
    fake = FakeTextCall([last_four, None, None])
    hints = _Hints(cast(TextCall, fake))
    turns = [
        CallerTurn(say="what's my balance"),
        CallerTurn(say="my name is Jordan Rivera and my account ends in"),
        CallerTurn(say="four eight two one.", wait=False, pause=0.9),  # the same turn, after a pause
        CallerTurn(dtmf="4821#"),
        CallerTurn(say="thanks"),
    ]
    got = [await hints.before(turn) for turn in turns]
    assert got == [None, last_four, last_four, None, None]
    # The brain heard the turns as a perfect ear would: the line said without waiting joins the one before
    assert fake.said == [
        ("speech", "what's my balance"),
        ("speech", "my name is Jordan Rivera and my account ends in four eight two one."),
        ("dtmf", "4821#"),
    ]
    assert await _Hints(None).before(turns[0]) is None  # EVAL_STT_EXPECT=none
