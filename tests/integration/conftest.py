"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from apps.backend.storage.embedded_redis import EmbeddedRedis


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    """A client of a fresh embedded Redis (valkey) server of its own, stopped after the test."""
    server = EmbeddedRedis()
    await server.start()
    client = aioredis.Redis.from_url(server.url)
    yield client
    await client.aclose()
    await server.stop()
