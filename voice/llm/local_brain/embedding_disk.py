"""The tool examples' embeddings kept on disk between runs, so a restart does not encode them again.

Encoding an agent's tool texts costs ~0.25-0.4 s of CPU per tool set, on every start and every new process,
for the same texts and the same model. Here each encoded matrix is a `.npy` file named by a digest of both
the model (the bytes of the ONNX file, the tokenizer and the encoder's source file) and the texts, in order:
a changed example, model, tokenizer or encoder code gives a new name, so a stale file is never read. A file that is unreadable or not
the expected shape is ignored (and written again); writes go to a temporary file renamed into place, so a
reader never sees half a file; the folder keeps its newest `max_files`. Any disk error only costs the encode.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def model_digest(*files: Path) -> str:
    """A digest of the model files' bytes (read once per process: ~30 ms for MiniLM)."""
    h = hashlib.blake2b(digest_size=16)
    for path in files:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        h.update(b"\x00")
    return h.hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        data = text.encode()
        h.update(len(data).to_bytes(4, "little"))
        h.update(data)
    return h.hexdigest()


class EmbeddingDiskCache:
    def __init__(self, directory: Path, *, max_files: int = 512) -> None:
        self.directory = directory
        self.max_files = max_files
        self._models: dict[tuple[Path, ...], str] = {}
        self._lock = threading.Lock()

    def _model_id(self, model_files: tuple[Path, ...]) -> str:
        with self._lock:
            known = self._models.get(model_files)
        if known is None:
            known = model_digest(*model_files)
            with self._lock:
                self._models[model_files] = known
        return known

    def path_for(self, model_files: tuple[Path, ...], texts: Sequence[str]) -> Path:
        return self.directory / f"{self._model_id(model_files)}-{texts_digest(texts)}.npy"

    def encode(
        self,
        model_files: tuple[Path, ...],
        texts: Sequence[str],
        encode: Callable[[Sequence[str]], np.ndarray],
    ) -> np.ndarray:
        """`encode(texts)`, read from disk when this model already encoded these texts (blocking)."""
        try:
            path = self.path_for(model_files, texts)
        except OSError as exc:  # the model files cannot be read: encode, the encoder will say why
            log.warning("embedding cache off: model files unreadable", extra={"error": str(exc)})
            return encode(texts)
        found = self._read(path, len(texts))
        if found is not None:
            return found
        vectors = encode(texts)
        self._write(path, vectors)
        return vectors

    def _read(self, path: Path, rows: int) -> np.ndarray | None:
        try:
            array: np.ndarray = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(
                "embedding cache file unreadable; encoding again",
                extra={"path": str(path), "error": str(exc)},
            )
            return None
        if (
            array.dtype != np.float32
            or array.ndim != 2
            or array.shape[0] != rows
            or not np.isfinite(array).all()
        ):
            log.warning("embedding cache file has the wrong shape; encoding again", extra={"path": str(path)})
            return None
        return array

    def _write(self, path: Path, vectors: np.ndarray) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".npy")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune()
        except OSError as exc:
            log.warning("embedding cache not written", extra={"path": str(path), "error": str(exc)})

    def _prune(self) -> None:
        """Keep the newest `max_files` (another process pruning at the same time is harmless)."""
        files = list(self.directory.glob("*.npy"))
        if len(files) <= self.max_files:
            return
        stamped: list[tuple[float, Path]] = []
        for file in files:
            try:
                stamped.append((file.stat().st_mtime, file))
            except FileNotFoundError:
                continue
        for _, old in sorted(stamped, reverse=True)[self.max_files :]:
            old.unlink(missing_ok=True)


_disk: EmbeddingDiskCache | None = None


def configure_disk_cache(directory: Path | None) -> None:
    """Where the process keeps tool embeddings between runs (None: nowhere, encode every time)."""
    global _disk
    _disk = EmbeddingDiskCache(directory) if directory is not None else None


def disk_cache() -> EmbeddingDiskCache | None:
    return _disk
