"""Answering-machine detection on synthesized live answers and voicemail greetings (espeak speech + tones)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.audio.signals import silence_pcm16, sine, synthesize_speech, to_pcm16, white_noise
from voice.audio.answering_machine import AmdConfig, AmdEvent, AnsweringMachineDetector, tone_peak_hz

RATE = 16000

LIVE_ANSWERS = ["Hello?", "Hi, this is Dana.", "Yeah?", "Hello, who is this?"]
VOICEMAIL_GREETINGS = [
    "Hi, you have reached Dana Smith. I can't take your call right now. Please leave a message after the tone.",
    "The person you are calling is not available. At the tone, please record your message.",
    "Hello, this is the Parker residence. We are out at the moment, leave your name and number and we will"
    " call you back.",
]


def beep(hz: float = 1000.0, seconds: float = 0.5) -> bytes:
    return to_pcm16(sine(hz, RATE, seconds, dbfs=-10.0))


def run(
    pcm: bytes, chunk_ms: int = 20, config: AmdConfig | None = None
) -> tuple[AnsweringMachineDetector, list[tuple[int, AmdEvent]]]:
    """Feed `pcm` in `chunk_ms` chunks; each event with the audio time (ms) at which it was returned."""
    detector = AnsweringMachineDetector(RATE, config)
    step = RATE * chunk_ms // 1000 * 2
    events = []
    for start in range(0, len(pcm), step):
        for event in detector.feed(pcm[start : start + step]):
            events.append(((start + step) * 1000 // (2 * RATE), event))
    return detector, events


@pytest.mark.parametrize("text", LIVE_ANSWERS)
def test_a_short_live_answer_then_silence_is_a_human(text: str) -> None:
    speech = synthesize_speech(text, RATE)
    _, events = run(silence_pcm16(RATE, 0.3) + speech + silence_pcm16(RATE, 3.0))
    assert [e for _, e in events] == [AmdEvent.HUMAN]
    speech_end_ms = (len(speech) // 2 + int(0.3 * RATE)) * 1000 // RATE
    assert events[0][0] <= speech_end_ms + 1000, "a person is recognised within a second of falling silent"


@pytest.mark.parametrize("text", VOICEMAIL_GREETINGS)
@pytest.mark.parametrize("beep_hz", [1000.0, 850.0, 1400.0])
def test_a_long_greeting_then_a_beep_is_a_machine_and_the_message_starts_after_the_beep(
    text: str, beep_hz: float
) -> None:
    greeting = silence_pcm16(RATE, 0.2) + synthesize_speech(text, RATE) + silence_pcm16(RATE, 0.4)
    detector, events = run(greeting + beep(beep_hz) + silence_pcm16(RATE, 2.0))
    assert [e for _, e in events] == [AmdEvent.MACHINE, AmdEvent.LEAVE_MESSAGE]
    greeting_ms = len(greeting) * 1000 // (2 * RATE)
    assert events[0][0] < greeting_ms, "the greeting's length gives the machine away before the beep"
    assert greeting_ms + 500 <= events[1][0] <= greeting_ms + 600, "the message starts as the beep ends"
    assert detector.beep_hz is not None and abs(detector.beep_hz - beep_hz) <= 50


def test_a_short_greeting_with_a_beep_is_a_machine_by_the_beep() -> None:
    greeting = synthesize_speech("Leave a message.", RATE) + silence_pcm16(RATE, 0.3)
    _, events = run(greeting + beep() + silence_pcm16(RATE, 1.0))
    assert [e for _, e in events] == [AmdEvent.MACHINE, AmdEvent.LEAVE_MESSAGE]


def test_a_machine_that_never_beeps_gets_the_message_after_a_quiet_spell() -> None:
    greeting = synthesize_speech(VOICEMAIL_GREETINGS[0], RATE)
    _, events = run(greeting + silence_pcm16(RATE, 4.0))
    assert [e for _, e in events] == [AmdEvent.MACHINE, AmdEvent.LEAVE_MESSAGE]
    greeting_ms = len(greeting) * 1000 // (2 * RATE)  # espeak ends with a little silence of its own
    assert greeting_ms + 2000 <= events[1][0] <= greeting_ms + 2600


def test_nobody_speaking_counts_as_a_human_after_the_wait() -> None:
    _, events = run(silence_pcm16(RATE, 4.0))
    assert events == [(3000, AmdEvent.HUMAN)]


def test_speech_never_passes_for_a_beep_and_noise_is_not_a_tone() -> None:
    for text in LIVE_ANSWERS + VOICEMAIL_GREETINGS:
        detector, _ = run(synthesize_speech(text, RATE) + silence_pcm16(RATE, 3.0))
        assert detector.beep_hz is None, text
    noise = white_noise(RATE, 0.02)
    assert tone_peak_hz(noise.astype(np.float64), RATE, 0.8) is None
    assert tone_peak_hz(sine(1000.0, RATE, 0.02).astype(np.float64), RATE, 0.8) == pytest.approx(
        1000.0, abs=50
    )


def test_chunk_size_does_not_change_the_verdict() -> None:
    pcm = synthesize_speech(VOICEMAIL_GREETINGS[1], RATE) + beep() + silence_pcm16(RATE, 1.0)
    _, small = run(pcm, chunk_ms=20)
    _, large = run(pcm, chunk_ms=100)
    assert [e for _, e in small] == [e for _, e in large] == [AmdEvent.MACHINE, AmdEvent.LEAVE_MESSAGE]


def test_noise_is_not_a_tone_but_a_sine_is() -> None:
    assert tone_peak_hz(white_noise(RATE, 0.02).astype(np.float64), RATE, 0.95) is None
    tone = sine(1000.0, RATE, 0.02).astype(np.float64)
    assert tone_peak_hz(tone, RATE, 0.95) == pytest.approx(1000.0, abs=50)


def test_a_beep_soon_after_a_human_verdict_makes_it_a_machine_and_the_message_follows_the_beep() -> None:
    greeting = (
        silence_pcm16(RATE, 0.2) + synthesize_speech("Leave a message.", RATE) + silence_pcm16(RATE, 1.0)
    )
    detector, events = run(greeting + beep(1400.0, 0.8) + silence_pcm16(RATE, 2.0))
    assert [e for _, e in events] == [AmdEvent.HUMAN, AmdEvent.MACHINE, AmdEvent.LEAVE_MESSAGE]
    human_ms, machine_ms, message_ms = (t for t, _ in events)
    greeting_ms = len(greeting) * 1000 // (2 * RATE)
    assert human_ms < greeting_ms < machine_ms <= human_ms + 1500  # the person verdict came first, in time
    assert greeting_ms + 800 <= message_ms <= greeting_ms + 900, "the message starts as the beep ends"
    assert detector.verdict is AmdEvent.MACHINE and detector.overturned
    assert detector.finished


def test_a_beep_long_after_the_human_verdict_changes_nothing() -> None:
    hello = silence_pcm16(RATE, 0.3) + synthesize_speech("Hello?", RATE)
    detector, events = run(hello + silence_pcm16(RATE, 2.5) + beep() + silence_pcm16(RATE, 1.0))
    assert [e for _, e in events] == [AmdEvent.HUMAN]
    assert detector.verdict is AmdEvent.HUMAN and not detector.overturned and detector.beep_hz is None


def test_without_the_late_window_a_human_verdict_is_final() -> None:
    greeting = synthesize_speech("Leave a message.", RATE) + silence_pcm16(RATE, 1.0)
    detector, events = run(greeting + beep() + silence_pcm16(RATE, 1.0), config=AmdConfig(late_beep_ms=0))
    assert [e for _, e in events] == [AmdEvent.HUMAN]
    assert detector.finished
