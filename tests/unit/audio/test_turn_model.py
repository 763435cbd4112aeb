"""The smart-turn end-of-turn model: our Whisper-style features, and the real ONNX model (when its wheel is
installed) telling a complete question from a sentence cut mid-way, on espeak speech, batched off the loop."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np
import pytest

from apps.acs_simulator.caller_audio import synthesize
from voice.audio.turn_batcher import MODEL_THREAD_NICE, TurnModelBatcher
from voice.audio.turn_model import (
    FRAMES,
    MAX_SAMPLES,
    N_MELS,
    SmartTurnModel,
    fit_to_window,
    log_mel,
    mel_filters,
    model_available,
)

RATE = 16000
TAIL_MS = 64  # the pause after which the cascade scores a turn (TurnPolicy.score_after_ms)


def test_audio_is_fitted_to_the_last_eight_seconds_padded_at_the_start() -> None:
    short = np.ones(1000, dtype=np.float32)
    fitted = fit_to_window(short)
    assert fitted.shape == (MAX_SAMPLES,) and fitted[-1000:].all() and not fitted[:-1000].any()
    long = np.arange(MAX_SAMPLES + 5, dtype=np.float32)
    assert fit_to_window(long)[0] == 5


def test_features_have_the_models_shape_and_scale() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE).astype(np.float32) * 0.3
    features = log_mel(tone)
    assert features.shape == (N_MELS, FRAMES) and features.dtype == np.float32
    assert features.max() - features.min() <= 2.0 + 1e-6  # clamped to 8 (log10 units) below the top, / 4
    # the 440 Hz tone is loudest in a low mel band, in the last second (the audio sits at the window's end)
    last_second = features[:, -100:]
    assert int(last_second.mean(axis=1).argmax()) < 20


def test_mel_filters_cover_the_band_with_slaney_areas() -> None:
    filters = mel_filters()
    assert filters.shape == (201, N_MELS)
    assert (filters >= 0).all() and (filters.max(axis=0) > 0).all()  # every filter has some bins


needs_model = pytest.mark.skipif(
    not model_available(), reason="pipecat-ai wheel (smart-turn model) not installed"
)


async def _spoken(text: str) -> np.ndarray:
    pcm = await synthesize(text, RATE)
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    voiced = np.flatnonzero(np.abs(audio) > 0.01)
    return np.concatenate([audio[: voiced[-1] + 1], np.zeros(RATE * TAIL_MS // 1000, dtype=np.float32)])


# espeak renders a text slightly differently on each call in one process, and the model, trained on people,
# is unsure of its flat intonation (0.39-0.83 for the first question, 0.02-0.30 for the cut sentence over
# renderings), so each text is judged by its mean over a few renderings, and only the model's ordering and
# its clearest case are asserted.
RENDERINGS = 4
CUT = "My account number is"
COMPLETE = ["What is my checking balance?", "Can you tell me my savings balance?"]


async def _renderings(texts: list[str]) -> list[bytes]:
    return [
        (np.clip(await _spoken(text), -1, 1) * 32767).astype("<i2").tobytes()
        for text in texts
        for _ in range(RENDERINGS)
    ]


def _means(scores: list[float | None]) -> list[float]:
    assert all(s is not None for s in scores)
    values = np.array(scores, dtype=np.float64).reshape(-1, RENDERINGS)
    return [float(v) for v in values.mean(axis=1)]


def _assert_separated(complete: list[float], cut: float) -> None:
    assert cut < 0.5 <= max(complete)  # the cut sentence is not a turn; the clearest question is
    assert min(complete) > cut + 0.15  # and every complete question scores well above the cut one


@pytest.mark.slow
@needs_model
async def test_the_model_tells_complete_questions_from_a_sentence_cut_at_my_account_number_is() -> None:
    model = SmartTurnModel()
    pcms = await _renderings([*COMPLETE, CUT])
    features = np.stack([log_mel(np.frombuffer(p, dtype="<i2").astype(np.float32) / 32768) for p in pcms])
    *complete, cut = _means([float(s) for s in model.complete_probability(features)])
    _assert_separated(complete, cut)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="per-thread priority is a POSIX call")
async def test_the_model_runs_below_the_event_loops_priority() -> None:
    """A score only shortens a wait; a late frame is a gap: when the core is contended the loop goes first."""
    seen: list[tuple[int, int]] = []

    class Probe:
        def complete_probability(self, features: np.ndarray) -> np.ndarray:
            thread = threading.get_native_id()
            seen.append((thread, os.getpriority(os.PRIO_PROCESS, thread)))
            return np.full(len(features), 0.9, dtype=np.float32)

    loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    batcher = TurnModelBatcher(Probe())  # type: ignore[arg-type]
    try:
        assert await batcher.score(b"\x00\x00" * 1600, RATE) == pytest.approx(0.9)
    finally:
        batcher.close()
    [(thread, nice)] = seen
    assert thread != threading.get_native_id()
    assert nice == min(19, loop_nice + MODEL_THREAD_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_nice  # the loop's own unchanged


@pytest.mark.slow
@needs_model
async def test_the_batcher_scores_several_calls_off_the_loop() -> None:
    threads: list[int] = []

    class Recording(SmartTurnModel):
        def complete_probability(self, features: np.ndarray) -> np.ndarray:
            threads.append(threading.get_ident())
            return super().complete_probability(features)

    batcher = TurnModelBatcher(Recording())
    try:
        pcms = await _renderings([*COMPLETE, CUT])
        scores = await asyncio.gather(*(batcher.score(pcm, RATE) for pcm in pcms))
        *complete, cut = _means(scores)
        _assert_separated(complete, cut)
        assert batcher.runs < len(pcms)  # calls waiting together were scored together
        assert threads and threading.get_ident() not in threads  # never on the event loop's thread
    finally:
        batcher.close()


async def test_an_overloaded_batcher_answers_none_at_once() -> None:
    class Stuck:
        def complete_probability(self, features: np.ndarray) -> np.ndarray:
            threading.Event().wait(0.2)
            return np.full(len(features), 0.9, dtype=np.float32)

    batcher = TurnModelBatcher(Stuck(), max_pending=1)  # type: ignore[arg-type]
    try:
        first = asyncio.ensure_future(batcher.score(bytes(3200), RATE))
        await asyncio.sleep(0)  # the first run is in flight
        second = asyncio.ensure_future(batcher.score(bytes(3200), RATE))
        await asyncio.sleep(0)
        third = await batcher.score(bytes(3200), RATE)
        assert third is None and batcher.refused == 1
        assert await first == pytest.approx(0.9) and await second == pytest.approx(0.9)
    finally:
        batcher.close()


@needs_model
def test_the_model_file_comes_from_the_wheel_without_importing_pipecat() -> None:
    import sys

    from voice.audio.turn_model import default_model_path

    assert default_model_path().name == "smart-turn-v3.2-cpu.onnx"
    assert "pipecat" not in sys.modules


async def test_a_model_busy_past_its_share_of_the_core_answers_none() -> None:
    class Slow:
        def complete_probability(self, features: np.ndarray) -> np.ndarray:
            threading.Event().wait(0.15)
            return np.full(len(features), 0.9, dtype=np.float32)

    batcher = TurnModelBatcher(Slow(), max_busy=0.1)  # type: ignore[arg-type]
    try:
        assert await batcher.score(bytes(3200), RATE) == pytest.approx(0.9)
        assert batcher.busy_fraction() > 0.1
        assert await batcher.score(bytes(3200), RATE) is None  # shed: the calls' frames need the core
        assert batcher.busy_fraction(now=time.monotonic() + 2) == 0  # a second later it scores again
    finally:
        batcher.close()


async def test_the_batcher_reports_when_its_background_load_has_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = threading.Event()

    class Loaded:
        def __init__(self) -> None:
            loaded.wait(5)

        def complete_probability(self, features: np.ndarray) -> np.ndarray:
            return np.full(len(features), 0.9, dtype=np.float32)

    monkeypatch.setattr("voice.audio.turn_batcher.SmartTurnModel", Loaded)
    batcher = TurnModelBatcher()
    try:
        assert not batcher.ready
        waiting = asyncio.ensure_future(batcher.wait_loaded())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the service is not ready while the model loads
        loaded.set()
        assert await waiting is True
        assert batcher.ready
    finally:
        batcher.close()


async def test_a_model_that_fails_to_load_ends_the_wait_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("damaged install")

    monkeypatch.setattr("voice.audio.turn_batcher.SmartTurnModel", broken)
    batcher = TurnModelBatcher()
    try:
        assert await batcher.wait_loaded() is False
        assert await batcher.score(bytes(3200), RATE) is None
    finally:
        batcher.close()
