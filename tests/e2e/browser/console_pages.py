"""Helpers for driving the console in Chromium: sign in through its form, and record what the page asked for.
(The `simulator` and `backend` fixtures are tests/e2e/conftest.py's.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, WebSocket, expect

from tests.support import ADMIN_KEY, Backend


@dataclass
class PageTraffic:
    """Every request a page made, and every JSON message it received on a WebSocket."""

    requests: list[str] = field(default_factory=list)
    socket_messages: list[dict[str, Any]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", self._on_socket)

    def _on_socket(self, socket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str):
                self.socket_messages.append(json.loads(payload))

        socket.on("framereceived", received)

    def off_host(self, backend: Backend) -> list[str]:
        host = urlsplit(backend.url).netloc
        return [url for url in self.requests if urlsplit(url).netloc not in (host, "")]


async def open_console(browser: Browser, backend: Backend, route: str = "#/live") -> tuple[Page, PageTraffic]:
    page = await browser.new_page(viewport={"width": 1366, "height": 860})
    traffic = PageTraffic()
    traffic.watch(page)
    page.on("pageerror", lambda error: traffic.requests.append(f"pageerror:{error}"))
    await page.goto(f"{backend.url}/console/{route}")
    return page, traffic


async def sign_in(page: Page, key: str = ADMIN_KEY) -> None:
    """Sign in as an operator would: with the right key, wait until the console has taken it (the page after the
    sign-in is then the signed-in one, not one that started rendering before the key was accepted)."""
    await page.get_by_label("Admin key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    if key == ADMIN_KEY:
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
