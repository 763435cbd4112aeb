"""Low-latency streaming resampling of PCM16 mono by an integer ratio (8 kHz telephony <-> 16/24 kHz).

soxr's good-quality streams hand out output in ~100 ms blocks at 2:1 ratios (nothing, then five frames at
once), which a 20 ms frame-by-frame call cannot use, and its "quick" cubic mode aliases. A windowed-sinc FIR
with carried history gives one output chunk per input chunk, a fixed delay of half the filter (~2 ms), and a
clean cut at the lower rate's Nyquist frequency.
"""

from __future__ import annotations

import numpy as np

_I16 = np.dtype("<i2")
TAPS_PER_PHASE = 24


def _lowpass(ratio: int) -> np.ndarray:
    """Windowed-sinc low-pass at 0.9 x the lower rate's Nyquist frequency, for the higher rate."""
    taps = TAPS_PER_PHASE * ratio
    n = np.arange(taps) - (taps - 1) / 2
    cutoff = 0.9 / ratio  # of the higher rate's Nyquist frequency
    kernel = cutoff * np.sinc(cutoff * n) * np.kaiser(taps, 8.0)
    result: np.ndarray = kernel / kernel.sum()
    return result


class IntegerResampler:
    """Stateful PCM16 mono resampler for one stream where one rate is a whole multiple of the other."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        high, low = max(in_rate, out_rate), min(in_rate, out_rate)
        if high % low:
            raise ValueError(f"{in_rate} -> {out_rate} is not a whole ratio")
        self.in_rate, self.out_rate = in_rate, out_rate
        self._ratio = high // low
        self._up = out_rate > in_rate
        self._kernel = _lowpass(self._ratio) * (self._ratio if self._up else 1)
        self._history = np.zeros(len(self._kernel) - 1, dtype=np.float64)
        self._phase = 0  # downsampling: input samples to skip before the next kept one

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next chunk: one output chunk per input chunk (ratio x as long, or 1/ratio)."""
        if len(pcm16) % 2:
            raise ValueError(f"PCM16 data must have an even number of bytes, got {len(pcm16)}")
        if self._ratio == 1 or not pcm16:
            return pcm16
        samples = np.frombuffer(pcm16, dtype=_I16).astype(np.float64)
        if self._up:
            stuffed = np.zeros(len(samples) * self._ratio, dtype=np.float64)
            stuffed[:: self._ratio] = samples
            samples = stuffed
        padded = np.concatenate((self._history, samples))
        filtered = np.convolve(padded, self._kernel, mode="valid")
        self._history = padded[len(padded) - len(self._history) :]
        if not self._up:
            kept = filtered[self._phase :: self._ratio]
            self._phase = (self._phase - len(filtered)) % self._ratio
            filtered = kept
        return np.clip(np.round(filtered), -32768, 32767).astype(_I16).tobytes()

    def reset(self) -> None:
        """Forget the history (a clear: the next audio is unrelated to what was cut)."""
        self._history[:] = 0
        self._phase = 0
