"""A simulated phone call seen through the console: it appears in Live calls and its transcript streams in
while it runs; once over, the history lists it and its page charts each reply's latency; Health shows the
readiness and the latency figures from /metrics."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, expect

from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.e2e.calls import BANKING
from tests.support import Backend, eventually


async def test_a_phone_call_streams_into_live_calls_then_charts_in_history(
    chromium: Browser, simulator: AcsSimulator, backend: Backend
) -> None:
    page, traffic = await open_console(chromium, backend, "#/live")
    await sign_in(page)
    await expect(page.locator("#live-calls")).to_contain_text("No live calls right now.")

    # The caller stays on the line after the answer: the operator presses a key for them, then hangs up.
    script = [WaitForAgent(), Pause(1.0), Say("What's my balance?"), WaitForAgent(), Pause(40.0)]
    call = asyncio.create_task(
        simulator.place_call(
            backend.url, script, to_number=BANKING, from_number="+14255550123", max_duration_s=60
        )
    )
    try:
        # The call shows up in the list (polled), with the caller's number masked.
        row = page.locator("#live-calls tbody tr", has_text="banking")
        await expect(row).to_be_visible(timeout=15_000)
        await expect(row).to_contain_text("phone")
        await expect(row).to_contain_text("+1••••••0123")
        await expect(row).to_contain_text("concierge")
        await expect(page.locator("#live-count")).to_have_text("1")
        await row.get_by_role("link").click()

        feed = page.get_by_label("Live transcript")
        await expect(feed.locator(".turn.agent").first).to_contain_text("Contoso", timeout=15_000)
        caller_turn = feed.locator(".turn.caller:not(.partial)")
        await expect(caller_turn.first).to_be_visible(timeout=30_000)
        # Partial chunks show the reply in progress; the final one replaces them.
        await expect(feed.locator(".turn.agent:not(.partial)")).to_have_count(2, timeout=30_000)
        await expect(feed.locator(".turn.partial")).to_have_count(0)
        # The question's tool ran (and failed: the caller is not verified yet), with its time.
        await expect(feed.locator(".note.tool")).to_have_text(
            re.compile(r"^Tool get_balance failed in \d+ ms$")
        )
        await page.screenshot(path=screenshot_path("console-live-call"))

        await page.get_by_label("Keys").fill("1")
        await page.get_by_role("button", name="Send DTMF").click()
        await expect(page.get_by_role("status")).to_have_text("Sent 1")
        await expect(feed.locator(".turn.caller", has_text="keys")).to_be_visible(timeout=15_000)
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Hang up").click()
        await expect(page.get_by_role("status")).to_have_text("Hung up.")
        result = await asyncio.wait_for(call, 30)
    finally:
        call.cancel()
    assert result.hung_up_by == "backend", result.end_reason

    # The caller's words came over the events socket as the call ran (the follow view opened before they were
    # spoken, so its snapshot could not have had them).
    snapshot = next(m for m in traffic.socket_messages if m["type"] == "snapshot")
    assert all(t["speaker"] == "agent" for t in snapshot["transcript"]), snapshot
    streamed = [m for m in traffic.socket_messages if m["type"] == "transcript_chunk"]
    assert any(m["speaker"] == "caller" and m["kind"] == "speech" and m["final"] for m in streamed), streamed
    await expect(page.get_by_text("The call has ended.")).to_be_visible(timeout=15_000)

    call_id = snapshot["call_id"]
    await page.get_by_role("link", name="Call history").click()
    await expect(page.locator("#history tbody tr", has_text=call_id[:12])).to_be_visible()
    await page.get_by_label("Search").fill("no-such-scenario")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#history")).to_contain_text("No ended calls match.")
    await page.get_by_label("Search").fill("banking")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#history tbody tr", has_text=call_id[:12])).to_be_visible()
    # What calls cost per day and scenario, as the costs API totals them.
    async with backend.admin() as admin:
        daily = (await admin.get("/api/v1/costs/daily", params={"max_calls": 1000})).json()
    [banking] = [row for row in daily["days"] if row["scenario"] == "banking"]
    row = page.locator("#daily-cost tbody tr", has_text="banking")
    await expect(row).to_contain_text(banking["day"])
    await expect(row.locator("td").nth(2)).to_have_text(str(banking["calls"]))
    await page.screenshot(path=screenshot_path("console-history"))

    await page.get_by_role("link", name=call_id[:12]).click()
    chart = page.locator("#latency svg.latency-chart")
    await expect(chart).to_be_visible()
    # One bar per agent reply with a measured latency, split into its parts.
    replies = await eventually(lambda: _replies_with_latency(backend, call_id), timeout=10)
    await expect(chart.locator("text.row-label")).to_have_count(len(replies))
    await expect(chart.locator("rect.bar")).to_have_count(sum(len(_parts(r)) for r in replies))
    spoken = [r for r in replies if "stt_final_ms" in _parts(r)]  # the answer to the question (not the keys)
    assert len(spoken) == 1
    await expect(chart.locator("rect.bar.p-stt")).to_have_count(1)
    await expect(chart.locator("rect.bar.p-eot")).to_have_count(1)
    await expect(page.get_by_role("region", name="Call facts")).to_contain_text("ended")
    # What the call cost: one row per provider/model/agent line of the priced ledger.
    async with backend.admin() as admin:
        cost = (await admin.get(f"/api/v1/calls/{call_id}/cost")).json()
    assert cost["lines"], cost
    await expect(page.locator("#cost tbody tr")).to_have_count(len(cost["lines"]))
    await expect(page.locator("#cost")).to_contain_text(f"in all · prices as of {cost['prices_as_of']}")
    await page.screenshot(path=screenshot_path("console-call"), full_page=True)

    await page.get_by_role("link", name="Health").click()
    await expect(page.locator("#readiness")).to_contain_text("Ready")
    # Each dependency readiness checks, on a row of its own.
    dependencies = page.locator("#dependencies tbody tr")
    await expect(dependencies).to_have_count(3)
    await expect(dependencies.filter(has_text="Redis")).to_contain_text("ready")
    await expect(dependencies.filter(has_text="Redis")).to_contain_text("embedded")
    version = backend.runtime.registry.current.version
    await expect(dependencies.filter(has_text="Agent registry")).to_contain_text(f"version {version}")
    await expect(dependencies.filter(has_text="Text to speech")).to_contain_text("espeak-ng")
    await expect(page.locator("#turn-latency")).to_contain_text(f"{len(replies)} agent replies measured")
    await expect(page.locator("#turn-latency svg rect.p50")).not_to_have_count(0)
    await page.screenshot(path=screenshot_path("console-health"), full_page=True)
    assert [r for r in traffic.requests if r.startswith("pageerror:")] == []
    assert traffic.off_host(backend) == []


def _parts(latency: dict[str, float | None]) -> set[str]:
    """The parts of one reply's latency the chart draws a bar for (those that took time)."""
    llm = "llm_ms" if latency.get("llm_ms") is not None else "llm_first_token_ms"
    names = ("end_of_turn_ms", "stt_final_ms", llm, "tools_ms", "tts_first_audio_ms", "overhead_ms")
    return {name for name in names if (latency.get(name) or 0) > 0}


async def _replies_with_latency(backend: Backend, call_id: str) -> list[dict[str, float | None]]:
    async with backend.admin() as admin:
        transcript = (await admin.get(f"/api/v1/calls/{call_id}/transcript")).json()
    if transcript.get("outcome") is None:
        return []
    return [
        t["latency"]
        for t in transcript["turns"]
        if t["speaker"] == "agent" and t["latency"] and t["latency"]["response_ms"] is not None
    ]
