"""The WebSocket cost bench's harness: every candidate takes the messages in and echoes each one out."""

from __future__ import annotations

from bench.ws_cost import candidates, measure


async def test_every_candidate_handles_every_message() -> None:
    results = await measure(messages=40, repeats=1, batch=2)
    assert set(results) == set(candidates()) >= {"direct", "websockets-sansio", "websockets"}
    for name, result in results.items():
        assert result["us_per_message"] > 0, name
