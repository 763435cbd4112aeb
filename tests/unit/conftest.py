"""A real embedded Redis (valkey) for the unit tests that need storage, flushed and re-seeded with the demo
data per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from apps.backend.storage.embedded_redis import EmbeddedRedis
from registries.toolstore.demo import seed_demo_data


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def redis_server() -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    await client.flushdb()
    await seed_demo_data(client)
    yield client
    await client.aclose()
