"""PCM16 <-> float conversion, ITU-T G.711 (mu-law / A-law) and level metering.

Everything here runs on the per-frame path, so each function is a handful of vectorised numpy
operations. G.711 uses lookup tables built once at import: a 256-entry decode table and a
65536-entry encode table indexed by the uint16 view of each int16 sample, so encoding or decoding
a frame is one fancy-indexing gather. The encoders follow the classic Sun reference quantisers
(mu-law on the 14-bit, A-law on the 13-bit magnitude), so output is bit-exact with them.
"""

from __future__ import annotations

import math

import numpy as np

# Wire audio is little-endian whatever the host is.
_I16 = np.dtype("<i2")
_U16 = np.dtype("<u2")
_SCALE = np.float32(1.0 / 32768.0)

SILENCE_DBFS = -100.0
"""Level reported for digital silence (log of zero has no finite value)."""


def _check_pcm16(data: bytes) -> None:
    if len(data) % 2:
        raise ValueError(f"PCM16 data must have an even number of bytes, got {len(data)}")


def pcm16_to_float32(data: bytes, out: np.ndarray | None = None) -> np.ndarray:
    """PCM16LE bytes -> float32 samples in [-1, 1). Pass `out` to reuse a preallocated buffer."""
    _check_pcm16(data)
    ints = np.frombuffer(data, dtype=_I16)
    if out is None:
        return ints * _SCALE
    floats: np.ndarray = np.multiply(ints, _SCALE, out=out[: ints.size])  # numpy: Any with out=
    return floats


def float32_to_pcm16(samples: np.ndarray) -> bytes:
    """float samples (nominally [-1, 1]) -> PCM16LE bytes, rounding and clipping out-of-range values."""
    scaled: np.ndarray = np.multiply(samples, 32768.0, dtype=np.float32)  # numpy: Any with dtype=
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype(_I16).tobytes()


def rms_dbfs(pcm16: bytes) -> float:
    """RMS level in dBFS relative to a full-scale square wave (a full-scale sine reads about -3 dB)."""
    _check_pcm16(pcm16)
    ints = np.frombuffer(pcm16, dtype=_I16)
    if ints.size == 0:
        return SILENCE_DBFS
    x = ints.astype(np.float64)
    mean_square = float(np.dot(x, x)) / x.size
    if mean_square <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(mean_square / (32768.0 * 32768.0)))


# --- G.711 tables --------------------------------------------------------------------------------


def _floor_log2(v: np.ndarray) -> np.ndarray:
    """floor(log2(v)) for positive integers, exact (frexp returns v = m * 2**e with m in [0.5, 1))."""
    return np.frexp(v.astype(np.float64))[1].astype(np.int32) - 1


def _build_mulaw_decode() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF  # mu-law transmits every bit inverted
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(_I16)


def _build_mulaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit linear input
    negative = pcm < 0
    # Bias by 33 so every segment starts on a power of two; cap so the top segment saturates cleanly.
    biased = np.minimum(np.minimum(np.abs(pcm), 8159) + 33, 0x1FFF)
    segment = _floor_log2(biased) - 5
    mantissa = (biased >> (segment + 1)) & 0x0F
    code = ~((segment << 4) | mantissa | np.where(negative, 0x80, 0)) & 0xFF
    table = np.empty(65536, dtype=np.uint8)
    table[np.arange(-32768, 32768, dtype=np.int32).astype(np.int16).view(np.uint16)] = code
    return table


def _build_alaw_decode() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ 0x55  # A-law inverts the even bits
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    # Segment 0 is linear; each further segment doubles the step. +0x08 / +0x108 centre the step.
    magnitude = np.where(
        segment == 0,
        (mantissa << 4) + 0x08,
        ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0),
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(_I16)


def _build_alaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit linear input
    negative = pcm < 0
    magnitude = np.where(negative, ~pcm, pcm)  # one's complement keeps -1 and 0 in distinct codes
    segment = np.maximum(_floor_log2(np.maximum(magnitude, 1)) - 4, 0)
    mantissa = (magnitude >> np.maximum(segment, 1)) & 0x0F
    code = ((segment << 4) | mantissa) ^ np.where(negative, 0x55, 0xD5)
    table = np.empty(65536, dtype=np.uint8)
    table[np.arange(-32768, 32768, dtype=np.int32).astype(np.int16).view(np.uint16)] = code
    return table


_MULAW_DECODE = _build_mulaw_decode()
_MULAW_ENCODE = _build_mulaw_encode()
_ALAW_DECODE = _build_alaw_decode()
_ALAW_ENCODE = _build_alaw_encode()
for _table in (_MULAW_DECODE, _MULAW_ENCODE, _ALAW_DECODE, _ALAW_ENCODE):
    _table.flags.writeable = False  # shared read-only by every call


def mulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law bytes -> PCM16LE bytes (two output bytes per input byte)."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def mulaw_encode(pcm16: bytes) -> bytes:
    """PCM16LE bytes -> G.711 mu-law bytes (one per sample)."""
    _check_pcm16(pcm16)
    return _MULAW_ENCODE[np.frombuffer(pcm16, dtype=_U16)].tobytes()


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law bytes -> PCM16LE bytes (two output bytes per input byte)."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_encode(pcm16: bytes) -> bytes:
    """PCM16LE bytes -> G.711 A-law bytes (one per sample)."""
    _check_pcm16(pcm16)
    return _ALAW_ENCODE[np.frombuffer(pcm16, dtype=_U16)].tobytes()
