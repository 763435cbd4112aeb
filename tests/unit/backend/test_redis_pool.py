"""WaitingConnectionPool on the embedded Redis: with every connection in use a command waits for one to be
released instead of failing at once, and gives up (clearly) after its bound when none is."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.redis_pool import WaitingConnectionPool


async def test_a_command_waits_for_a_released_connection_and_gives_up_after_its_bound(
    redis_server: EmbeddedRedis,
) -> None:
    pool = WaitingConnectionPool.from_url(redis_server.url, max_connections=1, wait_s=0.3)
    client = aioredis.Redis.from_pool(pool)
    try:
        held = await pool.get_connection()
        waiting = asyncio.create_task(client.ping())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the default pool would have raised MaxConnectionsError already
        await pool.release(held)
        assert await waiting is True

        held = await pool.get_connection()
        with pytest.raises(MaxConnectionsError, match=r"no Redis connection free within 0\.3 s"):
            await client.ping()
        await pool.release(held)
        assert await client.ping() is True
    finally:
        await client.aclose()
