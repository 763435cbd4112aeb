from collections.abc import AsyncIterator

import pytest

from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend, running_backend


@pytest.fixture
async def simulator() -> AsyncIterator[AcsSimulator]:
    async with AcsSimulator(port=0) as sim:
        yield sim


@pytest.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(simulator) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
