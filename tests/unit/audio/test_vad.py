"""Silero VAD on onnxruntime tells real speech from silence, tones and noise."""

from __future__ import annotations

import itertools
import sys
import threading

import numpy as np
import pytest

from tests.unit.audio.signals import silence_pcm16, sine, speech_via_22k, to_pcm16, white_noise
from voice.audio.framing import split_frames
from voice.audio.vad import (
    FORMATS,
    SileroVadModel,
    VadStream,
    default_model_path,
    get_shared_model,
    vad_format,
)

# The model at both rates it accepts, fed 16 kHz audio (halved on the way in at 8 kHz).
both_rates = pytest.mark.parametrize("model_rate", [8000, 16000], ids=["vad8k", "vad16k"])


def probs_for(pcm: bytes, model_rate: int, frame_bytes: int = 640) -> np.ndarray:
    """Feed audio the way the media path does (20 ms frames) and collect every window's probability."""
    stream = VadStream(model_rate=model_rate)
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


@both_rates
def test_explicit_model_path_is_honoured(model_rate: int) -> None:
    model = SileroVadModel(default_model_path())
    width = vad_format(model_rate).input_samples
    probs, states = model.infer(np.zeros((1, width), np.float32), SileroVadModel.initial_state(1))
    assert probs.shape == (1,)
    assert states.shape == (2, 1, 128)


def test_the_window_width_names_the_rate_and_any_other_is_refused() -> None:
    assert [f.input_samples for f in FORMATS.values()] == [288, 576]
    with pytest.raises(ValueError, match=r"288 \(8 kHz\) or 576"):
        get_shared_model().infer(np.zeros((1, 512), np.float32), SileroVadModel.initial_state(1))
    with pytest.raises(ValueError, match="8000 or 16000"):
        vad_format(24000)
    with pytest.raises(ValueError, match="8000 or 16000 Hz audio, not 24000"):
        VadStream(model_rate=8000, input_rate=24000)


@both_rates
def test_one_probability_per_32ms_window_with_the_remainder_buffered(model_rate: int) -> None:
    stream = VadStream(model_rate=model_rate)
    probs: list[float] = []
    for frame in split_frames(silence_pcm16(16000, 1.0), 640):
        probs += stream.push(frame)
    assert len(probs) == 31  # 31 windows of 32 ms; 8 ms wait for the next push
    assert stream.ready_windows == 0
    assert len(stream.push(bytes(2 * (512 - 128)))) == 1  # the 24 ms that complete the window


def test_an_8k_model_takes_8k_audio_as_it_is() -> None:
    stream = VadStream(model_rate=8000, input_rate=8000)
    assert stream.push(bytes(2 * 255)) == []
    assert len(stream.push(bytes(2))) == 1


def test_halving_pairs_samples_across_pushes_of_odd_length() -> None:
    """16 kHz in, 8 kHz to the model: each model sample is the mean of two input samples, also when a push
    ends between the two."""
    rng = np.random.default_rng(5)
    samples = (rng.standard_normal(2 * 256 + 64) * 3000).astype("<i2")
    stream = VadStream(model_rate=8000)
    pcm = samples.tobytes()
    cuts = [0, 2 * 101, 2 * 333, len(pcm)]  # pushes of 101, 232 and 243 samples
    for start, end in itertools.pairwise(cuts):
        stream.append(pcm[start:end])
    expected = (samples[0::2].astype(np.float32) + samples[1::2]) / np.float32(65536.0)
    row = stream.take_window()
    np.testing.assert_allclose(row[32:], expected[:256], rtol=1e-6)
    np.testing.assert_array_equal(row[:32], 0.0)  # the context before the first window


@both_rates
def test_silence_is_not_speech(model_rate: int) -> None:
    probs = probs_for(silence_pcm16(16000, 2.0), model_rate)
    assert probs.max() < 0.1


@both_rates
def test_real_speech_is_speech(speech_16k: bytes, model_rate: int) -> None:
    probs = probs_for(speech_16k, model_rate)
    assert (probs >= 0.5).mean() > 0.6  # the rest: pauses between words and sentences
    assert np.median(probs) > 0.9


@both_rates
def test_speech_resampled_from_espeaks_native_rate_is_speech(model_rate: int) -> None:
    probs = probs_for(speech_via_22k(), model_rate)
    assert (probs >= 0.5).mean() > 0.6


def test_the_8k_model_calls_speech_where_the_16k_model_does(speech_16k: bytes) -> None:
    """Halving the audio for the cheaper 8 kHz model keeps its speech/non-speech calls: on speech, on quiet
    noise under it and on tones they agree with the 16 kHz model's on nearly every window."""
    rng = np.random.default_rng(3)
    speech = np.frombuffer(speech_16k, dtype="<i2").astype(np.float64)
    noisy = np.clip(speech + rng.normal(0.0, 100.0, speech.size), -32768, 32767).astype("<i2").tobytes()
    for signal in (speech_16k, noisy):
        narrow, wide = probs_for(signal, 8000), probs_for(signal, 16000)
        assert narrow.shape == wide.shape
        assert np.mean((narrow >= 0.5) == (wide >= 0.5)) >= 0.93


@pytest.mark.parametrize(
    "signal",
    [
        pytest.param(to_pcm16(sine(440.0, 16000, 3.0)), id="tone-440Hz"),
        pytest.param(to_pcm16(sine(1000.0, 16000, 3.0, dbfs=-20.0)), id="tone-1kHz-quiet"),
        pytest.param(to_pcm16(white_noise(16000, 3.0, rms=0.1)), id="white-noise"),
        pytest.param(to_pcm16(white_noise(16000, 3.0, rms=0.01)), id="white-noise-quiet"),
    ],
)
@both_rates
def test_tones_and_noise_score_far_below_speech(signal: bytes, speech_16k: bytes, model_rate: int) -> None:
    probs = probs_for(signal, model_rate)
    speech = probs_for(speech_16k, model_rate)
    assert probs.mean() < 0.2
    assert (probs >= 0.5).mean() < 0.05
    assert probs.mean() < speech.mean() - 0.5


@both_rates
def test_chunking_does_not_change_the_result(speech_16k: bytes, model_rate: int) -> None:
    # Context and state carry across pushes, so any chunking gives the same probabilities.
    whole = np.array(VadStream(model_rate=model_rate).push(speech_16k))
    framed = probs_for(speech_16k, model_rate, frame_bytes=640)
    odd = probs_for(speech_16k, model_rate, frame_bytes=2 * 701)
    assert whole.shape == framed.shape == odd.shape
    np.testing.assert_allclose(framed, whole, atol=1e-5)
    np.testing.assert_allclose(odd, whole, atol=1e-5)


@both_rates
def test_reset_forgets_audio_and_state(speech_16k: bytes, model_rate: int) -> None:
    stream = VadStream(model_rate=model_rate)
    first = stream.push(speech_16k)
    stream.push(bytes(302))
    stream.reset()
    assert stream.push(speech_16k) == pytest.approx(first, abs=1e-6)


@both_rates
def test_one_batched_inference_equals_each_call_on_its_own(speech_16k: bytes, model_rate: int) -> None:
    # What a cross-call batcher does: stack the next window of every call, run the model once.
    signals = [speech_16k, to_pcm16(white_noise(16000, 3.4)), to_pcm16(sine(440.0, 16000, 3.4))]
    expected = [np.array(VadStream(model_rate=model_rate).push(pcm)) for pcm in signals]

    model = get_shared_model()
    streams = [VadStream(model, model_rate=model_rate) for _ in signals]
    windows = np.zeros((len(streams), vad_format(model_rate).input_samples), np.float32)
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


@both_rates
def test_odd_length_input_is_rejected(model_rate: int) -> None:
    with pytest.raises(ValueError, match="even"):
        VadStream(model_rate=model_rate).push(b"\x00\x01\x02")


@both_rates
def test_window_peaks_with_digital_silence_between_speech_match_the_samples(model_rate: int) -> None:
    """Frames of all-zero PCM skip the int16 -> float conversion and are remembered as silent; the peak of
    every window must still be the peak of its samples, across buffer compaction and growth. (Audio at the
    model's rate: the buffer's bookkeeping is the same after halving.)"""
    window_samples, frame = vad_format(model_rate).window, model_rate // 50
    rng = np.random.default_rng(7)
    loud = [(rng.standard_normal(frame) * 2000).astype("<i2").tobytes() for _ in range(4)]
    zero = bytes(2 * frame)
    pattern = [zero, loud[0], zero, zero, zero, loud[1], loud[2], zero, zero, zero, zero, loud[3]] * 6
    pattern.insert(30, b"".join([zero] * 9 + [loud[0]]))  # one push larger than the buffer: it grows
    stream = VadStream(model_rate=model_rate, input_rate=model_rate)
    samples = np.zeros(0, dtype=np.float32)
    for pcm in pattern:
        stream.append(pcm)
        samples = np.concatenate([samples, np.frombuffer(pcm, dtype="<i2") / np.float32(32768.0)])
        while stream.ready_windows:
            window = samples[:window_samples]
            assert stream.next_window_peak() == float(np.abs(window).max())
            row = stream.take_window()
            np.testing.assert_array_equal(row[-window_samples:], window)
            samples = samples[window_samples:]


@both_rates
def test_a_windows_model_input_is_the_context_before_it_and_its_samples_whatever_was_skipped(
    model_rate: int,
) -> None:
    """`take_window` copies one slice of the buffer: the context samples before the window (zeros at the
    start) and its own. Windows consumed with `skip_window` leave their samples as the next window's
    context, across buffer compaction and growth."""
    fmt, frame = vad_format(model_rate), model_rate // 50
    rng = np.random.default_rng(11)
    frames = [(rng.standard_normal(frame) * 3000).astype("<i2").tobytes() for _ in range(40)]
    frames[7:12] = [bytes(2 * frame)] * 5
    frames.insert(
        20, (rng.standard_normal(10 * fmt.window) * 3000).astype("<i2").tobytes()
    )  # grows the buffer
    stream = VadStream(model_rate=model_rate, input_rate=model_rate)
    samples = np.zeros(fmt.context, dtype=np.float32)  # the context before the first window
    consumed = 0
    for k, pcm in enumerate(frames):
        stream.append(pcm)
        samples = np.concatenate([samples, np.frombuffer(pcm, dtype="<i2") / np.float32(32768.0)])
        while stream.ready_windows:
            expected = samples[consumed : consumed + fmt.input_samples]
            if k % 3 == 0:
                stream.skip_window()
            else:
                np.testing.assert_array_equal(stream.take_window(), expected)
            consumed += fmt.window
    assert consumed > 40 * frame - fmt.window


@both_rates
def test_digital_silence_is_known_without_looking_at_the_samples(model_rate: int) -> None:
    stream = VadStream(model_rate=model_rate)  # 16 kHz in
    stream.append(bytes(640 * 2))  # 40 ms of zeros: one whole window and 8 ms
    assert stream.next_window_is_digital_silence
    stream.skip_window()
    stream.append(b"\x01\x00" * 384)  # the next window: those 8 ms of zeros, then samples that are not zero
    assert stream.ready_windows == 1 and not stream.next_window_is_digital_silence
    assert stream.next_window_peak() == pytest.approx(1 / 32768)
    stream.skip_window()
    assert stream.ready_windows == 0 and not stream.next_window_is_digital_silence
    with pytest.raises(RuntimeError):
        stream.skip_window()
    with pytest.raises(RuntimeError):
        stream.take_window()
