"""Silero VAD (v5/v6 ONNX) on onnxruntime, without torch.

The model is a small recurrent network: every 512-sample window (32 ms at 16 kHz) goes in together
with the 64 samples that preceded it and a [2, N, 128] recurrent state, and one speech probability
per row comes out. Rows are independent, so `SileroVadModel.infer` takes a batch: a batcher can stack
the next window of N different calls and run one inference for all of them. `VadStream` is the
per-call side: it owns the call's sample buffer, context and state, and can either run its windows
itself (`push`) or hand them to a batcher (`ready_windows` / `take_window` / `state`).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 512  # the only window size Silero v5+ accepts at 16 kHz
CONTEXT_SAMPLES = 64  # tail of the previous window, prepended to each window
INPUT_SAMPLES = CONTEXT_SAMPLES + WINDOW_SAMPLES
WINDOW_MS = WINDOW_SAMPLES * 1000 // SAMPLE_RATE  # 32
STATE_SIZE = 128

_I16 = np.dtype("<i2")
_SCALE = np.float32(1.0 / 32768.0)


@functools.lru_cache(maxsize=8)
def _zeros(size: int) -> bytes:
    """`size` bytes of digital silence, to compare a frame with (one memcmp)."""
    return bytes(size)


def default_model_path() -> Path:
    """The ONNX file shipped in the `silero-vad` wheel, found without importing the package.

    Importing `silero_vad` would import torch; `find_spec` only locates the directory.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the silero-vad wheel is not installed (pip install --no-deps silero-vad)")
    return Path(spec.submodule_search_locations[0]) / "data" / "silero_vad.onnx"


class SileroVadModel:
    """One ONNX session, shared read-only by every call in the process (inference is thread-safe)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        options = ort.SessionOptions()
        # Many small inferences from one event loop: extra threads only add wake-up latency.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    @staticmethod
    def initial_state(batch: int = 1) -> np.ndarray:
        return np.zeros((2, batch, STATE_SIZE), dtype=np.float32)

    def infer(self, windows: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run N windows at once.

        windows: float32 [N, 576] (64 context samples + 512 new samples, 16 kHz, in [-1, 1)).
        states: float32 [2, N, 128], row i belonging to the call that owns window i.
        Returns (probabilities [N], new states [2, N, 128]).
        """
        probs, new_states = self._session.run(None, {"input": windows, "state": states, "sr": self._sr})
        return probs.reshape(-1), new_states


_shared_model: SileroVadModel | None = None
_shared_lock = threading.Lock()


def get_shared_model() -> SileroVadModel:
    """The process-wide default model, loaded on first use (thread-safe)."""
    global _shared_model
    if _shared_model is None:
        with _shared_lock:
            if _shared_model is None:
                _shared_model = SileroVadModel()
    return _shared_model


class VadStream:
    """Speech probability for one call's 16 kHz PCM16 audio, one value per 32 ms window.

    `push` runs ONNX synchronously on the calling thread: about 0.25 ms per window on one 2.5 GHz Xeon
    core (one window per 32 ms of audio, so ~0.8% of a core per call). It is meant to be called straight
    from the frame path. For many calls, prefer a batcher that gathers `take_window()` rows and `state`
    from each stream and calls `SileroVadModel.infer` once: batches of 32+ cost ~0.08 ms per window.
    """

    def __init__(self, model: SileroVadModel | None = None) -> None:
        self._model = model if model is not None else get_shared_model()
        # Samples not yet consumed by a window live in _pending[_start:_end], always preceded by the
        # CONTEXT_SAMPLES before them (zeros at the start): a window's model input is the one contiguous
        # slice _pending[_start - CONTEXT_SAMPLES : _start + WINDOW_SAMPLES], copied once. The buffer grows
        # only if a single push exceeds its capacity; 8 windows (16 KB) keep the moves of the remainder to the
        # front rare (one per ~13 frames).
        self._pending = np.zeros(8 * WINDOW_SAMPLES + CONTEXT_SAMPLES, dtype=np.float32)
        self._start = CONTEXT_SAMPLES
        self._end = CONTEXT_SAMPLES
        # _pending[_loud_end:_end] holds only samples appended as digital silence (all-zero PCM): a window
        # starting at or after _loud_end is silent without looking at it.
        self._loud_end = 0
        self._input = np.zeros((1, INPUT_SAMPLES), dtype=np.float32)  # `push`'s model input
        self.state: np.ndarray = SileroVadModel.initial_state(1)
        """Recurrent state [2, 1, 128]; a batcher reads it into its batch and writes the result back (a view
        of the batch's output is fine: it is replaced, never written to)."""

    @property
    def ready_windows(self) -> int:
        return (self._end - self._start) // WINDOW_SAMPLES

    @property
    def next_window_is_digital_silence(self) -> bool:
        """The oldest complete window is all-zero PCM (known from `append`, without looking at it)."""
        return self._end - self._start >= WINDOW_SAMPLES and self._start >= self._loud_end

    def append(self, pcm16_16k: bytes) -> None:
        """Buffer audio without running the model."""
        if len(pcm16_16k) % 2:
            raise ValueError(f"PCM16 data must have an even number of bytes, got {len(pcm16_16k)}")
        size = len(pcm16_16k) // 2
        if self._end + size > self._pending.size:
            self._compact(size)
        end = self._end + size
        if pcm16_16k == _zeros(len(pcm16_16k)):  # digital silence: no conversion, and remembered as such
            self._pending[self._end : end] = 0.0
        else:
            np.multiply(np.frombuffer(pcm16_16k, dtype=_I16), _SCALE, out=self._pending[self._end : end])
            self._loud_end = end
        self._end = end

    def _compact(self, incoming: int) -> None:
        """Move the unconsumed samples, with the context before them, to the front (growing the buffer if
        `incoming` more would not fit)."""
        keep_from = self._start - CONTEXT_SAMPLES
        kept = self._end - keep_from
        if kept + incoming > self._pending.size:
            grown = np.zeros(max(kept + incoming, 2 * self._pending.size), dtype=np.float32)
            grown[:kept] = self._pending[keep_from : self._end]
            self._pending = grown
        else:  # the unconsumed remainder is under one window after a typical push
            self._pending[:kept] = self._pending[keep_from : self._end]
        self._loud_end = max(0, self._loud_end - keep_from)
        self._start, self._end = CONTEXT_SAMPLES, kept

    def next_window_peak(self) -> float:
        """Peak magnitude of the oldest complete window (without consuming it); 0.0 when none is buffered."""
        if self._end - self._start < WINDOW_SAMPLES or self._start >= self._loud_end:
            return 0.0
        window = self._pending[self._start : self._start + WINDOW_SAMPLES]
        return float(max(window.max(), -window.min()))

    def take_window(self, out: np.ndarray | None = None) -> np.ndarray:
        """Consume the oldest complete window; return (or write into `out`) its [576] model input.

        Without `out` the returned row is an internal buffer, valid until the next call.
        """
        start = self._start
        if self._end - start < WINDOW_SAMPLES:
            raise RuntimeError("no complete window buffered")
        row = self._pending[start - CONTEXT_SAMPLES : start + WINDOW_SAMPLES]
        self._start = start + WINDOW_SAMPLES
        if out is None:
            out = self._input[0]
        out[:] = row
        return out

    def skip_window(self) -> None:
        """Consume the oldest complete window without copying it (a batcher that will not run it). Its
        samples stay in the buffer as the next window's context."""
        if self._end - self._start < WINDOW_SAMPLES:
            raise RuntimeError("no complete window buffered")
        self._start += WINDOW_SAMPLES

    def push(self, pcm16_16k: bytes) -> list[float]:
        """Buffer audio and return the speech probability of every complete window now available."""
        self.append(pcm16_16k)
        probs: list[float] = []
        while self._end - self._start >= WINDOW_SAMPLES:
            self.take_window()
            prob, self.state = self._model.infer(self._input, np.ascontiguousarray(self.state))
            probs.append(float(prob[0]))
        return probs

    def reset(self) -> None:
        """Forget all audio and recurrent state (e.g. a new utterance on a reused stream)."""
        self._pending[:CONTEXT_SAMPLES] = 0.0
        self._start = self._end = CONTEXT_SAMPLES
        self._loud_end = 0
        self.state = SileroVadModel.initial_state(1)
