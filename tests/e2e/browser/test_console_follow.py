"""Following a phone call in the console while it runs: replies in progress, each tool call with its time, a
handoff between agents and a barge-in (the caller talks over a reply, which shows as cut short)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, expect

from apps.acs_simulator.caller_audio import CallerStep, Pause, Say, WaitForAgent, WaitForAgentStart
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.e2e.calls import BANKING
from tests.support import Backend, running_backend

# Counts every transcript item the page ever showed as in progress (a partial is replaced by its final turn,
# so what is on screen at the end cannot tell whether partials were shown).
COUNT_PARTIALS = """() => {
  window.partialsShown = 0;
  new MutationObserver((records) => {
    for (const record of records)
      for (const node of record.addedNodes)
        if (node.classList && node.classList.contains("partial")) window.partialsShown += 1;
  }).observe(document.getElementById("main"), { childList: true, subtree: true });
}"""


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    # No idle reprompt during the caller's pause (its barge-in would be the one seen, on the wrong agent).
    async with running_backend(simulator, idle_reprompt_seconds=30, idle_hang_up_seconds=60) as running:
        yield running


async def test_a_followed_call_shows_partials_tool_times_a_handoff_and_a_barge_in(
    chromium: Browser, simulator: AcsSimulator, backend: Backend
) -> None:
    page, traffic = await open_console(chromium, backend, "#/live")
    await sign_in(page)
    await page.evaluate(COUNT_PARTIALS)
    # The pause after the greeting leaves the operator time to open the call (the list polls every 2 s).
    script: list[CallerStep] = [
        WaitForAgent(),
        Pause(8.0),
        Say("I lost my debit card."),
        WaitForAgentStart(after_ms=1200),  # card services starts its reply, and the caller talks over it
        Say("Sorry, can you say that again?"),
        WaitForAgent(),
    ]
    call = asyncio.create_task(
        simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    )
    try:
        row = page.locator("#live-calls tbody tr", has_text="banking")
        await expect(row).to_be_visible(timeout=15_000)
        await row.get_by_role("link").click()
        feed = page.get_by_label("Live transcript")
        await expect(feed.locator(".turn.agent").first).to_contain_text("Contoso", timeout=15_000)

        await expect(feed.locator(".note.handoff")).to_have_text(
            "Handoff: concierge → card_services", timeout=30_000
        )
        await expect(feed.locator(".note.tool", has_text="handoff_card_services")).to_have_text(
            re.compile(r"^Tool handoff_card_services ok in \d+ ms$")
        )
        cut = feed.locator(".turn.agent.interrupted")
        await expect(cut.first).to_contain_text("cut short", timeout=30_000)
        await expect(cut.first).to_contain_text("card_services")
        # The caller's words over the reply are a turn of their own, after the cut reply.
        await expect(
            feed.locator(".turn.agent.interrupted ~ .turn.caller:not(.partial)").first
        ).to_be_visible(timeout=30_000)
        await page.screenshot(path=screenshot_path("console-live-call-handoff"))
        result = await asyncio.wait_for(call, 60)
    finally:
        call.cancel()
    assert result.script_error is None

    streamed = [m for m in traffic.socket_messages if m["type"] == "transcript_chunk"]
    assert any(not m["final"] for m in streamed), streamed  # replies and words in progress came live
    assert await page.evaluate("window.partialsShown") > 0
    assert [m for m in traffic.socket_messages if m["type"] == "agent_changed"], traffic.socket_messages
    assert [m for m in traffic.socket_messages if m["type"] == "tool_called"], traffic.socket_messages
    assert [r for r in traffic.requests if r.startswith("pageerror:")] == []
