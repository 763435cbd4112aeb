"""Shared fixtures for the local brain's tests: one encoder, router and registry per test session (the model
loads once, and every tool set's example matrix is cached process-wide), and the embedded Redis with the demo
data (the `redis` fixture of tests/unit/conftest.py) for conversations that run the real tools."""

from __future__ import annotations

from datetime import date

import pytest

from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
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


@pytest.fixture
def live_brain(router: IntentRouter) -> LocalBrain:
    """A brain on today's date: the demo tools check dates against date.today()."""
    return LocalBrain(router)
