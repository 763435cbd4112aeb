"""Posts a call's CloudEvents to its callbackUri, in order, each with a fresh `Authorization: Bearer` JWT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from apps.acs_simulator.events import CloudEvent
from apps.acs_simulator.timeline import Timeline
from apps.acs_simulator.tokens import TokenIssuer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PostedCallback:
    event_type: str
    url: str
    body: list[dict[str, Any]]
    token: str
    t_ms: float
    status_code: int | None = None
    error: str | None = None
    response_text: str = field(default="", repr=False)


class CallbackSender:
    """One per call: posts one event at a time, in the order ACS would send them.

    The worker task exists only while there is something to post, so an idle sender holds no task.
    """

    def __init__(self, http: httpx.AsyncClient, tokens: TokenIssuer, timeline: Timeline) -> None:
        self._http = http
        self._tokens = tokens
        self._timeline = timeline
        self._queue: deque[tuple[str, CloudEvent]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self.posted: list[PostedCallback] = []

    def send(self, url: str, event: CloudEvent) -> None:
        self._queue.append((url, event))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="acs-sim-callbacks")

    async def _run(self) -> None:
        while self._queue:
            url, event = self._queue.popleft()
            await self._post(url, event)

    async def _post(self, url: str, event: CloudEvent) -> None:
        token = self._tokens.mint()
        body = [event.wire()]
        record = PostedCallback(event.type, url, body, token, self._timeline.now_ms())
        self.posted.append(record)
        try:
            response = await self._http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            record.error = f"{exc.__class__.__name__}: {exc}"
            log.info("callback %s to %s failed: %s", event.type, url, record.error)
            return
        record.status_code = response.status_code
        record.response_text = response.text[:500]

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until everything queued so far has been posted (or the timeout)."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._worker), timeout_s)

    async def aclose(self, timeout_s: float = 10.0) -> None:
        await self.drain(timeout_s)
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._queue.clear()
        self._worker = None
