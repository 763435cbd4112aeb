"""The history page pages through ended calls with its cursor ("Older calls") and searches on the server."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect

from apps.backend.storage.call_store import CallDirection, CallRecord, CallStatus, utcnow
from tests.e2e.browser.conftest import screenshot_path
from tests.e2e.browser.console_pages import open_console, sign_in
from tests.support import Backend

PAGE = 20
"""Rows the history page asks for at a time (history.js)."""


async def test_history_pages_with_older_calls_and_searches(chromium: Browser, backend: Backend) -> None:
    now = utcnow()
    for i in range(PAGE + 5):
        scenario = "insurance" if i % 5 == 0 else "banking"
        record = CallRecord(
            call_id=f"hist-{i:02d}",
            direction=CallDirection.INBOUND,
            scenario=scenario,
            caller="+14255550123",
            status=CallStatus.ENDED,
            end_reason="caller hung up",
            created_at=now - timedelta(minutes=60 - i),
            ended_at=now - timedelta(minutes=59 - i),
        )
        await backend.runtime.calls.store.create(record)
    await backend.runtime.calls.store.create(
        CallRecord(
            call_id="hist-live",
            direction=CallDirection.INBOUND,
            scenario="banking",
            status=CallStatus.CONNECTED,
        )
    )

    page, traffic = await open_console(chromium, backend, "#/calls")
    await sign_in(page)
    rows = page.locator("#history tbody tr")
    await expect(rows).to_have_count(PAGE)
    await expect(rows.first).to_contain_text("hist-24")  # newest first
    await expect(rows.first).to_contain_text("+1••••••0123")
    older = page.get_by_role("button", name="Older calls")
    await expect(older).to_be_visible()
    await page.screenshot(path=screenshot_path("console-history-paged"), full_page=True)
    await older.click()
    await expect(rows).to_have_count(PAGE + 5)
    await expect(rows.last).to_contain_text("hist-00")
    await expect(older).to_be_hidden()
    await expect(page.locator("#history")).not_to_contain_text("hist-live")  # a live call is no history

    await page.get_by_label("Search").fill("insurance")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(5)
    await expect(older).to_be_hidden()
    for row in await rows.all():
        await expect(row).to_contain_text("insurance")
    assert [r for r in traffic.requests if r.startswith("pageerror:")] == []
