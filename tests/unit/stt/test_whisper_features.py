"""The Whisper log-mel front end against an independent per-frame computation (explicit DFT, filters built band
by band from their edge frequencies), and its shapes and scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voice.stt.whisper_features import (
    CHUNK_FRAMES,
    HOP,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    encoder_input,
    log_mel,
    mel_filters,
    pcm16_to_float,
)


def slaney_mel(hz: float) -> float:
    return hz / (200 / 3) if hz < 1000 else 15.0 + math.log(hz / 1000) * 27 / math.log(6.4)


def slaney_hz(mel: float) -> float:
    return mel * 200 / 3 if mel < 15.0 else 1000 * math.exp((mel - 15.0) * math.log(6.4) / 27)


def reference_filters() -> np.ndarray:
    """Band by band: a triangle from edge[m] through edge[m + 1] to edge[m + 2], area-normalised (Slaney)."""
    top = slaney_mel(SAMPLE_RATE / 2)
    edges = [slaney_hz(top * i / (N_MELS + 1)) for i in range(N_MELS + 2)]
    weights = np.zeros((N_MELS, N_FFT // 2 + 1))
    for m in range(N_MELS):
        left, centre, right = edges[m : m + 3]
        for k in range(N_FFT // 2 + 1):
            f = k * SAMPLE_RATE / N_FFT
            rise = (f - left) / (centre - left)
            fall = (right - f) / (right - centre)
            weights[m, k] = max(0.0, min(rise, fall)) * 2 / (right - left)
    return weights


def reference_log_mel(x: np.ndarray) -> np.ndarray:
    """Frame by frame with an explicit DFT; the same conventions as Whisper (see the module under test)."""
    audio = np.concatenate([x.astype(np.float64), np.zeros(HOP)])
    half = N_FFT // 2
    padded = np.concatenate([audio[1 : half + 1][::-1], audio, audio[-half - 1 : -1][::-1]])  # reflect
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic Hann
    dft = np.exp(-2j * np.pi * np.outer(np.arange(half + 1), n) / N_FFT)
    frames = 1 + (padded.size - N_FFT) // HOP - 1  # the last frame is dropped
    power = np.empty((half + 1, frames))
    for t in range(frames):
        power[:, t] = np.abs(dft @ (padded[t * HOP : t * HOP + N_FFT] * window)) ** 2
    logs = np.log10(np.maximum(reference_filters() @ power, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return (logs + 4.0) / 4.0


def test_mel_filters_match_a_band_by_band_construction() -> None:
    assert mel_filters().shape == (N_MELS, N_FFT // 2 + 1)
    np.testing.assert_allclose(mel_filters(), reference_filters(), atol=1e-6)


@pytest.mark.parametrize("hz", [300.0, 440.0, 1000.0, 3000.0])
def test_log_mel_of_a_tone_matches_the_reference(hz: float) -> None:
    t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    ours = log_mel(tone)
    reference = reference_log_mel(tone)
    assert ours.shape == reference.shape == (N_MELS, tone.size // HOP + 1)
    np.testing.assert_allclose(ours, reference, atol=2e-4)
    # The loudest band is the one whose centre is nearest the tone.
    top = slaney_mel(SAMPLE_RATE / 2)
    centres = [slaney_hz(top * (m + 1) / (N_MELS + 1)) for m in range(N_MELS)]
    middle = ours[:, ours.shape[1] // 2]
    assert abs(centres[int(np.argmax(middle))] - hz) <= 0.1 * hz + 40


def test_log_mel_floors_80_db_below_the_peak_and_scales_as_whisper() -> None:
    noise = np.random.default_rng(3).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    noise[: SAMPLE_RATE // 2] = 0.0  # digital silence: floored, not log(0)
    features = log_mel(noise)
    assert np.isfinite(features).all()
    assert features.max() - features.min() == pytest.approx(2.0, abs=1e-5)  # 8 decades / 4


def test_encoder_input_is_30_s_zero_padded_and_trims_longer_audio() -> None:
    short = encoder_input(np.zeros(SAMPLE_RATE, dtype=np.float32) + 0.01)
    assert short.shape == (1, N_MELS, CHUNK_FRAMES)
    assert not short[0, :, 150:].any()
    long = encoder_input(np.full(40 * SAMPLE_RATE, 0.01, dtype=np.float32))
    assert long.shape == (1, N_MELS, CHUNK_FRAMES)


def test_pcm16_is_scaled_to_unit_range() -> None:
    pcm = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()
    np.testing.assert_allclose(pcm16_to_float(pcm), [0.0, 0.5, -1.0, 32767 / 32768])
