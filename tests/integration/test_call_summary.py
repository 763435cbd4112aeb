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

from apps.backend.calls.live_event_subscription import CallEventSubscription
from apps.backend.calls.live_events import CallEventPublisher, CallSummaryEvent
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from apps.backend.summaries.azure_openai import AzureOpenAiSummariser
from apps.backend.summaries.service import SummaryService, summary_of
from registries.toolstore.intake_tool import COMPLETE_KEY
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


async def test_a_completed_intake_rides_with_the_summary_in_the_store_and_the_event(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    store = SqliteTranscriptStore(tmp_path / "intake.sqlite3")
    await store.open()
    await store.start_call(CALL, caller="+15550100", scenario="triage", started_at=NOW)
    fields = {"symptom": "headache", "started": "2026-01-04", "allergies": ["penicillin"]}
    intake = ToolCallRecord(
        id="t1",
        name="record_triage_intake",
        arguments={},
        ok=True,
        output={COMPLETE_KEY: True, "form": "triage", "result": fields},
    )
    for seq, speaker, text, calls in (
        (0, "caller", "I have had a headache since yesterday", ()),
        (1, "agent", "Thanks, I have noted that down.", (intake,)),
    ):
        turn = {"call_id": CALL, "seq": seq, "speaker": speaker, "kind": "speech" if seq == 0 else "reply",
                "agent": "triage", "text": text, "started_at": NOW, "ended_at": NOW, "tool_calls": calls}  # fmt: skip
        await store.append_turn(TranscriptTurn.model_validate(turn))
    await store.end_call(CALL, CallOutcome(reason="caller hung up", ended_at=NOW))
    service = SummaryService(store, CallEventPublisher(redis_client), model=None, timeout_s=10)
    async with CallEventSubscription(redis_client, CALL, max_queued=10) as events:
        summary = await service.summarise(CALL)
        event, _ = await events.next(timeout=5) or (None, "")
    stored = await store.get(CALL)
    await store.close()
    assert summary is not None and summary.source == "embedded" and summary.intake == fields
    assert "The triage form was completed." in summary.summary
    assert stored is not None and summary_of(stored) == summary
    assert isinstance(event, CallSummaryEvent) and event.summary.intake == fields
