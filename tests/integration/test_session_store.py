"""CallConversation state in real Redis: round trip, restore into a new worker's conversation, and no loss across a
Redis restart (writes wait in memory and land when Redis is back)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.session_store import RedisSessionStore, session_key
from registries.loader import load_registry
from registries.toolstore.context import HandoffTarget
from tests.support import counting_pipelines, eventually, free_port
from voice.session.conversation import CallConversation

SNAPSHOT = load_registry()


def conversation(call_id: str = "call-1") -> CallConversation:
    return CallConversation(
        call_id=call_id,
        caller="+14255550123",
        snapshot=SNAPSHOT,
        scenario=SNAPSHOT.scenarios["banking"],
        agent=SNAPSHOT.start_agent("banking"),
        context={"caller": "+14255550123"},
    )


def lived_in() -> CallConversation:
    """A conversation that went somewhere: a caller turn, a verified identity, a handoff."""
    conv = conversation()
    conv.add_caller_text("i lost my card")
    conv.session["customer_id"] = "cust-001"
    conv.scratch_for_agent()["pending"] = {"tool": "lock_card"}
    conv.hand_off(HandoffTarget(agent="card_services"), "lost card")
    conv.add_agent_text("Card services here.")
    return conv


@contextlib.asynccontextmanager
async def started_store() -> AsyncIterator[tuple[RedisSessionStore, aioredis.Redis]]:
    """A running store on an embedded Redis of its own, and its client."""
    server = EmbeddedRedis()
    await server.start()
    client = aioredis.Redis.from_url(server.url)
    store = RedisSessionStore(client, ttl_seconds=60)
    store.start()
    try:
        yield store, client
    finally:
        await store.stop()
        await client.aclose()
        await server.stop()


async def test_a_new_worker_resumes_the_conversation_where_it_was() -> None:
    async with started_store() as (store, client):
        before = lived_in()
        store.save(before.snapshot_state())
        await eventually(lambda: store.pending == 0)
        assert 0 < await client.ttl(session_key("call-1")) <= 60

        # Another worker: its own store instance and a fresh conversation built from the record.
        other = RedisSessionStore(client, ttl_seconds=60)
        state = await other.load("call-1")
        assert state is not None
        after = conversation()
        after.restore(state)
        assert after.agent.name == "card_services"
        assert after.session == {"customer_id": "cust-001"}
        assert after.messages()[1:] == before.messages()[1:]
        assert after.scratch == before.scratch
        assert after.visited == ["concierge", "card_services"]
        # The restored log keeps working: a handoff back catches the concierge up on what it missed.
        after.add_caller_text("thanks, what's my balance")
        after.hand_off(HandoffTarget(agent="concierge"), "balance")
        assert any(m.get("content") == "thanks, what's my balance" for m in after.history("concierge"))
        assert await other.load("nope") is None


async def test_states_saved_during_a_redis_outage_are_written_when_it_returns() -> None:
    port = free_port()
    server = EmbeddedRedis(port=port)
    await server.start()
    client = aioredis.Redis.from_url(server.url, socket_connect_timeout=0.2, socket_timeout=0.5)
    store = RedisSessionStore(client, ttl_seconds=60, first_backoff_s=0.05)
    store.start()
    try:
        conv = lived_in()
        store.save(conv.snapshot_state())
        await eventually(lambda: store.pending == 0)

        await server.stop()
        conv.add_caller_text("are you still there")
        store.save(conv.snapshot_state())  # returns at once: the call never waits for Redis
        await eventually(lambda: store.failed_writes > 0)
        assert store.pending == 1
        # Meanwhile this worker still answers from memory.
        pending = await store.load("call-1")
        assert pending is not None and pending.log[-1][1]["content"] == "are you still there"

        server = EmbeddedRedis(port=port)
        await server.start()
        await eventually(lambda: store.pending == 0, timeout=15)
        fresh = aioredis.Redis.from_url(server.url)
        try:
            state = await RedisSessionStore(fresh, ttl_seconds=60).load("call-1")
        finally:
            await fresh.aclose()
        assert state is not None and state.log[-1][1]["content"] == "are you still there"
    finally:
        await store.stop()
        await client.aclose()
        await server.stop()


async def test_only_the_newest_state_of_a_call_is_kept_while_waiting() -> None:
    store = RedisSessionStore(aioredis.Redis(host="127.0.0.1", port=free_port()), ttl_seconds=60)
    conv = conversation()
    for n in range(5):
        conv.add_caller_text(f"turn {n}")
        store.save(conv.snapshot_state())
    assert store.pending == 1  # not started: nothing written, and no backlog either
    state = await store.load("call-1")
    assert state is not None and state.log[-1][1]["content"] == "turn 4"
    await asyncio.sleep(0)


async def test_saves_of_many_calls_in_a_burst_go_in_one_pipeline_newest_state_each() -> None:
    async with started_store() as (store, client):
        convs = [conversation(f"call-{k}") for k in range(10)]
        with counting_pipelines(client) as pipelines:
            for n in range(3):  # each call saves three times within the gather window
                for conv in convs:
                    conv.add_caller_text(f"turn {n}")
                    store.save(conv.snapshot_state())
            await eventually(lambda: store.pending == 0)
        assert pipelines.opened == 1
        for k in range(10):
            state = await store.load(f"call-{k}")
            assert state is not None and state.log[-1][1]["content"] == "turn 2"
