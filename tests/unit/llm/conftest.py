"""Shared fixtures for the local brain's tests: one encoder, router and registry per test session (the model
loads once, and every tool set's example matrix is cached process-wide), and the embedded Redis with the demo
data for conversations that run the real tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from apps.backend.storage.embedded_redis import EmbeddedRedis
from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from registries.toolstore.demo import seed_demo_data
from voice.llm.local_brain import IntentRouter, LocalBrain, SentenceEncoder, get_shared_encoder

TODAY = date(2026, 11, 20)  # a Friday; the demo data is from November 2026


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return get_shared_encoder()


@pytest.fixture(scope="session")
def router(encoder: SentenceEncoder) -> IntentRouter:
    return IntentRouter(encoder)


@pytest.fixture(scope="session")
def snapshot() -> RegistrySnapshot:
    return load_registry()


@pytest.fixture
def brain(router: IntentRouter) -> LocalBrain:
    return LocalBrain(router, today=lambda: TODAY)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def redis_server() -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """A fresh copy of the demo data per test."""
    client = Redis.from_url(redis_server.url)
    await client.flushdb()
    await seed_demo_data(client)
    yield client
    await client.aclose()
