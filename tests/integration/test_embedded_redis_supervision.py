"""The process that owns the embedded Redis restarts it when it dies: same port, empty (said so), re-seeded by
the owner's hook, at most so many times per window; a deliberate stop is not a death."""

from __future__ import annotations

import os
import signal

from apps.backend.runtime_connections import connect_redis
from apps.backend.storage.embedded_redis import EmbeddedRedis, pid_alive
from tests.support import eventually


async def test_a_killed_server_is_restarted_on_the_same_port_empty_and_reseeded() -> None:
    server = EmbeddedRedis()
    await server.start()
    client = connect_redis(server.url, socket_timeout_s=1.0)  # the app's client: it reconnects
    seeded: list[int] = []

    async def reseed() -> None:
        await client.set("seed", "again")
        seeded.append(1)

    try:
        server.supervise(on_restart=reseed, first_backoff_s=0.05)
        await client.set("call", "data")
        port, first_pid = server.port, server.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        await eventually(lambda: server.down_reason is not None, timeout=10)
        await eventually(lambda: seeded, timeout=15)
        assert server.restarts == 1 and server.down_reason is None
        assert server.port == port and server.pid != first_pid
        assert await client.get("call") is None  # the embedded server keeps nothing on disk
        assert await client.get("seed") == b"again"
    finally:
        await client.aclose()
        await server.stop()


async def test_restarts_are_bounded_per_window() -> None:
    server = EmbeddedRedis()
    await server.start()
    try:
        server.supervise(max_restarts=1, window_s=60, first_backoff_s=0.05)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        await eventually(lambda: server.restarts == 1, timeout=15)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        reason = await eventually(lambda: server.down_reason and "gave up" in server.down_reason, timeout=15)
        assert reason and server.restarts == 1
    finally:
        await server.stop()


async def test_a_deliberate_stop_is_not_restarted() -> None:
    server = EmbeddedRedis()
    await server.start()
    server.supervise(first_backoff_s=0.05)
    pid = server.pid
    assert pid is not None
    await server.stop()
    assert server.pid is None and server.restarts == 0
    assert not pid_alive(pid) or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except FileNotFoundError:
        return False
