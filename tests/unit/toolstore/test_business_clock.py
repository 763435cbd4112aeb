"""The business clock: "today" follows the contact center's time zone or a pinned date, and the tools read it
from their context, never from the server's clock."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from apps.backend.settings import Settings
from registries.toolstore import ToolContext, ToolError
from registries.toolstore.clock import BusinessClock
from registries.toolstore.tools.cards import lock_card, order_replacement_card
from registries.toolstore.tools.claims import file_claim
from registries.toolstore.tools.policies import lookup_policy
from tests.unit.toolstore.conftest import VerifiedAs

SUNDAY = date(2026, 12, 6)


def test_a_pinned_clock_keeps_its_date_and_the_real_time_of_day() -> None:
    clock = BusinessClock(pinned=SUNDAY)
    assert clock.today() == SUNDAY
    now = clock.now()
    assert now.date() == SUNDAY and now.tzinfo is None
    assert clock.prompt_line() == "Today is Sunday, December 6, 2026 (2026-12-06)."
    assert (
        clock.with_prompt_line("Be brief.") == "Be brief.\n\nToday is Sunday, December 6, 2026 (2026-12-06)."
    )


def test_the_day_follows_the_business_zone_not_the_server() -> None:
    """Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: never on the same date."""
    east, west = "Pacific/Kiritimati", "Pacific/Pago_Pago"
    assert BusinessClock.named(east).today() == datetime.now(ZoneInfo(east)).date()
    assert BusinessClock.named(west).today() == datetime.now(ZoneInfo(west)).date()
    assert (BusinessClock.named(east).today() - BusinessClock.named(west).today()).days in (1, 2)


def test_an_unknown_zone_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus'.*America/New_York"):
        BusinessClock.named("Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(_env_file=None, business_timezone="Europe/Londn")  # type: ignore[call-arg]


def test_settings_build_the_clock_every_call_gets() -> None:
    pinned = Settings(_env_file=None, business_timezone="America/Chicago", business_date="2026-12-06")  # type: ignore[call-arg]
    assert pinned.business_clock == BusinessClock(ZoneInfo("America/Chicago"), SUNDAY)
    unpinned = Settings(_env_file=None, business_date="")  # type: ignore[call-arg]
    assert unpinned.business_clock == BusinessClock(None, None)
    with pytest.raises(ValidationError, match="business_date"):
        Settings(_env_file=None, business_date="next tuesday")  # type: ignore[call-arg]


async def test_a_replacement_card_is_promised_from_the_calls_date(verified_as: VerifiedAs) -> None:
    ctx = await verified_as("jordan")
    ctx.clock = BusinessClock(pinned=SUNDAY)
    await lock_card(ctx, "lost", card_last4="4219")
    order = await order_replacement_card(ctx, expedited=True)
    assert order["arrival_text"] == "December 8th"


async def test_a_claim_is_checked_against_the_calls_date(make_ctx, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    """November 12th is in the past for the server, but in the future for a call placed on November 10th."""
    ctx: ToolContext = make_ctx(scenario="insurance", agent="claims_intake")
    ctx.clock = BusinessClock(pinned=date(2026, 11, 10))
    with pytest.raises(ToolError, match="in the future"):
        await file_claim(ctx, "AU-482913", "auto", date(2026, 11, 12), "Main Street", "Rear-ended.")
    filed = await file_claim(ctx, "AU-482913", "auto", date(2026, 11, 9), "Main Street", "Rear-ended.")
    assert filed["incident_date_text"] == "November 9th"


async def test_whether_a_policy_is_active_depends_on_the_calls_date(make_ctx) -> None:  # type: ignore[no-untyped-def]
    """AU-482913 runs from 2026-02-01: a call placed in January 2026 finds it not yet active."""
    ctx: ToolContext = make_ctx(scenario="insurance", agent="claims_intake")
    ctx.clock = BusinessClock(pinned=date(2026, 1, 15))
    assert (await lookup_policy(ctx, "AU-482913"))["active"] is False
    ctx.clock = BusinessClock(pinned=SUNDAY)
    assert (await lookup_policy(ctx, "AU-482913"))["active"] is True
