"""A call's media slot in a real (embedded) Redis: one owner across replicas, released only by its owner, a dead
replica's claim expiring, and the start-up sweep closing only the calls no live replica holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from apps.backend.calls import routing
from apps.backend.calls.recovery import WORKER_LOST, close_abandoned_calls
from apps.backend.calls.routing import CallRouter, CloseMedia, SendDtmf, owner_key, owner_replica
from apps.backend.storage.call_store import CallDirection, CallRecord, CallStatus, RedisCallStore
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from tests.support import eventually
from voice.transcript import CallOutcome, TranscriptTurn

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


async def _ignore(command: CloseMedia | SendDtmf) -> None:
    return None


def _router(redis: aioredis.Redis, replica_id: str, lost: list[str] | None = None) -> CallRouter:
    async def on_lost(call_id: str) -> None:
        if lost is not None:
            lost.append(call_id)

    return CallRouter(redis, replica_id=replica_id, handle=_ignore, on_lost=on_lost)


async def test_one_owner_per_call_across_replicas_released_only_by_its_owner(
    redis_client: aioredis.Redis,
) -> None:
    a, b = _router(redis_client, "replica-a"), _router(redis_client, "replica-b")
    assert await a.claim("call-1")
    assert not await a.claim("call-1")  # a second socket on the same replica
    assert not await b.claim("call-1")  # ... or on another one
    await b.release("call-1")  # b never owned it: a's claim stays
    claim = await redis_client.get(owner_key("call-1"))
    assert claim is not None and owner_replica(claim) == "replica-a"
    await a.release("call-1")
    assert await redis_client.get(owner_key("call-1")) is None
    assert await b.claim("call-1")  # a legitimate reconnect, wherever it lands


async def test_a_dead_replicas_claim_expires_and_stops_blocking_a_reconnect(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "OWNER_TTL_SECONDS", 1)
    dead = _router(redis_client, "replica-dead")
    assert await dead.claim("call-2")  # and then the process died: nobody refreshes or releases it
    alive = _router(redis_client, "replica-alive")
    assert not await alive.claim("call-2")
    assert await eventually(lambda: alive.claim("call-2"), timeout=10)


async def test_an_owner_whose_claim_was_taken_over_closes_its_socket(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "OWNER_REFRESH_SECONDS", 0.05)
    lost: list[str] = []
    owner = _router(redis_client, "replica-a", lost)
    await owner.start()
    try:
        assert await owner.claim("call-3") and await owner.claim("call-4")
        await redis_client.delete(owner_key("call-4"))  # lapsed (a Redis restart): simply re-taken
        await redis_client.set(owner_key("call-3"), "replica-b/other-socket")  # lapsed and taken elsewhere
        await eventually(lambda: lost == ["call-3"], timeout=10)
        assert not owner.owns("call-3")
        assert await redis_client.get(owner_key("call-3")) == b"replica-b/other-socket"  # not ours to drop
        await eventually(lambda: redis_client.exists(owner_key("call-4")), timeout=10)
        assert owner.owns("call-4")
    finally:
        await owner.stop()


def _turn(call_id: str) -> TranscriptTurn:
    return TranscriptTurn(
        call_id=call_id,
        seq=0,
        speaker="agent",
        kind="greeting",
        agent="concierge",
        text="Hello, how can I help?",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=2),
    )


async def test_the_startup_sweep_closes_only_calls_no_live_replica_holds(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    transcripts = SqliteTranscriptStore(tmp_path / "t.sqlite3")  # one file, shared by two replicas
    await transcripts.open()
    calls = RedisCallStore(redis_client, ttl_seconds=600)
    other_replica = _router(redis_client, "replica-live")
    restarted = _router(redis_client, "replica-restarted")
    try:
        for call_id in ("abandoned", "live-elsewhere", "finished"):
            await transcripts.start_call(call_id, caller="+1", scenario="banking", started_at=T0)
            await transcripts.append_turn(_turn(call_id))
            record = CallRecord(call_id=call_id, direction=CallDirection.INBOUND, scenario="banking")
            record.status = CallStatus.CONNECTED
            await calls.create(record)
        await transcripts.end_call("finished", CallOutcome(reason="caller hung up"))
        assert await other_replica.claim("live-elsewhere")

        assert await close_abandoned_calls(transcripts, calls, restarted) == 1

        abandoned = await transcripts.get("abandoned")
        assert abandoned is not None and abandoned.outcome is not None
        assert abandoned.outcome.reason == WORKER_LOST
        assert abandoned.outcome.ended_at == T0 + timedelta(seconds=2)  # its last recorded moment
        assert abandoned.outcome.agents_visited == ("concierge",)
        assert len(abandoned.turns) == 1
        record = await calls.get("abandoned")
        assert record.status is CallStatus.ENDED and record.end_reason == WORKER_LOST
        assert await redis_client.get(owner_key("abandoned")) is None  # the sweep let go of it

        live = await transcripts.get("live-elsewhere")
        assert live is not None and live.outcome is None
        assert (await calls.get("live-elsewhere")).status is CallStatus.CONNECTED
        finished = await transcripts.get("finished")
        assert finished is not None and finished.outcome is not None
        assert finished.outcome.reason == "caller hung up"
        assert await transcripts.unfinished_calls(10) == ["live-elsewhere"]
    finally:
        await transcripts.close()
