"""A recorded call's page in the console: the post-call summary, and the recording playing in an <audio>
element (fetched with the admin key; Chromium decodes the Ogg Opus file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.e2e.test_recording_and_summary import IDENTITY, RECORDED, recorded_banking, summary_of
from tests.support import Backend, eventually, running_backend


@pytest.fixture
async def backend(simulator: AcsSimulator, tmp_path: Path) -> AsyncIterator[Backend]:
    recorded_banking(tmp_path / "agents")
    async with running_backend(
        simulator, agents_dir=tmp_path / "agents", recordings_dir=tmp_path / "recordings"
    ) as running:
        yield running


async def test_the_call_page_plays_the_recording_and_shows_the_summary(
    chromium: Browser, simulator: AcsSimulator, backend: Backend
) -> None:
    script = [WaitForAgent(turn_gap_s=1.5), Say(IDENTITY), WaitForAgent()]
    result = await simulator.place_call(backend.url, script, to_number=RECORDED, max_duration_s=40)
    call_id = result.call_connection_id
    await eventually(lambda: summary_of(backend, call_id), timeout=20)

    page, traffic = await open_console(chromium, backend, f"#/calls/{call_id}")
    await sign_in(page)
    summary = page.locator("#summary")
    await expect(summary).to_contain_text("Disposition")
    # Only the identity check ran: nothing the caller called about was done, and the reason is their words.
    await expect(summary).to_contain_text("unresolved")
    await expect(summary).to_contain_text("my name is jordan rivera")
    audio = page.get_by_label("Call recording")
    await expect(audio).to_be_visible()
    duration = await audio.evaluate(
        """a => new Promise((ok, fail) => {
            if (a.readyState >= 1) return ok(a.duration);
            a.addEventListener("loadedmetadata", () => ok(a.duration));
            a.addEventListener("error", () => fail(new Error("audio error " + (a.error && a.error.code))));
        })"""
    )
    assert abs(duration - result.frames_sent * 0.020) <= 0.5, (duration, result.frames_sent)
    await page.screenshot(path=screenshot_path("console-call-recording"), full_page=True)
    assert [r for r in traffic.requests if r.startswith("pageerror:")] == []
    assert traffic.off_host(backend) == []
