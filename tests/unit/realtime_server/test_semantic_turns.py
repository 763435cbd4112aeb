"""Semantic turn detection on the realtime server: a turn that sounds complete ends after a short pause, one
that sounds unfinished waits longer, and server VAD keeps its fixed silence. Driven by the input-audio clock
(no wall-clock timing): a fake VAD hears loud samples as speech."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from apps.realtime_server.end_of_turn import remove_fillers, semantic_timing
from apps.realtime_server.input_audio import InputAudio, SpeechStart, SpeechStop
from apps.realtime_server.protocol import RealtimeSessionConfig, TurnDetection
from voice.audio.vad import VadStream, get_shared_model

RATE = 16000
FRAME_MS = 20


class LoudnessVad:
    """Stands in for the VAD batcher: a 32 ms window is speech (0.9) when it is loud, else silence (0.0)."""

    def __init__(self) -> None:
        self.model = get_shared_model()

    def stream(self, input_rate: int) -> VadStream:
        return VadStream(self.model, input_rate=input_rate)

    async def probabilities(self, stream: VadStream) -> list[float]:
        out = []
        while stream.ready_windows:
            peak = stream.next_window_peak()
            stream.take_window()
            out.append(0.9 if peak > 0.1 else 0.0)
        return out


class FixedScorer:
    def __init__(self, score: float | None) -> None:
        self.score_value = score
        self.calls = 0

    async def score(self, pcm: bytes, sample_rate: int) -> float | None:
        self.calls += 1
        return self.score_value


def frames(ms: int, loud: bool) -> list[bytes]:
    samples = np.full(RATE * FRAME_MS // 1000, 8000 if loud else 0, dtype="<i2").tobytes()
    return [samples] * (ms // FRAME_MS)


def audio(detection: dict[str, Any] | None, scorer: FixedScorer | None = None) -> InputAudio:
    config = RealtimeSessionConfig(input_audio_sampling_rate=RATE, turn_detection=detection)
    return InputAudio(LoudnessVad(), config, scorer)  # type: ignore[arg-type]


async def silence_until_stop(
    inp: InputAudio, speech_ms: int = 1000, words: str | None = None, max_ms: int = 3000
) -> int | None:
    """Speech then silence; ms of silence (on the input clock) after the last voiced audio when the turn
    ended, or None if it had not ended after `max_ms`."""
    started = False
    for frame in frames(speech_ms, True):
        started |= any(isinstance(e, SpeechStart) for e in await inp.feed(frame))
        await asyncio.sleep(0)
    assert started
    if words is not None:
        inp.heard(words)
    for frame in frames(max_ms, False):
        events = await inp.feed(frame)
        await asyncio.sleep(0)  # lets a background score finish, as the next frame's wait would
        stops = [e for e in events if isinstance(e, SpeechStop)]
        if stops:
            return int(inp.input_ms) - speech_ms
    return None


async def test_server_vad_keeps_its_fixed_silence_whatever_the_words() -> None:
    complete = await silence_until_stop(audio({"type": "server_vad"}), words="what's my checking balance")
    unfinished = await silence_until_stop(audio({"type": "server_vad"}), words="my account ends in")
    assert complete is not None and unfinished is not None
    assert 500 <= complete < 600 and 500 <= unfinished < 600


async def test_azure_semantic_vad_ends_a_complete_turn_after_a_short_pause() -> None:
    waited = await silence_until_stop(
        audio({"type": "azure_semantic_vad"}), words="what's my checking balance"
    )
    assert waited is not None and waited < 300


async def test_an_unfinished_turn_is_held_past_the_silence_until_the_timeout() -> None:
    detection = {
        "type": "azure_semantic_vad",
        "silence_duration_ms": 600,
        "end_of_utterance_detection": {"model": "semantic_detection_v1", "timeout_ms": 1300},
    }
    waited = await silence_until_stop(audio(detection), words="my account ends in")
    assert waited is not None and 1300 <= waited < 1400


async def test_without_telling_words_or_model_the_silence_decides() -> None:
    waited = await silence_until_stop(audio({"type": "azure_semantic_vad", "silence_duration_ms": 700}))
    assert waited is not None and 700 <= waited < 800


async def test_the_models_score_ends_a_turn_early_and_runs_once_per_pause() -> None:
    scorer = FixedScorer(0.9)
    waited = await silence_until_stop(audio({"type": "semantic_vad"}, scorer))
    assert waited is not None and waited < 300
    assert scorer.calls == 1


async def test_a_partial_that_may_end_on_a_fragment_needs_a_confident_model() -> None:
    """ "my account ends in ..." read as "my account and the" at the caller's pause, scored 0.57 on a synthetic
    voice: the turn ended mid-sentence (the VoiceLive bench's embedded cuts). A "the" can be a recogniser's
    fragment or a sentence left open, so the model must be confident to end the turn early."""
    unsure = FixedScorer(0.57)
    waited = await silence_until_stop(
        audio({"type": "azure_semantic_vad", "silence_duration_ms": 500}, unsure), words="my account and the"
    )
    assert waited is not None and 500 <= waited < 600  # the unsure wait, past a 450 ms breath
    confident = FixedScorer(0.95)
    waited = await silence_until_stop(
        audio({"type": "azure_semantic_vad", "silence_duration_ms": 500}, confident),
        words="my account and the",
    )
    assert waited is not None and waited < 300
    # Words that do not end on such a word keep the model's own boundary.
    waited = await silence_until_stop(
        audio({"type": "azure_semantic_vad", "silence_duration_ms": 500}, FixedScorer(0.57)),
        words="i would like to check the thing",
    )
    assert waited is not None and waited < 300


async def test_a_low_score_leaves_the_turn_to_the_eagerness_silence() -> None:
    scorer = FixedScorer(0.1)
    waited = await silence_until_stop(audio({"type": "semantic_vad", "eagerness": "low"}, scorer))
    assert waited is not None and 1000 <= waited < 1100


async def test_a_mid_sentence_pause_keeps_the_turn_and_its_audio() -> None:
    inp = audio({"type": "azure_semantic_vad"})
    events: list[object] = []
    for frame in frames(600, True):
        events += await inp.feed(frame)
    inp.heard("my account ends in")
    for frame in frames(800, False):  # longer than the 500 ms silence: held, the words are unfinished
        events += await inp.feed(frame)
    for frame in frames(600, True):
        events += await inp.feed(frame)
    assert [type(e) for e in events] == [SpeechStart]
    assert inp.in_speech
    assert len(inp.turn_audio()) >= RATE * 2 * 2000 // 1000  # both halves and the pause between


def test_timings_follow_eagerness_and_the_azure_knobs() -> None:
    def timing(**fields: Any) -> tuple[int, int, int]:
        t = semantic_timing(TurnDetection.model_validate(fields), 500)
        return t.min_silence_ms, t.silence_ms, t.hold_ms

    high, auto, low = (timing(type="semantic_vad", eagerness=e) for e in ("high", "auto", "low"))
    assert high[0] <= auto[0] <= low[0] and high[1] < auto[1] < low[1]
    assert timing(type="semantic_vad") == auto
    assert timing(type="azure_semantic_vad") == (200, 500, 700)
    eou = {"model": "semantic_detection_v1", "timeout_ms": 2000}
    assert timing(type="azure_semantic_vad", silence_duration_ms=800, end_of_utterance_detection=eou) == (
        200,
        800,
        1200,
    )
    assert timing(type="azure_semantic_vad_en", silence_duration_ms=100) == (100, 100, 700)


def test_filler_words_are_removed() -> None:
    assert remove_fillers("Um, my account uh ends in, er, four") == "my account ends in, four"
    assert remove_fillers("umbrella insurance hmm") == "umbrella insurance"
