"""The reply in progress (a draft) in both transcript stores: one per call, replaced as it grows, dropped by the
call's next agent turn or its outcome; and the start-up sweep of a restarted worker, which turns a leftover draft
into the call's last turn and makes the call record again when the embedded Redis lost it. SQLite on a file, and
Cosmos through its spool against a real Cosmos-protocol server (npm @vercel/cosmosdb-server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from apps.backend.calls.recovery import WORKER_LOST, SweepableTranscripts, close_abandoned_calls
from apps.backend.calls.routing import CallRouter, CloseMedia, SendDtmf
from apps.backend.storage.call_store import CallStatus, RedisCallStore
from apps.backend.storage.cosmos_transcripts import CosmosTranscriptStore
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from apps.backend.storage.transcript_spool import Backoff
from tests.cosmos_server import EMULATOR_KEY, CosmosServer, unavailable_reason
from voice.transcript import CallOutcome, ToolCallRecord, TranscriptTurn

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)  # within the call records' TTL
LOOKUP = ToolCallRecord(id="t1", name="get_recent_transactions", arguments={}, ok=True)
NO_COSMOS = unavailable_reason()


def turn(seq: int, text: str, *, speaker: str = "agent", draft: bool = False) -> TranscriptTurn:
    return TranscriptTurn(
        call_id="c1",
        seq=seq,
        speaker="agent" if speaker == "agent" else "caller",
        kind="reply" if speaker == "agent" else "speech",
        agent="concierge",
        text=text,
        full_text=text if draft else None,
        interrupted=draft,
        started_at=T0 + timedelta(seconds=seq),
        ended_at=T0 + timedelta(seconds=seq + 1),
        tool_calls=(LOOKUP,) if draft else (),
    )


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("cosmos", marks=pytest.mark.skipif(NO_COSMOS is not None, reason=NO_COSMOS or "")),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SweepableTranscripts]:
    if request.param == "sqlite":
        sqlite = SqliteTranscriptStore(tmp_path / "t.sqlite3")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    async with CosmosServer() as server:
        cosmos = CosmosTranscriptStore(
            endpoint=server.endpoint,
            key=EMULATOR_KEY,
            spool_path=tmp_path / "spool.db",
            database="sb-test",
            container="transcripts",
            connection_verify=False,
            backoff=Backoff(base=0.05, cap=0.3),
            request_timeout=3.0,
        )
        await cosmos.open()
        yield cosmos
        await cosmos.close()


async def test_one_draft_per_call_replaced_as_it_grows_and_dropped_by_the_agent_turn_or_the_outcome(
    store: SweepableTranscripts,
) -> None:
    await store.start_call("c1", caller="+1", scenario="banking", started_at=T0)
    assert await store.draft("c1") is None

    await store.save_draft(turn(1, "Your last three", draft=True))
    await store.save_draft(turn(1, "Your last three transactions are", draft=True))
    assert await store.draft("c1") == turn(1, "Your last three transactions are", draft=True)

    await store.append_turn(turn(2, "wait", speaker="caller"))  # the caller's turn does not end the reply
    assert await store.draft("c1") == turn(1, "Your last three transactions are", draft=True)
    await store.append_turn(turn(1, "Your last three transactions are: coffee."))
    assert await store.draft("c1") is None

    await store.save_draft(turn(3, "Anything else", draft=True))
    await store.clear_draft("c1")
    assert await store.draft("c1") is None

    await store.save_draft(turn(3, "Anything else", draft=True))
    await store.end_call("c1", CallOutcome(reason="caller hung up"))
    assert await store.draft("c1") is None
    got = await store.get("c1")
    assert got is not None and [(t.seq, t.interrupted) for t in got.turns] == [(1, False), (2, False)]


async def _ignore(command: CloseMedia | SendDtmf) -> None:
    return None


async def _nothing_lost(call_id: str) -> None:
    return None


async def test_sweep_keeps_the_reply_being_spoken_and_makes_the_lost_call_record_again(
    store: SweepableTranscripts, redis_client: aioredis.Redis
) -> None:
    # A new embedded Redis: no record of the call. A day's TTL: T0 is taken at import, and a loaded suite can
    # reach this test well after that (a 10-minute TTL had pruned the call from the listing by then).
    calls = RedisCallStore(redis_client, ttl_seconds=86_400)
    router = CallRouter(redis_client, replica_id="restarted", handle=_ignore, on_lost=_nothing_lost)
    await store.start_call("c1", caller="+14255550123", scenario="banking", started_at=T0)
    await store.append_turn(turn(0, "what are my transactions", speaker="caller"))
    cut = turn(1, "Your last three transactions are", draft=True)
    await store.save_draft(cut)

    assert await close_abandoned_calls(store, calls, router) == 1

    got = await store.get("c1")
    assert got is not None and got.outcome is not None
    assert got.outcome.reason == WORKER_LOST
    assert got.turns[-1] == cut  # the reply being spoken: its text so far, cut short, with its tool call
    assert got.outcome.ended_at == cut.ended_at
    assert got.outcome.tools_called == ("get_recent_transactions",)
    assert await store.draft("c1") is None

    record = await calls.get("c1")
    assert (record.status, record.end_reason) == (CallStatus.ENDED, WORKER_LOST)
    assert (record.caller, record.scenario, record.created_at) == ("+14255550123", "banking", T0)
    page = await calls.list_recent(limit=10)
    assert [(c.call_id, c.end_reason) for c in page.calls] == [("c1", WORKER_LOST)]
