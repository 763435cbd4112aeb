"""Writes behind the call on a real (embedded) Redis that hangs: the call record writer never makes its caller
wait, keeps order, stays bounded (dropping and counting the oldest events) and writes what it kept once Redis
answers again; the live events publisher is bounded the same way."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest import mock

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.backend.calls.live_event_subscription import CallEventSubscription
from apps.backend.calls.live_events import CallEventPublisher, ErrorEvent
from apps.backend.calls.record_writer import CallRecordWriter
from apps.backend.runtime_connections import connect_redis
from apps.backend.storage.call_store import CallDirection, CallRecord, RedisCallStore
from apps.backend.storage.embedded_redis import EmbeddedRedis
from tests.support import counting_pipelines, eventually
from voice.transcript import TranscriptTurn


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedRedis]:
    valkey = EmbeddedRedis()
    await valkey.start()
    try:
        yield valkey
    finally:
        if valkey.pid is not None:
            os.kill(valkey.pid, signal.SIGCONT)
        await valkey.stop()


@pytest.fixture
async def client(server: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    redis = connect_redis(server.url, socket_timeout_s=0.3)
    try:
        yield redis
    finally:
        await redis.aclose()


@contextmanager
def frozen(server: EmbeddedRedis) -> Iterator[None]:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


async def new_record(store: RedisCallStore, call_id: str = "c1") -> str:
    await store.create(CallRecord(call_id=call_id, direction=CallDirection.INBOUND, scenario="banking"))
    return call_id


def event(name: str):  # type: ignore[no-untyped-def]
    return lambda record: record.add_event(name)


async def events_of(store: RedisCallStore, call_id: str) -> list[str]:
    return [e.type for e in (await store.get(call_id)).events]


async def test_updates_submitted_while_redis_hangs_land_in_order_once_it_answers(
    server: EmbeddedRedis, client: aioredis.Redis
) -> None:
    store = RedisCallStore(client, ttl_seconds=60)
    call_id = await new_record(store)
    writer = CallRecordWriter(store, call_id, first_backoff_s=0.05)
    written: list[str] = []
    with frozen(server):
        for name in ("a", "b", "c"):
            writer.submit(event(name), then=lambda r: written.append(r.events[-1].type))
        await eventually(lambda: writer.failed_writes >= 2, timeout=10)  # it tried, timed out, backed off
        assert written == []
    await eventually(lambda: written, timeout=10)
    assert await events_of(store, call_id) == ["a", "b", "c"]
    assert writer.dropped == 0
    await writer.close(timeout_s=1.0)


async def test_a_full_queue_drops_the_oldest_events_keeps_state_changes_and_counts(
    server: EmbeddedRedis, client: aioredis.Redis
) -> None:
    store = RedisCallStore(client, ttl_seconds=60)
    call_id = await new_record(store)
    drops: list[int] = []
    writer = CallRecordWriter(store, call_id, max_pending=3, on_drop=lambda: drops.append(1))
    with frozen(server):

        def connected(record: CallRecord) -> None:
            record.media_connected = True

        writer.submit(connected, keep=True)
        for name in ("e1", "e2", "e3", "e4", "e5"):
            writer.submit(event(name))
        assert writer.dropped == 3 and len(drops) == 3
    await eventually(lambda: writer.pending == 0 and _written(store, call_id), timeout=10)
    record = await store.get(call_id)
    assert record.media_connected
    assert [e.type for e in record.events] == ["e4", "e5"]
    await writer.close(timeout_s=1.0)


async def test_an_update_that_failed_after_its_mutation_is_applied_once_to_the_stored_record(
    client: aioredis.Redis,
) -> None:
    """The writer mutates the record it last wrote in place (no parse per update): after a failed write that
    record holds an update Redis never got, so the retry starts from the stored record instead."""
    store = RedisCallStore(client, ttl_seconds=60)
    call_id = await new_record(store)
    writer = CallRecordWriter(store, call_id, first_backoff_s=0.01)
    writer.submit(event("a"))
    await eventually(lambda: _has_events(store, call_id, ["a"]), timeout=5)
    script, failures = store._compare_and_set, []

    async def lost_once(*args: object, **kwargs: object) -> object:
        if not failures:
            failures.append(1)
            raise RedisConnectionError("connection reset before the script was sent")
        return await script(*args, **kwargs)

    store._compare_and_set = lost_once  # type: ignore[method-assign]
    writer.submit(event("b"))
    await eventually(
        lambda: writer.failed_writes == 1 and writer.pending == 0 and not writer._in_flight, timeout=5
    )
    writer.submit(event("c"))
    await writer.close(timeout_s=2.0)
    assert await events_of(store, call_id) == ["a", "b", "c"]
    assert writer.dropped == 0


async def _has_events(store: RedisCallStore, call_id: str, types: list[str]) -> bool:
    return await events_of(store, call_id) == types


async def _written(store: RedisCallStore, call_id: str) -> bool:
    return bool((await store.get(call_id)).events)


async def test_close_gives_up_after_its_bound_when_redis_hangs_and_counts_what_is_lost(
    server: EmbeddedRedis, client: aioredis.Redis
) -> None:
    store = RedisCallStore(client, ttl_seconds=60)
    call_id = await new_record(store)
    writer = CallRecordWriter(store, call_id)
    with frozen(server):
        writer.submit(event("dtmf"))
        writer.submit(event("media_ended"))
        await writer.close(timeout_s=0.2)
        assert writer.dropped == 2
        writer.submit(event("late"))  # after the end: refused, counted, nothing started
        assert writer.dropped == 3 and writer.pending == 0
    assert await events_of(store, call_id) == []


async def test_a_burst_of_hang_ups_larger_than_the_connection_pool_waits_for_connections(
    server: EmbeddedRedis,
) -> None:
    """Every call flushes its record at hang-up in a watched transaction, which holds a connection for three
    round trips. More calls ending at once than the pool has connections must queue, not fail."""
    redis = connect_redis(server.url, socket_timeout_s=2.0, max_connections=4)
    try:
        store = RedisCallStore(redis, ttl_seconds=60)
        call_ids = [await new_record(store, f"call-{n}") for n in range(40)]
        writers = [CallRecordWriter(store, call_id) for call_id in call_ids]
        for writer in writers:
            writer.submit(event("media_ended"), keep=True)
        await asyncio.gather(*(writer.close(timeout_s=5.0) for writer in writers))
        assert [(w.failed_writes, w.dropped) for w in writers] == [(0, 0)] * len(writers)
        assert [await events_of(store, call_id) for call_id in call_ids] == [["media_ended"]] * len(call_ids)
        clients = await redis.client_list()
        assert len(clients) <= 4 + 1  # the pool's connections, and the one asking
    finally:
        await redis.aclose()


async def test_new_connections_do_not_read_package_metadata_on_the_event_loop(server: EmbeddedRedis) -> None:
    """redis-py looks its own version up in the installed packages' metadata for every new connection unless
    told it: file reads on the loop, 140 ms once when a burst of hang-ups grew the pool mid-call."""
    redis = connect_redis(server.url, socket_timeout_s=2.0, max_connections=20)
    lookups: list[str] = []
    real_version = importlib.metadata.version
    try:
        with mock.patch(
            "redis.utils.metadata.version", side_effect=lambda n: lookups.append(n) or real_version(n)
        ):
            await asyncio.gather(*(redis.blpop([f"nothing-{n}"], timeout=0.05) for n in range(10)))
        assert len(await redis.client_list()) >= 10  # ten connections were opened
        assert lookups == []
    finally:
        await redis.aclose()


async def test_live_events_beyond_the_bound_drop_the_oldest_and_are_counted(client: aioredis.Redis) -> None:
    publisher = CallEventPublisher(client, max_pending=2)
    drops: list[int] = []
    publisher.on_drop = lambda: drops.append(1)
    async with CallEventSubscription(client, "c1", max_queued=10) as subscription:
        for n in range(4):  # all queued before the drain task first runs
            publisher.publish(ErrorEvent(call_id="c1", source="test", message=f"m{n}"))
        assert publisher.dropped == 2 and len(drops) == 2
        received = []
        while len(received) < 2:
            item = await subscription.next(timeout=10)
            assert item is not None, "the kept events never arrived"
            received.append(item[0])
    assert [e.message for e in received if isinstance(e, ErrorEvent)] == ["m2", "m3"]
    await publisher.aclose()


async def test_an_apology_turn_is_published_with_an_error_event(client: aioredis.Redis) -> None:
    """Every provider failed for a turn (the cascade apologised): dashboards and browser sessions get the turn
    and an `error` event saying so."""
    publisher = CallEventPublisher(client)
    now = datetime.now(UTC)
    apology = TranscriptTurn(
        call_id="c1",
        seq=3,
        speaker="agent",
        kind="apology",
        agent="concierge",
        text="Sorry.",
        started_at=now,
        ended_at=now,
    )
    async with CallEventSubscription(client, "c1", max_queued=10) as subscription:
        publisher.turn(apology)
        received = []
        while len(received) < 2:
            item = await subscription.next(timeout=10)
            assert item is not None, "the events never arrived"
            received.append(item[0])
    assert [e.type for e in received] == ["transcript_chunk", "error"]
    error = received[1]
    assert isinstance(error, ErrorEvent) and error.source == "providers"
    assert error.message == "every provider failed for this turn; the agent apologised"
    await publisher.aclose()


async def test_events_published_together_share_pipelines_and_keep_their_order(client: aioredis.Redis) -> None:
    """A turn's events and other calls' go out gathered, up to PUBLISH_BATCH per pipeline: each call's channel
    still gets its events in order, all of them, in a few round trips instead of one each."""
    publisher = CallEventPublisher(client)
    calls = [f"c{k}" for k in range(5)]
    with counting_pipelines(client) as pipelines:
        async with contextlib.AsyncExitStack() as stack:
            subscriptions = [
                await stack.enter_async_context(CallEventSubscription(client, call, max_queued=100))
                for call in calls
            ]
            for n in range(30):
                for call in calls:
                    publisher.publish(ErrorEvent(call_id=call, source="test", message=f"m{n}"))
            for subscription in subscriptions:
                received = []
                while len(received) < 30:
                    item = await subscription.next(timeout=10)
                    assert item is not None, "an event never arrived"
                    received.append(item[0])
                assert [e.message for e in received if isinstance(e, ErrorEvent)] == [
                    f"m{n}" for n in range(30)
                ]
    assert pipelines.opened == 3  # 150 events, 64 per pipeline
    assert publisher.dropped == 0
    await publisher.aclose()
