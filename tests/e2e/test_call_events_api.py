"""The dashboard API: the recent-calls list (paged from the Redis index) and the live events WebSocket, which
a dashboard can open on any replica to follow a call held by another."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.calls.live_event_subscription import CallEventSubscription
from apps.backend.calls.live_events import (
    CallEventPublisher,
    StatusUpdateEvent,
    TranscriptChunkEvent,
)
from apps.backend.storage.call_store import CallDirection, CallRecord, CallStatus, utcnow
from tests.support import ADMIN_KEY, Backend, eventually, running_backend
from voice.transcript import CallTranscript

BANKING = "+18005550100"


def events_url(backend: Backend, call_id: str, query: str = "") -> str:
    return f"{backend.url.replace('http', 'ws', 1)}/api/v1/calls/{call_id}/events{query}"


async def follow(url: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """Everything a dashboard receives until the server closes the socket, and the close code."""
    events: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers or {}) as ws:
        try:
            async for message in ws:
                events.append(json.loads(message))
        except ConnectionClosed:
            pass
        return events, ws.close_code


async def close_of(url: str, headers: dict[str, str] | None = None) -> tuple[int | None, str | None]:
    async with websockets.connect(url, additional_headers=headers or {}) as ws:
        try:
            message = await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError(f"expected a close, got {message}")
        except ConnectionClosed:
            return ws.close_code, ws.close_reason


async def store_record(backend: Backend, call_id: str, **fields: Any) -> CallRecord:
    values: dict[str, Any] = {
        "direction": CallDirection.INBOUND,
        "scenario": "banking",
        "caller": "+15550001",
    }
    record = CallRecord(call_id=call_id, **(values | fields))
    await backend.runtime.calls.store.create(record)
    return record


def turns_seen(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    snapshot = events[0]
    turns = {t["seq"]: t for t in snapshot["transcript"]}
    turns.update({e["seq"]: e for e in events if e["type"] == "transcript_chunk" and e["final"]})
    return turns


async def test_a_dashboard_on_either_replica_follows_a_live_call(simulator: AcsSimulator) -> None:
    async with running_backend(simulator) as owner:
        redis_url = owner.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as other:
            script = [WaitForAgent(), Say("What's my balance?"), WaitForAgent()]
            call = asyncio.create_task(
                simulator.place_call(owner.url, script, to_number=BANKING, max_duration_s=45)
            )
            try:

                async def new_call() -> str | None:
                    async with other.admin() as admin:  # the list is shared: ask the other replica
                        calls = (await admin.get("/api/v1/calls")).json()["calls"]
                    return calls[0]["call_id"] if calls else None

                call_id = await eventually(new_call, timeout=15, interval=0.02)
                on_owner, on_other = await asyncio.wait_for(
                    asyncio.gather(
                        follow(events_url(owner, call_id), {"x-api-key": ADMIN_KEY}),
                        follow(events_url(other, call_id, f"?api_key={ADMIN_KEY}")),
                    ),
                    timeout=60,
                )
                result = await call
            finally:
                call.cancel()
            async with owner.admin() as admin:
                transcript = CallTranscript.model_validate(
                    (await admin.get(f"/api/v1/calls/{call_id}/transcript")).json()
                )

    assert result.script_error is None
    for events, close_code in (on_owner, on_other):
        assert events[0]["type"] == "snapshot"
        assert events[0]["call"]["call_id"] == call_id and events[0]["call"]["scenario"] == "banking"
        assert all(e["call_id"] == call_id and e["at"] for e in events)
        turns = turns_seen(events)
        # Every turn of the call reached the dashboard, with what a dashboard shows of it.
        assert sorted(turns) == [t.seq for t in transcript.turns], events
        for turn in transcript.turns:
            seen = turns[turn.seq]
            assert (seen["speaker"], seen["kind"], seen["agent"], seen["text"]) == (
                turn.speaker,
                turn.kind,
                turn.agent,
                turn.text,
            )
        assert any(t["kind"] == "greeting" for t in turns.values())
        assert any(t["speaker"] == "caller" and t["kind"] == "speech" for t in turns.values())
        # Turns in progress stream too, before their final chunk: the caller's words, the agent's reply.
        partials = [e for e in events if e["type"] == "transcript_chunk" and not e["final"]]
        assert {p["speaker"] for p in partials} == {"caller", "agent"}, events
        assert all(p["seq"] is None and p["text"] for p in partials)
        tools = [e for e in events if e["type"] == "tool_called"]
        assert [t["name"] for t in tools] == [c.name for t in transcript.turns for c in t.tool_calls]
        # Tool events say which tool and how it went, never its arguments or results (PII).
        assert all(set(t) == {"type", "call_id", "at", "name", "ok", "duration_ms"} for t in tools)
        statuses = [e for e in events if e["type"] == "status_update"]
        assert any(s["status"] == "ended" and s["change"] == "ended" for s in statuses), statuses
        assert close_code == 1000
    # The replica without the call's transcript store had nothing to snapshot: it saw every turn live.
    assert on_other[0][0]["transcript"] == []


async def test_recent_calls_are_listed_newest_first_page_by_page(backend: Backend) -> None:
    now = utcnow()
    created = [now - timedelta(seconds=s) for s in (50, 40, 30, 30, 20, 10)]  # two calls share a timestamp
    records = [await store_record(backend, f"call-{i}", created_at=at) for i, at in enumerate(created)]
    await store_record(backend, "expired", created_at=now - timedelta(seconds=25))
    await backend.runtime.redis.delete("sb:call:expired")  # as if its TTL ran out
    expected = [r.call_id for r in sorted(records, key=lambda r: (r.created_at, r.call_id), reverse=True)]

    listed: list[str] = []
    cursor = None
    async with backend.admin() as admin:
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await admin.get("/api/v1/calls", params=params)
            assert response.status_code == 200
            page = response.json()
            assert len(page["calls"]) <= 2
            listed += [c["call_id"] for c in page["calls"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        first = (await admin.get("/api/v1/calls")).json()["calls"][0]
        assert (await admin.get("/api/v1/calls", params={"limit": 101})).status_code == 422
        assert (await admin.get("/api/v1/calls", params={"cursor": "not-ours"})).status_code == 400

    assert listed == expected
    assert set(first) == {
        "call_id",
        "channel",
        "status",
        "scenario",
        "caller",
        "created_at",
        "ended_at",
        "end_reason",
    }
    assert first["channel"] == "phone"
    # The expired record was skipped, and dropped from the index.
    assert await backend.runtime.redis.zscore("sb:calls:by-created", "expired") is None


async def test_dashboards_need_the_admin_key_and_a_known_call(backend: Backend) -> None:
    await store_record(backend, "known")
    async with backend.admin() as admin:
        admin.headers.pop("x-api-key")
        assert (await admin.get("/api/v1/calls")).status_code == 401
    assert (await close_of(events_url(backend, "known")))[0] == 1008
    assert (await close_of(events_url(backend, "known", "?api_key=wrong")))[0] == 1008
    assert await close_of(events_url(backend, "nope"), {"x-api-key": ADMIN_KEY}) == (1008, "no such call")


async def test_a_dashboard_gets_the_end_of_a_call_then_a_normal_close(backend: Backend) -> None:
    record = await store_record(backend, "live", status=CallStatus.CONNECTED)
    dashboard = asyncio.create_task(follow(events_url(backend, "live"), {"x-api-key": ADMIN_KEY}))
    # Published by "another replica": anything with the same Redis.
    publisher = CallEventPublisher(backend.runtime.redis)
    subscribers = f"sb:call-events:{record.call_id}"

    async def dashboard_subscribed() -> bool:
        counts = dict(await backend.runtime.redis.pubsub_numsub(subscribers))
        return bool(counts.get(subscribers.encode()))

    await eventually(dashboard_subscribed)
    record.end("disconnected")
    publisher.status(record, "ended")
    events, close_code = await asyncio.wait_for(dashboard, 10)
    assert [e["type"] for e in events] == ["snapshot", "status_update"]
    assert events[1]["status"] == "ended" and close_code == 1000
    # A call that has already ended: the snapshot, then the close.
    await store_record(backend, "over", status=CallStatus.ENDED)
    events, close_code = await follow(events_url(backend, "over"), {"x-api-key": ADMIN_KEY})
    assert [e["type"] for e in events] == ["snapshot"] and close_code == 1000


async def test_slow_dashboards_and_a_slow_redis_lose_events_not_call_time(backend: Backend) -> None:
    redis = backend.runtime.redis
    # The call side: publishing only queues; past the bound, events are dropped and counted.
    stalled = CallEventPublisher(redis, max_pending=2)
    for seq in range(5):
        stalled.publish(
            TranscriptChunkEvent(call_id="c", seq=seq, speaker="caller", kind="speech", text="hi")
        )
    assert stalled.dropped == 3
    await stalled.aclose()
    # The dashboard side: a reader that never reads keeps a bounded queue, but still learns the call ended.
    publisher = CallEventPublisher(redis)
    async with CallEventSubscription(redis, "slow", max_queued=3) as feed:
        for seq in range(10):
            publisher.publish(
                TranscriptChunkEvent(call_id="slow", seq=seq, speaker="caller", kind="speech", text="hi")
            )
        publisher.publish(
            StatusUpdateEvent(call_id="slow", status=CallStatus.ENDED, change="ended", end_reason="test")
        )
        await eventually(lambda: feed.dropped == 7)
        received = [await feed.next(1) for _ in range(4)]
    assert [type(item[0]).__name__ for item in received if item] == ["TranscriptChunkEvent"] * 3 + [
        "StatusUpdateEvent"
    ]
