"""Silero VAD on onnxruntime tells real speech from silence, tones and noise."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from tests.unit.audio.signals import silence_pcm16, sine, speech_via_22k, to_pcm16, white_noise
from voice.audio.framing import split_frames
from voice.audio.vad import (
    INPUT_SAMPLES,
    WINDOW_SAMPLES,
    SileroVadModel,
    VadStream,
    default_model_path,
    get_shared_model,
)


def probs_for(pcm: bytes, frame_bytes: int = 640) -> np.ndarray:
    """Feed audio the way the media path does (20 ms frames) and collect every window's probability."""
    stream = VadStream()
    probs: list[float] = []
    for frame in split_frames(pcm, frame_bytes, pad=False):
        probs += stream.push(frame)
    return np.array(probs)


def test_model_ships_in_the_wheel_and_loads_without_torch() -> None:
    assert default_model_path().is_file()
    get_shared_model()
    assert "silero_vad" not in sys.modules
    assert "torch" not in sys.modules


def test_shared_model_is_loaded_once_even_under_concurrent_first_use() -> None:
    seen: list[SileroVadModel] = []
    threads = [threading.Thread(target=lambda: seen.append(get_shared_model())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(model is get_shared_model() for model in seen)


def test_explicit_model_path_is_honoured() -> None:
    model = SileroVadModel(default_model_path())
    probs, states = model.infer(np.zeros((1, INPUT_SAMPLES), np.float32), SileroVadModel.initial_state(1))
    assert probs.shape == (1,)
    assert states.shape == (2, 1, 128)


def test_one_probability_per_32ms_window_with_the_remainder_buffered() -> None:
    stream = VadStream()
    probs: list[float] = []
    for frame in split_frames(silence_pcm16(16000, 1.0), 640):
        probs += stream.push(frame)
    assert len(probs) == 16000 // WINDOW_SAMPLES  # 31 windows; 128 samples wait for the next push
    assert stream.ready_windows == 0
    assert len(stream.push(bytes(2 * (WINDOW_SAMPLES - 128)))) == 1


def test_silence_is_not_speech() -> None:
    probs = probs_for(silence_pcm16(16000, 2.0))
    assert probs.max() < 0.1


def test_real_speech_is_speech(speech_16k: bytes) -> None:
    probs = probs_for(speech_16k)
    assert (probs >= 0.5).mean() > 0.6  # the rest: pauses between words and sentences
    assert np.median(probs) > 0.9


def test_speech_resampled_from_espeaks_native_rate_is_speech() -> None:
    probs = probs_for(speech_via_22k())
    assert (probs >= 0.5).mean() > 0.6


@pytest.mark.parametrize(
    "signal",
    [
        pytest.param(to_pcm16(sine(440.0, 16000, 3.0)), id="tone-440Hz"),
        pytest.param(to_pcm16(sine(1000.0, 16000, 3.0, dbfs=-20.0)), id="tone-1kHz-quiet"),
        pytest.param(to_pcm16(white_noise(16000, 3.0, rms=0.1)), id="white-noise"),
        pytest.param(to_pcm16(white_noise(16000, 3.0, rms=0.01)), id="white-noise-quiet"),
    ],
)
def test_tones_and_noise_score_far_below_speech(signal: bytes, speech_16k: bytes) -> None:
    probs = probs_for(signal)
    speech = probs_for(speech_16k)
    assert probs.mean() < 0.2
    assert (probs >= 0.5).mean() < 0.05
    assert probs.mean() < speech.mean() - 0.5


def test_chunking_does_not_change_the_result(speech_16k: bytes) -> None:
    # Context and state carry across pushes, so any chunking gives the same probabilities.
    whole = np.array(VadStream().push(speech_16k))
    framed = probs_for(speech_16k, frame_bytes=640)
    odd = probs_for(speech_16k, frame_bytes=2 * 700)
    assert whole.shape == framed.shape == odd.shape
    np.testing.assert_allclose(framed, whole, atol=1e-5)
    np.testing.assert_allclose(odd, whole, atol=1e-5)


def test_reset_forgets_audio_and_state(speech_16k: bytes) -> None:
    stream = VadStream()
    first = stream.push(speech_16k)
    stream.push(bytes(300))
    stream.reset()
    assert stream.push(speech_16k) == pytest.approx(first, abs=1e-6)


def test_one_batched_inference_equals_each_call_on_its_own(speech_16k: bytes) -> None:
    # What a cross-call batcher does: stack the next window of every call, run the model once.
    signals = [speech_16k, to_pcm16(white_noise(16000, 3.4)), to_pcm16(sine(440.0, 16000, 3.4))]
    expected = [np.array(VadStream().push(pcm)) for pcm in signals]

    model = get_shared_model()
    streams = [VadStream(model) for _ in signals]
    windows = np.zeros((len(streams), INPUT_SAMPLES), np.float32)
    states = SileroVadModel.initial_state(len(streams))
    for stream, pcm in zip(streams, signals, strict=True):
        stream.append(pcm)
    batched: list[list[float]] = [[] for _ in streams]
    while all(stream.ready_windows for stream in streams):
        for i, stream in enumerate(streams):
            stream.take_window(out=windows[i])
        probs, states = model.infer(windows, states)
        for i, prob in enumerate(probs):
            batched[i].append(float(prob))

    for got, want in zip(batched, expected, strict=True):
        n = min(len(got), len(want))
        assert n > 90
        np.testing.assert_allclose(got[:n], want[:n], atol=1e-4)


def test_odd_length_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="even"):
        VadStream().push(b"\x00\x01\x02")


def test_window_peaks_with_digital_silence_between_speech_match_the_samples() -> None:
    """Frames of all-zero PCM skip the int16 -> float conversion and are remembered as silent; the peak of
    every window must still be the peak of its samples, across buffer compaction and growth."""
    rng = np.random.default_rng(7)
    loud = [(rng.standard_normal(320) * 2000).astype("<i2").tobytes() for _ in range(4)]
    zero = bytes(640)
    pattern = [zero, loud[0], zero, zero, zero, loud[1], loud[2], zero, zero, zero, zero, loud[3]] * 6
    pattern.insert(30, b"".join([zero] * 9 + [loud[0]]))  # one push larger than the buffer: it grows
    stream = VadStream()
    samples = np.zeros(0, dtype=np.float32)
    for frame in pattern:
        stream.append(frame)
        samples = np.concatenate([samples, np.frombuffer(frame, dtype="<i2") / np.float32(32768.0)])
        while stream.ready_windows:
            window = samples[:WINDOW_SAMPLES]
            assert stream.next_window_peak() == float(np.abs(window).max())
            row = stream.take_window()
            np.testing.assert_array_equal(row[-WINDOW_SAMPLES:], window)
            samples = samples[WINDOW_SAMPLES:]


def test_a_windows_model_input_is_the_context_before_it_and_its_samples_whatever_was_skipped() -> None:
    """`take_window` copies one slice of the buffer: the 64 samples before the window (zeros at the start)
    and its 512. Windows consumed with `skip_window` leave their samples as the next window's context, across
    buffer compaction and growth."""
    rng = np.random.default_rng(11)
    frames = [(rng.standard_normal(320) * 3000).astype("<i2").tobytes() for _ in range(40)]
    frames[7:12] = [bytes(640)] * 5
    frames.insert(
        20, (rng.standard_normal(5000) * 3000).astype("<i2").tobytes()
    )  # a push that grows the buffer
    stream = VadStream()
    samples = np.zeros(64, dtype=np.float32)  # the context before the first window
    consumed = 0
    for k, frame in enumerate(frames):
        stream.append(frame)
        samples = np.concatenate([samples, np.frombuffer(frame, dtype="<i2") / np.float32(32768.0)])
        while stream.ready_windows:
            expected = samples[consumed : consumed + INPUT_SAMPLES]
            if k % 3 == 0:
                stream.skip_window()
            else:
                np.testing.assert_array_equal(stream.take_window(), expected)
            consumed += WINDOW_SAMPLES
    assert consumed > 40 * 320 - WINDOW_SAMPLES


def test_digital_silence_is_known_without_looking_at_the_samples() -> None:
    stream = VadStream()
    stream.append(bytes(640 * 2))  # 40 ms of zeros: one whole window and 128 samples
    assert stream.next_window_is_digital_silence
    stream.skip_window()
    stream.append(b"\x01\x00" * 512)  # the next window: those 128 zeros, then samples that are not zero
    assert stream.ready_windows == 1 and not stream.next_window_is_digital_silence
    assert stream.next_window_peak() == pytest.approx(1 / 32768)
    stream.skip_window()
    assert stream.ready_windows == 0 and not stream.next_window_is_digital_silence
    with pytest.raises(RuntimeError):
        stream.skip_window()
    with pytest.raises(RuntimeError):
        stream.take_window()
