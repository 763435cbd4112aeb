"""Speech start/end detection: hysteresis and timing on exact and real probability sequences."""

from __future__ import annotations

import pydantic
import pytest

from tests.unit.audio.signals import silence_pcm16
from voice.audio.framing import split_frames
from voice.audio.speech import (
    SpeechDetector,
    SpeechDetectorConfig,
    SpeechEnded,
    SpeechEvent,
    SpeechStarted,
)
from voice.audio.vad import VadStream

LOW, MID, HIGH = 0.1, 0.4, 0.9  # below neg_threshold, between the thresholds, above threshold


def run(probs: list[float], detector: SpeechDetector | None = None) -> list[tuple[int, SpeechEvent]]:
    """(window index, event) for every event the detector emits."""
    detector = detector or SpeechDetector()
    events = [(i, detector.update(p)) for i, p in enumerate(probs)]
    return [(i, e) for i, e in events if e is not None]


def test_onset_and_end_at_exact_window_times() -> None:
    # 5 silent windows, 10 voiced (160..480 ms), then silence.
    events = run([LOW] * 5 + [HIGH] * 10 + [LOW] * 20)
    assert events == [
        (7, SpeechStarted(at_ms=160)),  # reported on the 3rd voiced window (96 ms), dated to the 1st
        (30, SpeechEnded(at_ms=480, speech_ms=320)),  # after 16 silent windows = 512 ms >= 500 ms
    ]


def test_a_blip_shorter_than_min_speech_is_ignored() -> None:
    assert run([LOW] * 3 + [HIGH, HIGH] + [LOW] * 30) == []


def test_onset_needs_consecutive_voiced_windows() -> None:
    events = run([HIGH, HIGH, MID, HIGH, HIGH, HIGH])
    assert events == [(5, SpeechStarted(at_ms=96))]


def test_hysteresis_keeps_speech_through_middling_probabilities() -> None:
    detector = SpeechDetector()
    run([HIGH] * 3, detector)
    assert detector.in_speech
    assert run([MID] * 40, detector) == []
    assert detector.in_speech


def test_a_pause_shorter_than_min_silence_does_not_end_speech() -> None:
    probs = [HIGH] * 5 + [LOW] * 15 + [HIGH] * 5 + [LOW] * 16
    events = run(probs)
    assert [e for _, e in events] == [SpeechStarted(at_ms=0), SpeechEnded(at_ms=800, speech_ms=800)]


def test_repeated_utterances_give_paired_events() -> None:
    events = [e for _, e in run(([HIGH] * 4 + [LOW] * 20) * 3)]
    assert events == [
        SpeechStarted(at_ms=0),
        SpeechEnded(at_ms=128, speech_ms=128),
        SpeechStarted(at_ms=768),
        SpeechEnded(at_ms=896, speech_ms=128),
        SpeechStarted(at_ms=1536),
        SpeechEnded(at_ms=1664, speech_ms=128),
    ]


def test_custom_timings_round_up_to_whole_windows() -> None:
    config = SpeechDetectorConfig(min_speech_ms=0, min_silence_ms=100, window_ms=20)
    events = run([HIGH] + [LOW] * 5, SpeechDetector(config))
    assert events == [(0, SpeechStarted(at_ms=0)), (5, SpeechEnded(at_ms=20, speech_ms=20))]


def test_reset_restarts_the_clock() -> None:
    detector = SpeechDetector()
    run([LOW] * 10 + [HIGH] * 3, detector)
    detector.reset()
    assert not detector.in_speech
    assert detector.elapsed_ms == 0
    assert run([HIGH] * 3, detector) == [(2, SpeechStarted(at_ms=0))]


def test_config_rejects_inverted_thresholds() -> None:
    with pytest.raises(pydantic.ValidationError):
        SpeechDetectorConfig(threshold=0.3, neg_threshold=0.5)


def test_events_are_immutable() -> None:
    with pytest.raises(AttributeError):
        SpeechStarted(at_ms=0).at_ms = 5  # type: ignore[misc]


def test_real_speech_padded_with_silence_gives_one_start_and_one_end(speech_16k: bytes) -> None:
    lead_ms, tail_ms = 1000, 1500
    speech_ms = len(speech_16k) // 32  # 16 kHz PCM16: 32 bytes per ms
    audio = silence_pcm16(16000, lead_ms / 1000) + speech_16k + silence_pcm16(16000, tail_ms / 1000)

    vad, detector = VadStream(), SpeechDetector()
    events: list[SpeechEvent] = []
    for frame in split_frames(audio, 640):
        for prob in vad.push(frame):
            if (event := detector.update(prob)) is not None:
                events.append(event)

    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]  # the pause between sentences is kept
    started, ended = events
    assert isinstance(started, SpeechStarted) and isinstance(ended, SpeechEnded)
    assert lead_ms - 64 <= started.at_ms <= lead_ms + 200
    assert lead_ms + speech_ms - 300 <= ended.at_ms <= lead_ms + speech_ms + 200
    assert ended.speech_ms == ended.at_ms - started.at_ms
    assert not detector.in_speech
