"""G.711 and PCM conversion behave like the ITU-T G.711 reference quantisers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.unit.audio.signals import from_pcm16, sine, snr_db, to_pcm16
from voice.audio.codecs import (
    SILENCE_DBFS,
    alaw_decode,
    alaw_encode,
    float32_to_pcm16,
    mulaw_decode,
    mulaw_encode,
    pcm16_to_float32,
    rms_dbfs,
)

ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def samples(pcm: bytes) -> list[int]:
    return np.frombuffer(pcm, dtype="<i2").tolist()


def pcm(*values: int) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


class TestMuLaw:
    def test_decodes_known_code_words(self) -> None:
        # 0xFF and 0x7F are +0 and -0; 0x80 / 0x00 are the largest magnitudes.
        decoded = samples(mulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00, 0xFE, 0x7E])))
        assert decoded == [0, 0, 32124, -32124, 8, -8]

    def test_encodes_known_values(self) -> None:
        assert mulaw_encode(pcm(0, 32767, -32768, 8, -8)) == bytes([0xFF, 0x80, 0x00, 0xFE, 0x7E])

    def test_every_code_word_survives_a_roundtrip_except_negative_zero(self) -> None:
        codes = mulaw_encode(mulaw_decode(ALL_CODES))
        mismatched = [c for c, back in zip(ALL_CODES, codes, strict=True) if c != back]
        assert mismatched == [0x7F]  # -0 decodes to 0, which encodes as +0 (0xFF)

    def test_quantiser_is_monotonic_over_the_whole_input_range(self) -> None:
        assert np.all(np.diff(np.frombuffer(mulaw_decode(mulaw_encode(ALL_SAMPLES)), "<i2")) >= 0)


class TestALaw:
    def test_decodes_known_code_words(self) -> None:
        assert samples(alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A]))) == [8, -8, 32256, -32256]

    def test_encodes_known_values(self) -> None:
        assert alaw_encode(pcm(0, -1, 32767, -32768)) == bytes([0xD5, 0x55, 0xAA, 0x2A])

    def test_every_code_word_survives_a_roundtrip(self) -> None:
        assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES

    def test_quantiser_is_monotonic_over_the_whole_input_range(self) -> None:
        assert np.all(np.diff(np.frombuffer(alaw_decode(alaw_encode(ALL_SAMPLES)), "<i2")) >= 0)


def test_matches_the_reference_implementation_bit_for_bit() -> None:
    # CPython's audioop (removed in 3.13) implements the Sun/ITU reference quantisers.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    assert mulaw_encode(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)
    assert alaw_encode(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES, 2)
    assert mulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize(("encode", "decode"), [(mulaw_encode, mulaw_decode), (alaw_encode, alaw_decode)])
@pytest.mark.parametrize("level_dbfs", [-6.0, -30.0])
def test_sine_roundtrip_keeps_telephone_quality_snr(encode, decode, level_dbfs: float) -> None:
    # Companding keeps the SNR roughly level-independent (about 35-38 dB). 1020 Hz is the ITU test
    # tone: unlike 1 kHz at 8 kHz it does not revisit the same 8 sample phases every period.
    tone = to_pcm16(sine(1020.0, 8000, 1.0, dbfs=level_dbfs))
    coded = encode(tone)
    assert len(coded) == len(tone) // 2
    assert snr_db(from_pcm16(tone), from_pcm16(decode(coded))) > 33.0


def test_pcm16_to_float32_scales_to_unit_range() -> None:
    floats = pcm16_to_float32(pcm(-32768, 0, 16384, 32767))
    assert floats.dtype == np.float32
    assert floats.tolist() == [-1.0, 0.0, 0.5, 32767 / 32768]


def test_pcm16_to_float32_can_fill_a_preallocated_buffer() -> None:
    out = np.full(8, 9.0, dtype=np.float32)
    view = pcm16_to_float32(pcm(16384, -16384), out=out)
    assert view.tolist() == [0.5, -0.5]
    assert np.shares_memory(view, out)
    assert out[2] == 9.0


def test_float32_to_pcm16_clips_and_roundtrips_exactly() -> None:
    clipped = float32_to_pcm16(np.array([2.0, -2.0, 0.0, 0.5], dtype=np.float32))
    assert samples(clipped) == [32767, -32768, 0, 16384]
    assert float32_to_pcm16(pcm16_to_float32(ALL_SAMPLES)) == ALL_SAMPLES


def test_odd_length_pcm_is_rejected() -> None:
    with pytest.raises(ValueError, match="even"):
        mulaw_encode(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="even"):
        pcm16_to_float32(b"\x00")


class TestRmsDbfs:
    def test_silence_and_empty_input_report_the_floor(self) -> None:
        assert rms_dbfs(bytes(640)) == SILENCE_DBFS
        assert rms_dbfs(b"") == SILENCE_DBFS

    def test_full_scale_square_is_zero_dbfs(self) -> None:
        square = np.tile(np.array([32767, -32768], dtype="<i2"), 160).tobytes()
        assert rms_dbfs(square) == pytest.approx(0.0, abs=0.01)

    @pytest.mark.parametrize("peak_dbfs", [0.0, -20.0, -50.0])
    def test_sine_reads_three_db_below_its_peak(self, peak_dbfs: float) -> None:
        tone = to_pcm16(sine(440.0, 16000, 1.0, dbfs=peak_dbfs))
        assert rms_dbfs(tone) == pytest.approx(peak_dbfs - 3.01, abs=0.05)
