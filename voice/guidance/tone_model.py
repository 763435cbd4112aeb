"""Per-turn tone logits from sentence embeddings: a small softmax regression over the vectors of the shared
MiniLM encoder (the local brain's, `get_shared_encoder`: no second copy of the model), fitted once per process
at first use on the labelled examples (`tone_examples.py` and `tone_first_set.py`, the last caller turn of
each). Fitting encodes ~250 short texts and runs a few hundred numpy steps: ~2 s of CPU, once.

Everything here blocks (the encoder's ONNX session): call it off the event loop (the embedded engine runs in a
worker thread). Turn vectors are kept in a small LRU keyed by a digest of the text (not the text itself), so a
live call's re-reads encode only the new turn."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from voice.guidance.models import TONES
from voice.guidance.tone_examples import TONE_EXAMPLES
from voice.guidance.tone_first_set import FIRST_TONE_SNIPPETS
from voice.llm.local_brain.embeddings import EmbeddingCache, digest, get_shared_encoder

L2 = 1e-3
"""Ridge penalty of the regression (chosen by 5-fold cross-validation on the examples)."""
STEPS = 1000
LEARNING_RATE = 1.0


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    out: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return out


@dataclass(frozen=True)
class ToneModel:
    weights: np.ndarray  # [dimensions, len(TONES)]
    bias: np.ndarray  # [len(TONES)]
    readings: EmbeddingCache[np.ndarray] = field(
        default_factory=lambda: EmbeddingCache(capacity=256), compare=False, repr=False
    )
    """Turn readings made with this model, keyed by a digest of the turn's text (`tone.classify_tone`): a live
    call re-reads its last turns on every report. Kept with the model, so another model never reads them."""

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        """[N, dimensions] unit vectors -> [N, len(TONES)] logits, in `TONES` order."""
        out: np.ndarray = vectors @ self.weights + self.bias
        return out


def fit(vectors: np.ndarray, labels: Sequence[int]) -> ToneModel:
    """Multinomial logistic regression by full-batch gradient descent (deterministic: the same data, the same
    model)."""
    targets = np.eye(len(TONES))[np.asarray(labels)]
    weights = np.zeros((vectors.shape[1], len(TONES)))
    bias = np.zeros(len(TONES))
    for _ in range(STEPS):
        grad = (softmax(vectors @ weights + bias) - targets) / len(vectors)
        weights -= LEARNING_RATE * (vectors.T @ grad + L2 * weights)
        bias -= LEARNING_RATE * grad.sum(axis=0)
    return ToneModel(weights=weights, bias=bias)


def training_set() -> tuple[list[str], list[int]]:
    pairs = [(turns[-1], tone) for _, tone, turns in TONE_EXAMPLES] + [
        (t, tone) for tone, t in FIRST_TONE_SNIPPETS
    ]
    return [text for text, _ in pairs], [TONES.index(tone) for _, tone in pairs]


_model: ToneModel | None = None
_model_lock = threading.Lock()
_vectors: EmbeddingCache[np.ndarray] = EmbeddingCache(capacity=256)


def shared_model() -> ToneModel:
    """The process's model, fitted on first use (thread-safe; blocking, ~2 s once)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                texts, labels = training_set()
                _model = fit(get_shared_encoder().encode(texts).astype(np.float64), labels)
    return _model


def _encode_one(text: str) -> np.ndarray:
    vector: np.ndarray = get_shared_encoder().encode([text])[0]
    return vector


def turn_vectors(texts: Sequence[str]) -> np.ndarray:
    """[N, dimensions] unit vectors of the turns (blocking: ~7 ms per turn not seen recently)."""
    rows = [_vectors.get_or_build(digest([text]), partial(_encode_one, text)) for text in texts]
    return np.stack(rows).astype(np.float64)
