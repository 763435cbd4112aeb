"""The service's own hold audio: a soft chime pattern the caller hears, looped by ACS, while a warm transfer
rings the human queue and HOLD_MUSIC_URL is unset (so the hold is never dead air).

Synthesised once per process (a few milliseconds of numpy, off the event loop) as the WAV format ACS plays from
a file source: 16-bit PCM, mono, 16 kHz. The pattern ends on a fading tail, so the loop joins without a click.
It is served unauthenticated at HOLD_AUDIO_PATH: fixed, generated content that reveals nothing.
"""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np

HOLD_AUDIO_PATH = "/api/v1/audio/hold.wav"
SAMPLE_RATE = 16_000
LOOP_S = 6.0
PEAK_DBFS = -20.0
# A slow, gentle arpeggio (E5, C5, G4, C5), one note every 1.5 s, each a sine with a soft attack and a long decay.
NOTES_HZ = (659.25, 523.25, 392.0, 523.25)
NOTE_EVERY_S = 1.5
ATTACK_S = 0.02
DECAY_S = 0.45


def synthesize_hold_pcm(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The loop as int16 samples."""
    total = int(LOOP_S * sample_rate)
    t = np.arange(total) / sample_rate
    signal = np.zeros(total)
    for i, hz in enumerate(NOTES_HZ):
        start = i * NOTE_EVERY_S
        local = t - start
        on = local >= 0
        envelope = np.where(
            on, np.minimum(local / ATTACK_S, 1.0) * np.exp(-np.maximum(local, 0) / DECAY_S), 0
        )
        # A little second harmonic makes it a chime rather than a test tone.
        signal += envelope * (np.sin(2 * np.pi * hz * local) + 0.2 * np.sin(4 * np.pi * hz * local))
    signal /= float(np.max(np.abs(signal)))
    peak = 32767 * 10 ** (PEAK_DBFS / 20)
    return np.round(signal * peak).astype("<i2")


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


_wav: bytes | None = None


async def hold_audio_wav() -> bytes:
    """The WAV, made on first use (in a thread) and kept for the process; two first requests at once may both
    make it, which is harmless."""
    global _wav
    if _wav is None:
        _wav = await asyncio.to_thread(lambda: encode_wav(synthesize_hold_pcm()))
    return _wav


def hold_audio_url(public_base_url: str) -> str:
    """Where ACS fetches the service's hold audio."""
    return public_base_url.rstrip("/") + HOLD_AUDIO_PATH
