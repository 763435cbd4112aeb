"""Real-browser tests: headless Debian Chromium (/usr/bin/chromium, installed by `make test`) driven by
Playwright for Python, which never downloads a browser of its own here.

Every test in this folder is marked `browser` (here) and `e2e` (tests/e2e/conftest.py), so `make test-fast`
skips them and `-m browser` picks them alone; the `simulator` and `backend` fixtures are tests/e2e's. A missing
Chromium is a failure, not a skip: `make test` installs it, and a suite that silently skipped its browser tests
would report a pass it did not earn. Screenshots go to `test-artifacts/screenshots/` (kept by CI, looked at by
people)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path(os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium"))
_CHROMIUM_INSTALLED = CHROMIUM.exists()
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"

# What the machine's closed network needs (no background calls home) plus what the tests need: a fake
# microphone and camera with no permission prompt, and ICE candidates on loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@asynccontextmanager
async def chromium_browser(*, fake_audio: Path | None = None) -> AsyncIterator[Browser]:
    """A headless Chromium; `fake_audio` (a WAV file) becomes the microphone."""
    if not _CHROMIUM_INSTALLED:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    args = list(CHROMIUM_ARGS)
    if fake_audio is not None:
        args.append(f"--use-file-for-fake-audio-capture={fake_audio}%noloop")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with chromium_browser() as browser:
        yield browser


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
