"""The tool examples' embeddings kept on disk: read back only for the same model and the same texts, and a
damaged file is encoded again rather than trusted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from registries.loader import load_registry
from voice.llm.local_brain.embedding_disk import EmbeddingDiskCache, configure_disk_cache
from voice.llm.local_brain.intake import without_intake
from voice.llm.local_brain.router import IntentRouter


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([np.full(4, len(t), dtype=np.float32) for t in texts])


def model(tmp_path: Path, content: bytes) -> tuple[Path, ...]:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text("{}")
    return (path, tokenizer)


def test_the_same_texts_on_the_same_model_are_read_back_not_encoded(tmp_path: Path) -> None:
    files = model(tmp_path, b"weights")
    encode = Counting()
    first = EmbeddingDiskCache(tmp_path / "cache").encode(files, ["lock my card", "balance"], encode)
    again = EmbeddingDiskCache(tmp_path / "cache").encode(
        files, ["lock my card", "balance"], encode
    )  # a restart
    assert encode.calls == 1
    np.testing.assert_array_equal(first, again)


def test_changed_texts_or_a_changed_model_are_encoded_again(tmp_path: Path) -> None:
    cache = EmbeddingDiskCache(tmp_path / "cache")
    encode = Counting()
    files = model(tmp_path, b"weights")
    cache.encode(files, ["lock my card"], encode)
    cache.encode(files, ["lock my cards"], encode)
    cache.encode(files, ["lock my card", ""], encode)
    EmbeddingDiskCache(tmp_path / "cache").encode(model(tmp_path, b"other weights"), ["lock my card"], encode)
    assert encode.calls == 4


def test_a_damaged_file_is_encoded_again_and_replaced(tmp_path: Path) -> None:
    cache = EmbeddingDiskCache(tmp_path / "cache")
    files = model(tmp_path, b"weights")
    encode = Counting()
    expected = cache.encode(files, ["a", "bb"], encode)
    path = cache.path_for(files, ["a", "bb"])
    path.write_bytes(b"not an array")
    np.testing.assert_array_equal(cache.encode(files, ["a", "bb"], encode), expected)
    np.save(path, np.zeros((3, 4), dtype=np.float32))  # the wrong number of rows
    np.testing.assert_array_equal(cache.encode(files, ["a", "bb"], encode), expected)
    assert encode.calls == 3
    np.testing.assert_array_equal(np.load(path), expected)


def test_an_unwritable_folder_only_costs_the_encode(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    encode = Counting()
    cache = EmbeddingDiskCache(blocker / "cache")  # cannot be created under a file
    files = model(tmp_path, b"weights")
    assert cache.encode(files, ["a"], encode).shape == (1, 4)
    assert cache.encode(files, ["a"], encode).shape == (1, 4)
    assert encode.calls == 2


def test_the_folder_keeps_its_newest_files(tmp_path: Path) -> None:
    cache = EmbeddingDiskCache(tmp_path / "cache", max_files=2)
    files = model(tmp_path, b"weights")
    for text in ("a", "b", "c"):
        cache.encode(files, [text], Counting())
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    assert not list((tmp_path / "cache").glob(".tmp-*"))


@pytest.mark.slow
def test_the_router_index_from_disk_equals_the_encoded_one(tmp_path: Path) -> None:
    snapshot = load_registry()
    scenario = snapshot.scenarios["banking"]
    tools = without_intake(snapshot.tools_for(scenario.start_agent, "banking"))
    encoded = IntentRouter()._build(tools)
    try:
        configure_disk_cache(tmp_path)
        IntentRouter()._build(tools)  # written
        assert list(tmp_path.glob("*.npy"))
        read = IntentRouter()._build(tools)  # read back
    finally:
        configure_disk_cache(None)
    np.testing.assert_array_equal(read.matrix, encoded.matrix)
    np.testing.assert_array_equal(read.background, encoded.background)
    assert read.texts == encoded.texts
