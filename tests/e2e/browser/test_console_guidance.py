"""A supervisor follows a nurse-line triage call in the console: the guidance panel fills as the caller speaks
(checklist with done / missing / n.a., the caller's tone with its confidence, coaching lines), and the
intake's structured result shows once the form completes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, expect

from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.e2e.calls import TRIAGE, triage_intake_script
from tests.support import Backend, running_backend


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator, idle_reprompt_seconds=30, idle_hang_up_seconds=60, guidance_interval_seconds=0.5
    ) as running:
        yield running


async def test_the_guidance_panel_fills_as_a_triage_call_runs(
    chromium: Browser, simulator: AcsSimulator, backend: Backend
) -> None:
    page, traffic = await open_console(chromium, backend, "#/live")
    await sign_in(page)
    script = triage_intake_script()
    call = asyncio.create_task(
        simulator.place_call(backend.url, script, to_number=TRIAGE, max_duration_s=180)
    )
    try:
        row = page.locator("#live-calls tbody tr", has_text="triage")
        await expect(row).to_be_visible(timeout=15_000)
        await row.get_by_role("link").click()
        panel = page.locator("#guidance")
        await expect(panel).to_contain_text("Waiting for the caller's first turn")

        # After the first caller turn: the checklist, part done, part missing, and what to do next.
        checklist = panel.get_by_label("Checklist")
        disclaimer = checklist.locator("li[data-item=disclaimer_given]")
        await expect(disclaimer).to_contain_text("Not-medical-advice notice given", timeout=30_000)
        await expect(disclaimer).to_contain_text(re.compile(r"done · turn \d+"))
        await expect(checklist.locator("li[data-item=intake_recorded]")).to_contain_text("missing")
        await expect(panel.locator("#guidance-tone")).to_have_text("calm")
        await expect(panel).to_contain_text(re.compile(r"\d+% sure · embedded"))
        await expect(panel.get_by_label("Coaching")).to_contain_text("Next on the checklist")

        # The intake completes: its fields show, and the checklist has caught up.
        intake = page.locator("#guidance .intake")
        await expect(intake).to_contain_text("Intake complete: triage", timeout=150_000)
        await expect(intake.locator("tr", has_text="severity")).to_contain_text("7")
        await expect(intake.locator("tr", has_text="allergies")).to_contain_text("penicillin")
        # The agent's last turn recorded the intake and said what happens next: guidance follows it too.
        for item in ("read_back_confirmed", "intake_recorded", "next_steps_stated"):
            await expect(checklist.locator(f"li[data-item={item}]")).to_contain_text("done", timeout=15_000)
        await page.screenshot(path=screenshot_path("console-guidance"))
        await asyncio.wait_for(call, 60)
    finally:
        call.cancel()
        # Shown by pytest only when the test fails: what was heard, for telling a misrecognition from a bug.
        print("final turns:", [(m["speaker"], m["text"]) for m in traffic.socket_messages if m.get("final")])
    guidance = [m for m in traffic.socket_messages if m["type"] == "guidance"]
    assert guidance, [m["type"] for m in traffic.socket_messages]
    assert not [r for r in traffic.requests if r.startswith("pageerror:")], traffic.requests
