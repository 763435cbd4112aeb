"""Call records in a real (embedded) Redis."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis.asyncio as aioredis

from apps.backend.storage.call_store import (
    CallDirection,
    CallNotFound,
    CallRecord,
    CallStatus,
    RedisCallStore,
)
from apps.backend.storage.embedded_redis import EmbeddedRedis, pid_alive


def _record(call_id: str = "c1") -> CallRecord:
    return CallRecord(
        call_id=call_id, direction=CallDirection.INBOUND, caller="+15550100", scenario="banking"
    )


async def test_record_roundtrip_with_ttl_and_connection_index(redis_client: aioredis.Redis) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    await store.create(_record())
    await store.update("c1", lambda r: setattr(r, "call_connection_id", "conn-9"))
    assert await store.resolve("conn-9") == "c1"
    assert await store.resolve("c1") == "c1"
    assert await store.resolve("nope") is None
    assert 0 < await redis_client.ttl("sb:call:c1") <= 300
    assert 0 < await redis_client.ttl("sb:call-conn:conn-9") <= 300
    assert (await store.get("c1")).call_connection_id == "conn-9"


async def test_create_refuses_to_overwrite(redis_client: aioredis.Redis) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    await store.create(_record())
    with pytest.raises(ValueError):
        await store.create(_record())


async def test_concurrent_updates_are_not_lost(redis_client: aioredis.Redis) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    await store.create(_record())
    await asyncio.gather(*(store.update("c1", lambda r, i=i: r.add_event(f"e{i}")) for i in range(30)))
    events = {e.type for e in (await store.get("c1")).events}
    assert events == {f"e{i}" for i in range(30)}


async def _commands(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()}


async def test_a_writer_that_knows_the_record_updates_it_in_one_round_trip(
    redis_client: aioredis.Redis,
) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    await store.create(_record())
    record, known = await store.update_from("c1", lambda r: r.add_event("first"), None)  # reads it first
    assert known.raw == await redis_client.get("sb:call:c1") and known.record is record
    before = await _commands(redis_client)
    record, known = await store.update_from("c1", lambda r: setattr(r, "call_connection_id", "conn-7"), known)
    after = await _commands(redis_client)
    spent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    # One command sent (the script, whose GET and two SETs Redis counts too): no WATCH, GET, MULTI/EXEC.
    assert spent == {"evalsha": 1, "get": 1, "set": 2, "info": 1}
    assert known.raw == await redis_client.get("sb:call:c1")
    assert record is known.record  # no parse: the model it wrote is the next update's starting point
    assert [e.type for e in record.events][-1:] == ["first"] and record.call_connection_id == "conn-7"
    assert await store.resolve("conn-7") == "c1"
    assert 0 < await redis_client.ttl("sb:call:c1") <= 300
    assert 0 < await redis_client.ttl("sb:call-conn:conn-7") <= 300


async def test_a_writer_whose_record_changed_meanwhile_applies_its_update_to_the_new_one(
    redis_client: aioredis.Redis,
) -> None:
    store, other_replica = (RedisCallStore(redis_client, ttl_seconds=300) for _ in range(2))
    await store.create(_record())
    _, known = await store.update_from("c1", lambda r: r.add_event("mine-1"), None)
    await other_replica.update("c1", lambda r: r.add_event("theirs"))
    record, known = await store.update_from("c1", lambda r: r.add_event("mine-2"), known)
    types = [e.type for e in (await store.get("c1")).events]
    assert types[-3:] == ["mine-1", "theirs", "mine-2"] and [e.type for e in record.events] == types
    assert known.raw == await redis_client.get("sb:call:c1")
    await redis_client.delete("sb:call:c1")  # expired, or Redis lost its data
    with pytest.raises(CallNotFound):
        await store.update_from("c1", lambda r: r.add_event("lost"), known)
    with pytest.raises(CallNotFound):
        await store.update_from("ghost", lambda r: None, None)


async def test_ending_is_final_and_idempotent(redis_client: aioredis.Redis) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    await store.create(_record())
    await store.update("c1", lambda r: r.end("caller hung up"))
    record = await store.update("c1", lambda r: r.end("second reason", failed=True))
    assert record.status is CallStatus.ENDED and record.end_reason == "caller hung up" and record.ended_at


async def test_missing_record_raises(redis_client: aioredis.Redis) -> None:
    store = RedisCallStore(redis_client, ttl_seconds=300)
    with pytest.raises(CallNotFound):
        await store.get("ghost")
    with pytest.raises(CallNotFound):
        await store.update("ghost", lambda r: None)


async def test_stop_terminates_the_server() -> None:
    server = EmbeddedRedis()
    await server.start()
    pid = server.pid
    assert pid and pid_alive(pid)
    await server.stop()
    assert not _alive_not_zombie(pid)


def _alive_not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_a_killed_owner() -> None:
    """SIGKILL the owning process (no cleanup runs): the kernel still takes valkey-server down."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from apps.backend.storage.embedded_redis import EmbeddedRedis
        async def main():
            server = EmbeddedRedis()
            await server.start()
            print(server.pid, flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        valkey_pid = int(owner.stdout.readline())
        assert pid_alive(valkey_pid)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive_not_zombie(valkey_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive_not_zombie(valkey_pid)
    finally:
        owner.kill()
