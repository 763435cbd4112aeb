"""Tool contexts on the real embedded Redis of tests/unit/conftest.py (flushed and re-seeded per test)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from registries.toolstore import ToolContext
from registries.toolstore.tools.identity import verify_identity


@pytest.fixture
def make_ctx(redis: Redis) -> Callable[..., ToolContext]:
    def make(call_id: str = "call-1", scenario: str = "banking", agent: str = "concierge") -> ToolContext:
        return ToolContext(
            call_id=call_id, caller="+14255550101", scenario=scenario, agent=agent, redis=redis
        )

    return make


@pytest.fixture
def ctx(make_ctx: Callable[..., ToolContext]) -> ToolContext:
    return make_ctx()


VerifiedAs = Callable[[str], Awaitable[ToolContext]]

# name -> (full name, account last 4) of the demo customers
CUSTOMERS = {
    "jordan": ("Jordan Rivera", "4821"),
    "priya": ("Priya Shah", "1177"),
    "marcus": ("Marcus Chen", "6640"),
}


@pytest.fixture
def verified_as(ctx: ToolContext) -> VerifiedAs:
    """A context whose caller passed verify_identity as one of the demo customers."""

    async def verify(who: str) -> ToolContext:
        full_name, last4 = CUSTOMERS[who]
        await verify_identity(ctx, full_name, account_last4=last4)
        return ctx

    return verify
