"""Policy lookups, coverage and deductible questions, first notice of loss and claim status."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from registries.toolstore import ToolContext, ToolError
from registries.toolstore.demo import insurance
from registries.toolstore.demo.speech import spell, spoken_date
from registries.toolstore.tools.claims import correct_claim, file_claim, get_claim_status
from registries.toolstore.tools.policies import get_coverage, get_deductible, lookup_policy
from tests.unit.toolstore.replies import spoken

INCIDENT_DAY = date(2026, 11, 10)  # within AU-482913's term, and in the past


@pytest.fixture
def ctx(make_ctx) -> ToolContext:  # type: ignore[no-untyped-def]
    return make_ctx(scenario="insurance", agent="claims_intake")


async def test_a_policy_is_found_from_its_spoken_number(ctx: ToolContext) -> None:
    out = await lookup_policy(ctx, "a u 4 8 2 9 1 3")

    assert ctx.session["policy_number"] == "AU-482913"
    assert out["active"] is (date.today() <= date(2027, 1, 31))
    assert spoken(lookup_policy, out).startswith(
        "I found Jordan's auto policy A U 4 8 2 9 1 3, covering 2021 Toyota RAV4."
    )


async def test_a_lapsed_policy_says_so(ctx: ToolContext) -> None:
    out = await lookup_policy(ctx, "AU-118822")
    assert spoken(lookup_policy, out).endswith(
        f"It is not active: it ended on {spoken_date(date(2026, 6, 30))}."
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: lookup_policy(ctx, "ZZ-999999"),
        lambda ctx: get_coverage(ctx, "ZZ-999999", "collision"),
        lambda ctx: get_deductible(ctx, "ZZ-999999"),
        lambda ctx: file_claim(ctx, "ZZ-999999", "auto", INCIDENT_DAY, "Main Street", "A fender bender."),
    ],
)
async def test_an_unknown_policy_is_a_tool_error(ctx: ToolContext, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ToolError, match="couldn't find a policy with the number Z Z 9 9 9 9 9 9"):
        await call(ctx)


async def test_coverage_reads_limit_and_deductible(ctx: ToolContext) -> None:
    out = await get_coverage(ctx, "AU-482913", "comprehensive")

    assert out["covered"] is True and out["deductible_cents"] == 25000
    assert spoken(get_coverage, out) == (
        "Yes. Your policy includes comprehensive coverage for theft, glass, fire, hail and animal damage to your "
        "car, up to 35,000 dollars, with a 250 dollars deductible."
    )


async def test_coverage_a_policy_does_not_have_is_a_plain_no(ctx: ToolContext) -> None:
    out = await get_coverage(ctx, "HO-730155", "flood")
    assert spoken(get_coverage, out) == "Your home policy doesn't include flood coverage."


async def test_deductible_names_coverages_that_differ(ctx: ToolContext) -> None:
    auto = await get_deductible(ctx, "AU-482913")
    home = await get_deductible(ctx, "HO 730155")

    assert spoken(get_deductible, auto) == (
        "Your auto policy deductible is 500 dollars, except comprehensive, which is 250 dollars."
    )
    assert spoken(get_deductible, home) == "Your home policy deductible is 1,000 dollars."


async def test_a_filed_claim_gets_a_number_that_its_status_then_finds(ctx: ToolContext) -> None:
    filed = await file_claim(
        ctx,
        "AU-482913",
        "auto",
        INCIDENT_DAY,
        "Main Street and 5th Avenue, Bellevue",
        "Rear-ended at a light.",
    )

    assert filed["claim_number"] == "7001100"
    assert ctx.session["claim_number"] == "7001100"
    assert spoken(file_claim, filed) == (
        "Your claim is filed. Your claim number is 7 0 0 1 1 0 0. An adjuster will call you within one business day."
    )
    status = await get_claim_status(ctx, "claim 7 0 0 1 1 0 0")
    assert status["status"] == "received" and status["policy_number"] == "AU-482913"
    assert spoken(get_claim_status, status).startswith("Claim 7 0 0 1 1 0 0, filed on ")


async def test_the_same_claim_reported_twice_in_a_call_is_filed_once(ctx: ToolContext, make_ctx) -> None:  # type: ignore[no-untyped-def]
    args = (
        "RE-215566",
        "theft",
        INCIDENT_DAY,
        "220 Lake Street, Chicago",
        "My bike was stolen from the lobby.",
    )

    first = await file_claim(ctx, *args)
    again = await file_claim(ctx, *args)
    other_call = await file_claim(make_ctx(call_id="call-2", scenario="insurance"), *args)

    assert again["claim_number"] == first["claim_number"] and again["already_filed"] is True
    assert spoken(file_claim, again).startswith("That claim was already filed.")
    assert other_call["claim_number"] != first["claim_number"]


async def test_twin_claims_filed_at_the_same_moment_become_one(ctx: ToolContext) -> None:
    args = ("HO-730155", "water", INCIDENT_DAY, "14 Birch Lane, Redmond", "A pipe burst under the sink.")

    results = await asyncio.gather(*(file_claim(ctx, *args) for _ in range(3)))

    assert len({r["claim_number"] for r in results}) == 1
    assert [r["already_filed"] for r in results].count(False) == 1
    assert (await get_claim_status(ctx, results[0]["claim_number"]))["policy_number"] == "HO-730155"


async def test_a_claim_must_fit_the_policy_and_the_calendar(ctx: ToolContext) -> None:
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(ToolError, match="in the future"):
        await file_claim(ctx, "AU-482913", "auto", tomorrow, "Main Street", "A fender bender.")
    with pytest.raises(ToolError, match=f"wasn't active on {spoken_date(date(2026, 7, 4))}"):
        await file_claim(ctx, "AU-118822", "auto", date(2026, 7, 4), "Main Street", "A fender bender.")
    with pytest.raises(ToolError, match="is a home policy, so it can't cover"):
        await file_claim(ctx, "HO-730155", "auto", INCIDENT_DAY, "Main Street", "A fender bender.")
    with pytest.raises(ToolError, match="where it happened"):
        await file_claim(ctx, "HO-730155", "water", INCIDENT_DAY, " ", "The pipe burst.")
    with pytest.raises(ToolError, match="didn't catch that date"):
        await file_claim(ctx, "HO-730155", "water", "last tuesday", "Home", "The pipe burst.")  # type: ignore[arg-type]


async def test_seeded_claims_report_adjuster_and_payment(ctx: ToolContext) -> None:
    assigned = await get_claim_status(ctx, "7001001")
    paid = await get_claim_status(ctx, "7001002")

    assert spoken(get_claim_status, assigned) == (
        f"Claim 7 0 0 1 0 0 1, filed on {spoken_date(date(2026, 10, 27))}, is assigned to an adjuster. Your adjuster is Sam Patel. "
        "Sam Patel will inspect the car at the body shop this week."
    )
    assert "We paid 3,200 dollars." in spoken(get_claim_status, paid)


async def test_an_unknown_claim_is_a_tool_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="couldn't find a claim numbered 1 2 3 4 5 6 7"):
        await get_claim_status(ctx, "1234567")
    with pytest.raises(ToolError, match="numbered like that"):
        await get_claim_status(ctx, "the one from last week")


async def test_a_claim_filed_on_this_call_gets_its_day_corrected_not_a_second_claim(ctx: ToolContext) -> None:
    filed = await file_claim(
        ctx, "AU-482913", "auto", INCIDENT_DAY, "Bellevue Square garage", "Backed into a pillar."
    )
    day_before = INCIDENT_DAY - timedelta(days=1)

    fixed = await correct_claim(ctx, filed["claim_number"], incident_date=day_before)

    assert fixed["claim_number"] == filed["claim_number"]
    status = await get_claim_status(ctx, filed["claim_number"])
    assert status["claim_number"] == filed["claim_number"]
    stored = await insurance.get_claim(ctx.redis, filed["claim_number"])
    assert stored is not None and stored.incident_date == day_before
    assert stored.location == "Bellevue Square garage"  # only what was corrected changes
    assert spoken(correct_claim, fixed).startswith(
        f"I've corrected claim {spell(filed['claim_number'])}: it now says it happened on {spoken_date(day_before)}."
    )


async def test_only_a_claim_filed_on_this_call_can_be_corrected(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="only correct a claim filed on this call"):
        await correct_claim(ctx, "7001002", incident_date=INCIDENT_DAY)  # an older claim of the demo data
    filed = await file_claim(ctx, "AU-482913", "auto", INCIDENT_DAY, "Main Street", "A fender bender.")
    with pytest.raises(ToolError, match="in the future"):
        await correct_claim(ctx, filed["claim_number"], incident_date=date.today() + timedelta(days=2))
    with pytest.raises(ToolError, match="the day or the place"):
        await correct_claim(ctx, filed["claim_number"])
