"""Real test signals (tones, noise, silence, synthesized speech) and spectrum helpers."""

from __future__ import annotations

import asyncio

import numpy as np

from voice.audio.resample import resample_pcm16
from voice.tts.local import EspeakTts

SPEECH_TEXT = "Hello, thank you for calling. How can I help you today?"


def sine(freq_hz: float, sample_rate: int, seconds: float, dbfs: float = -6.0) -> np.ndarray:
    """A sine whose peak is `dbfs` below full scale, as float samples."""
    t = np.arange(round(sample_rate * seconds)) / sample_rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def white_noise(sample_rate: int, seconds: float, rms: float = 0.1, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, rms, round(sample_rate * seconds))
    return np.clip(noise, -1.0, 1.0).astype(np.float32)


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(np.rint(samples * 32767.0), -32768, 32767)).astype("<i2").tobytes()


def from_pcm16(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def silence_pcm16(sample_rate: int, seconds: float) -> bytes:
    return bytes(2 * round(sample_rate * seconds))


def peak_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """Frequency of the largest FFT bin (Hann-windowed)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * sample_rate / samples.size)


def snr_db(reference: np.ndarray, degraded: np.ndarray) -> float:
    noise = degraded - reference
    return float(10 * np.log10(np.sum(reference**2) / np.sum(noise**2)))


def synthesize_speech(text: str = SPEECH_TEXT, sample_rate: int = 16000) -> bytes:
    """Real speech from the embedded TTS, resampled by it to `sample_rate`."""
    return asyncio.run(EspeakTts().synthesize(text, sample_rate=sample_rate))


def speech_via_22k(text: str = SPEECH_TEXT, sample_rate: int = 16000) -> bytes:
    """Speech at espeak's native rate, resampled one-shot (exercises resample_pcm16 on real audio)."""
    return resample_pcm16(synthesize_speech(text, 22050), 22050, sample_rate)
