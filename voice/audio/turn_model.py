"""The smart-turn v3 end-of-turn model (ONNX) on onnxruntime: is the caller's turn complete, from the audio?

The model file ships inside the `pipecat-ai` wheel (installed by hash with `--no-deps`, see
requirements-models.txt); we locate it without importing `pipecat`, whose import pulls in its own
dependencies. Input: the last 8 s of the turn at 16 kHz mono (zero-padded at the start when shorter) as
Whisper-style log-mel features, float32 [N, 80, 800]; output: [N, 1], the probability that the turn is
complete. Rows are independent, so a batcher can score several calls in one run.

The features follow the Whisper feature extractor's definition (what the model was trained on): the waveform
normalised to zero mean and unit variance, a centred (reflect-padded) 400-point STFT with a periodic Hann
window and a hop of 160 samples, the power spectrum through 80 Slaney-normalised mel filters (0-8 kHz),
log10 with a floor of 1e-10, the last frame dropped, values clamped to 8 below the maximum, then
(x + 4) / 4.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

SAMPLE_RATE = 16000
MAX_SECONDS = 8
MAX_SAMPLES = SAMPLE_RATE * MAX_SECONDS
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = MAX_SAMPLES // HOP  # 800 after dropping the last of the 801 centred frames
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"


def default_model_path() -> Path:
    """The ONNX file in the installed `pipecat-ai` wheel, found without importing the package."""
    spec = importlib.util.find_spec("pipecat")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pipecat-ai wheel is not installed (see requirements-models.txt)")
    path = Path(spec.submodule_search_locations[0]) / "audio" / "turn" / "smart_turn" / "data" / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{MODEL_FILE} is not in the installed pipecat-ai wheel")
    return path


def model_available() -> bool:
    try:
        default_model_path()
    except FileNotFoundError:
        return False
    return True


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = 3.0 * hz / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) / (np.log(6.4) / 27.0)
    mel: np.ndarray = np.where(hz >= 1000.0, log_part, linear)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = 200.0 * mel / 3.0
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    hz: np.ndarray = np.where(mel >= 15.0, log_part, linear)
    return hz


def mel_filters() -> np.ndarray:
    """[N_FFT // 2 + 1, N_MELS] triangular filters, each scaled by 2 / its bandwidth (Slaney norm)."""
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2)), N_MELS + 2)
    )
    bins = np.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower[None, :]) / (centre - lower)[None, :]
    falling = (upper[None, :] - bins[:, None]) / (upper - centre)[None, :]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    scaled: np.ndarray = filters * (2.0 / (upper - lower))[None, :]
    return scaled


_FILTERS = mel_filters()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def fit_to_window(audio: np.ndarray) -> np.ndarray:
    """The last MAX_SECONDS of `audio` (float, 16 kHz), zero-padded at the start to exactly MAX_SAMPLES."""
    audio = np.asarray(audio, dtype=np.float32)[-MAX_SAMPLES:]
    if audio.size == MAX_SAMPLES:
        return audio
    return np.concatenate([np.zeros(MAX_SAMPLES - audio.size, dtype=np.float32), audio])


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Features of one turn: float32 [N_MELS, FRAMES] from float audio in [-1, 1] at 16 kHz."""
    x = fit_to_window(audio)
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2  # [801, 201]
    mel = np.log10(np.maximum(1e-10, power @ _FILTERS)).T[:, :FRAMES]  # [80, 800]
    mel = np.maximum(mel, mel.max() - 8.0)
    features: np.ndarray = ((mel + 4.0) / 4.0).astype(np.float32)
    return features


class SmartTurnModel:
    """One ONNX session, used from one worker thread at a time (the batcher's)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one core's worth: the event loop and the VAD keep the other
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def complete_probability(self, features: np.ndarray) -> np.ndarray:
        """features float32 [N, 80, 800] -> [N] probabilities that each turn is complete."""
        (out,) = self._session.run(None, {self._input: features})[:1]
        return np.asarray(out, dtype=np.float32).reshape(-1)
