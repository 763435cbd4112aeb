"""soxr resampling preserves content and streams without seams."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.audio.signals import from_pcm16, peak_frequency, sine, to_pcm16
from voice.audio.codecs import rms_dbfs
from voice.audio.framing import split_frames
from voice.audio.resample import StreamResampler, resample_pcm16


def stream_through(resampler: StreamResampler, pcm: bytes, chunk_bytes: int) -> bytes:
    out = [resampler.process(chunk) for chunk in split_frames(pcm, chunk_bytes, pad=False)]
    out.append(resampler.flush())
    return b"".join(out)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(16000, 24000), (24000, 16000), (22050, 16000)])
def test_one_shot_keeps_a_tone_at_its_frequency(in_rate: int, out_rate: int) -> None:
    tone = to_pcm16(sine(440.0, in_rate, 1.0))
    out = resample_pcm16(tone, in_rate, out_rate)
    assert len(out) // 2 == pytest.approx(out_rate, abs=2)
    assert peak_frequency(from_pcm16(out), out_rate) == pytest.approx(440.0, abs=1.0)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(16000, 24000), (24000, 16000)])
def test_streaming_20ms_frames_matches_one_shot(in_rate: int, out_rate: int) -> None:
    tone = to_pcm16(sine(440.0, in_rate, 2.0))
    frame_bytes = in_rate // 50 * 2
    streamed = stream_through(StreamResampler(in_rate, out_rate), tone, frame_bytes)
    one_shot = resample_pcm16(tone, in_rate, out_rate)

    expected_samples = len(tone) // 2 * out_rate / in_rate
    assert len(streamed) // 2 == pytest.approx(expected_samples, abs=2)
    assert peak_frequency(from_pcm16(streamed), out_rate) == pytest.approx(440.0, abs=1.0)
    n = min(len(streamed), len(one_shot)) // 2
    diff = np.abs(from_pcm16(streamed[: 2 * n]) - from_pcm16(one_shot[: 2 * n]))
    assert diff.max() < 1e-3  # within a few LSBs of int16


def test_streaming_has_no_seams_between_frames() -> None:
    # A clean tone has almost no energy away from its frequency; clicks at frame joins would add some.
    out = from_pcm16(stream_through(StreamResampler(16000, 24000), to_pcm16(sine(440.0, 16000, 2.0)), 640))
    steady = out[2400:-2400]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size))) ** 2
    freqs = np.fft.rfftfreq(steady.size, 1 / 24000)
    off_tone = spectrum[np.abs(freqs - 440.0) > 50.0].sum()
    assert 10 * np.log10(off_tone / spectrum.sum()) < -60.0


def test_early_chunks_may_be_short_but_nothing_is_lost() -> None:
    resampler = StreamResampler(16000, 24000)
    first = resampler.process(to_pcm16(sine(440.0, 16000, 0.02)))
    assert len(first) < 960  # the filter holds back its look-ahead
    rest = resampler.flush()
    assert (len(first) + len(rest)) // 2 == pytest.approx(480, abs=1)


def test_a_flushed_resampler_starts_a_fresh_stream() -> None:
    tone = to_pcm16(sine(300.0, 24000, 0.5))
    resampler = StreamResampler(24000, 16000)
    first = stream_through(resampler, tone, 960)
    second = stream_through(resampler, tone, 960)
    assert len(first) == len(second)
    # Only soxr's int16 dither (+-1 LSB, its random state runs on) may differ.
    assert np.abs(from_pcm16(first) - from_pcm16(second)).max() <= 2 / 32768


def test_equal_rates_pass_audio_through_untouched() -> None:
    tone = to_pcm16(sine(440.0, 16000, 0.1))
    resampler = StreamResampler(16000, 16000)
    assert resampler.passthrough
    assert resampler.process(tone) == tone
    assert resampler.flush() == b""
    assert resample_pcm16(tone, 16000, 16000) == tone


def test_silence_stays_silent_up_to_dither() -> None:
    out = resample_pcm16(bytes(3200), 16000, 24000)
    assert np.abs(np.frombuffer(out, "<i2")).max() <= 1
    assert rms_dbfs(out) < -90.0


def test_invalid_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        StreamResampler(0, 16000)
    with pytest.raises(ValueError, match="even"):
        StreamResampler(16000, 24000).process(b"\x01")
