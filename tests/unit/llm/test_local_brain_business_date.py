"""The local brain turns "yesterday" into a date against the call's own business date (the clock the call's
conversation carries, sent with every request), so a call pinned to a day behaves the same on any real day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from apps.evals.text_run import TextCall
from registries.snapshot import RegistrySnapshot
from registries.toolstore.clock import BusinessClock
from voice.llm.local_brain import LocalBrain

CALLER = [
    "hi um i was in a car accident yesterday",
    "nobody got hurt",
    "policy number is a u four eight two nine one three",
    "somebody backed into me in the parking lot at the safeway on main street in bellevue",
]


@pytest.mark.parametrize("placed_on", [date(2026, 12, 6), date(2026, 12, 20)])
async def test_yesterday_is_the_day_before_the_calls_business_date(
    live_brain: LocalBrain, snapshot: RegistrySnapshot, redis: Redis, placed_on: date
) -> None:
    call = TextCall(
        f"yesterday-{placed_on}", snapshot, "insurance", live_brain, redis, BusinessClock(pinned=placed_on)
    )
    call.greet()
    assert call.conv.system_prompt()["content"].endswith(f"({placed_on.isoformat()}).")
    for line in CALLER:
        await call.say("speech", line)
    filed = [c.arguments for t in call.turns for c in t.tool_calls if c.name == "file_claim"]
    assert filed, [t.text for t in call.turns]
    assert filed[-1]["incident_date"] == (placed_on - timedelta(days=1)).isoformat()  # type: ignore[index]
