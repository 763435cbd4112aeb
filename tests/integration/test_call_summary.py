"""Post-call summaries over a stored transcript: Azure OpenAI structured output through the real `openai` SDK
against the loopback fake, the embedded rules when the model fails, stored in the transcript's outcome and
published as a `call_summary` live event on a real Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from apps.backend.calls.live_events import CallEventPublisher, CallEventSubscription, CallSummaryEvent
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from apps.backend.summaries.azure_openai import AzureOpenAiSummariser
from apps.backend.summaries.service import SummaryService, summary_of
from tests.fakes.openai_server import ErrorTurn, FakeOpenAIServer, TextTurn
from voice.transcript import CallOutcome, ToolCallRecord, TranscriptTurn

API_KEY = "summary-key"
CALL = "c0ffee00c0ffee00c0ffee00c0ffee00"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
async def transcripts(tmp_path: Path) -> AsyncIterator[SqliteTranscriptStore]:
    store = SqliteTranscriptStore(tmp_path / "t.sqlite3")
    await store.open()
    await store.start_call(CALL, caller="+15550100", scenario="banking", started_at=NOW)

    def turn(seq: int, speaker: str, text: str, *calls: ToolCallRecord) -> TranscriptTurn:
        return TranscriptTurn.model_validate(
            {
                "call_id": CALL,
                "seq": seq,
                "speaker": speaker,
                "kind": "speech" if speaker == "caller" else "reply",
                "agent": "card_services",
                "text": text,
                "started_at": NOW,
                "ended_at": NOW,
                "tool_calls": calls,
            }
        )

    await store.append_turn(turn(0, "caller", "I lost my card"))
    failed = ToolCallRecord(id="t1", name="order_replacement_card", arguments={}, ok=False, error="timeout")
    await store.append_turn(turn(1, "agent", "Sorry, I could not order a new card right now.", failed))
    await store.end_call(CALL, CallOutcome(reason="caller hung up", ended_at=NOW))
    yield store
    await store.close()


async def test_azure_openai_writes_the_summary_with_structured_output(
    transcripts: SqliteTranscriptStore, redis_client: aioredis.Redis
) -> None:
    reply = {
        "summary": "The caller lost their card; ordering a replacement failed.",
        "disposition": "callback_needed",
        "reason": "Lost card",
        "follow_ups": ["Order the replacement card and call the caller back."],
    }
    async with FakeOpenAIServer(api_key=API_KEY) as server:
        server.script(TextTurn(json.dumps(reply)))
        model = AzureOpenAiSummariser(
            endpoint=server.azure_endpoint, api_key=API_KEY, api_version="2024-10-21", deployment="summaries"
        )
        service = SummaryService(transcripts, CallEventPublisher(redis_client), model=model, timeout_s=10)
        async with CallEventSubscription(redis_client, CALL, max_queued=10) as events:
            summary = await service.summarise(CALL)
            event, _ = await events.next(timeout=5) or (None, "")
        await service.aclose()
        sent = server.last.raw
    assert summary is not None and summary.source == "azure_openai"
    assert (summary.disposition, summary.reason, summary.follow_ups) == (
        "callback_needed",
        "Lost card",
        reply["follow_ups"],
    )
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert "order_replacement_card failed: timeout" in sent["messages"][1]["content"]
    stored = await transcripts.get(CALL)
    assert stored is not None and summary_of(stored) == summary
    assert isinstance(event, CallSummaryEvent) and event.summary == summary


async def test_a_failing_model_falls_back_to_the_embedded_rules(
    transcripts: SqliteTranscriptStore, redis_client: aioredis.Redis
) -> None:
    async with FakeOpenAIServer(api_key=API_KEY) as server:
        server.script(ErrorTurn(500), ErrorTurn(500))
        model = AzureOpenAiSummariser(
            endpoint=server.azure_endpoint, api_key=API_KEY, api_version="2024-10-21", deployment="summaries"
        )
        service = SummaryService(transcripts, CallEventPublisher(redis_client), model=model, timeout_s=10)
        summary = await service.summarise(CALL)
        await service.aclose()
    assert summary is not None and summary.source == "embedded"
    assert summary.disposition == "callback_needed"
    assert summary.reason == "Order replacement card"
    assert summary.follow_ups == ["Retry order replacement card: it failed during the call (timeout)."]
