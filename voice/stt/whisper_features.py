"""Whisper's log-mel front end in numpy: 80 mel bins of 16 kHz audio, 25 ms Hann windows (n_fft 400) every
10 ms (hop 160), as OpenAI's `log_mel_spectrogram` and faster-whisper's `FeatureExtractor` compute them.

Kept here rather than taken from faster-whisper so the image needs neither it nor its `av` and
`huggingface_hub` dependencies; `tests/unit/stt/test_whisper_features.py` checks it against an independent
per-frame formula.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

SAMPLE_RATE: Final = 16_000
N_FFT: Final = 400
HOP: Final = 160
N_MELS: Final = 80
CHUNK_FRAMES: Final = 3000  # the encoder's fixed input: 30 s of 10 ms frames
CHUNK_SAMPLES: Final = CHUNK_FRAMES * HOP

Floats = npt.NDArray[np.float32]


def hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale (librosa's default, which Whisper's filters use): linear below 1 kHz, log above."""
    f_sp = 200.0 / 3
    mel = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_part = hz >= min_log_hz
    mel[log_part] = min_log_mel + np.log(hz[log_part] / min_log_hz) / logstep
    return mel


def mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3
    hz = mel * f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_part = mel >= min_log_mel
    hz[log_part] = min_log_hz * np.exp(logstep * (mel[log_part] - min_log_mel))
    return hz


@cache
def mel_filters() -> Floats:
    """(80, 201) Slaney-normalised triangular filters from 0 Hz to 8 kHz."""
    fft_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
    edges = mel_to_hz(np.linspace(0.0, float(hz_to_mel(np.array([SAMPLE_RATE / 2.0]))[0]), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # constant energy per band
    return weights.astype(np.float32)


@cache
def _window() -> Floats:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann


def log_mel(samples: Floats) -> Floats:
    """(80, frames) log-mel features of float samples in [-1, 1] at 16 kHz, scaled as Whisper expects.

    Like faster-whisper: 160 zero samples appended, centred frames (reflect padding of n_fft / 2), the last
    STFT frame dropped, log10 clipped at 1e-10, floored 8 (80 dB) below the loudest value, then (x + 4) / 4.
    """
    audio = np.pad(np.asarray(samples, dtype=np.float32), (0, HOP))
    if audio.size <= N_FFT // 2:  # reflect padding needs more samples than it adds
        audio = np.pad(audio, (0, N_FFT // 2 + 1 - audio.size))
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = 1 + (padded.size - N_FFT) // HOP
    strided = np.lib.stride_tricks.as_strided(
        padded, (frames, N_FFT), (padded.strides[0] * HOP, padded.strides[0]), writeable=False
    )
    spectrum = np.fft.rfft(strided * _window(), axis=-1).astype(np.complex64)
    power = (np.abs(spectrum[:-1]) ** 2).T  # (201, frames - 1)
    mel = mel_filters() @ power
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    scaled: Floats = ((logs + 4.0) / 4.0).astype(np.float32)
    return scaled


def encoder_input(samples: Floats) -> Floats:
    """(1, 80, 3000): the features of at most 30 s of audio, zero-padded (in the log domain, as Whisper does)."""
    features = log_mel(samples[:CHUNK_SAMPLES])[:, :CHUNK_FRAMES]
    out = np.zeros((1, N_MELS, CHUNK_FRAMES), dtype=np.float32)
    out[0, :, : features.shape[1]] = features
    return out


def pcm16_to_float(pcm: bytes) -> Floats:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
