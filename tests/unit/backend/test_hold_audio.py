"""The service's own hold audio: a WAV ACS can play (16-bit PCM, mono, 16 kHz), audible but soft, and a loop that
joins without a click."""

from __future__ import annotations

import io
import wave

import numpy as np

from apps.acs_simulator.hold_audio import HoldLoop, decode_wav
from apps.acs_simulator.playout import frame_is_voiced
from apps.backend.hold_audio import LOOP_S, hold_audio_url, hold_audio_wav


async def test_the_hold_audio_is_a_wav_acs_plays_and_is_audible_but_soft() -> None:
    data = await hold_audio_wav()
    assert await hold_audio_wav() is data  # made once
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    assert samples.size == int(LOOP_S * 16_000)
    peak_dbfs = 20 * np.log10(np.max(np.abs(samples)) / 32768)
    assert -24 < peak_dbfs < -16
    frames = samples[: samples.size // 320 * 320].reshape(-1, 320)
    voiced = [frame_is_voiced(f.astype("<i2").tobytes()) for f in frames]
    assert sum(voiced) / len(voiced) > 0.8  # never long stretches of dead air
    # The loop's seam: the tail has faded to near silence, so starting again does not click.
    assert np.max(np.abs(samples[-160:])) < 0.05 * np.max(np.abs(samples))


async def test_the_simulator_loops_it_at_the_calls_rate() -> None:
    pcm = decode_wav(await hold_audio_wav(), 24_000)
    assert len(pcm) == int(LOOP_S * 24_000) * 2
    loop = HoldLoop(pcm, 960)
    frames = [loop.next_frame() for _ in range(int(LOOP_S * 50) + 1)]
    assert frames[-1] == frames[0] and all(len(f) == 960 for f in frames)


def test_its_url_is_under_the_public_base_url() -> None:
    assert hold_audio_url("https://sb.example.net/") == "https://sb.example.net/api/v1/audio/hold.wav"
