"""Sample-rate conversion of PCM16 mono with soxr.

A call's audio arrives in 20 ms frames, and a windowed-sinc resampler needs look-ahead across frame
boundaries, so streams use a stateful `StreamResampler` (one per call and direction). Resampling each
frame independently would click at every boundary.

soxr works on int16 directly, which spares two float conversions per frame, but it then applies TPDF
dither to its int16 output: digital silence comes out as +-1 LSB noise (about -95 dBFS), and output
is bit-reproducible only for a fresh resampler. Use a level threshold, never `== 0`, to detect silence.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import soxr

_I16 = np.dtype("<i2")
_EMPTY = np.zeros(0, dtype=_I16)


class _SoxrStream(Protocol):
    """What we use of `soxr.ResampleStream`: soxr ships no type information, so this states it."""

    def resample_chunk(self, x: np.ndarray, last: bool = False) -> np.ndarray: ...

    def clear(self) -> None: ...


def _samples(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 data must have an even number of bytes, got {len(pcm16)}")
    return np.frombuffer(pcm16, dtype=_I16)


class StreamResampler:
    """Stateful PCM16 mono resampler for one stream.

    Output lags input by the filter delay (a few ms at "HQ"): the first chunks may come back short or
    empty, and `flush()` returns the held-back tail at the end of the stream. After `flush()` the
    object is ready for a new, unrelated stream.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream: _SoxrStream | None = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=quality)
        )

    @property
    def passthrough(self) -> bool:
        return self._stream is None

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next chunk; returns whatever output is ready (possibly b"")."""
        if self._stream is None:
            _samples(pcm16)
            return pcm16
        return self._stream.resample_chunk(_samples(pcm16)).tobytes()

    def flush(self) -> bytes:
        """End of stream: return the remaining output and reset for reuse."""
        if self._stream is None:
            return b""
        tail = self._stream.resample_chunk(_EMPTY, last=True).tobytes()
        self._stream.clear()
        return tail

    def reset(self) -> None:
        """Drop buffered input (e.g. on barge-in) without producing output."""
        if self._stream is not None:
            self._stream.clear()


def resample_pcm16(pcm16: bytes, in_rate: int, out_rate: int, quality: str = "HQ") -> bytes:
    """Resample a whole PCM16 mono buffer in one go (no state, output length ~= input * ratio)."""
    samples = _samples(pcm16)
    if in_rate == out_rate:
        return pcm16
    resampled: np.ndarray = soxr.resample(samples, in_rate, out_rate, quality=quality)  # untyped: Any
    return resampled.tobytes()
