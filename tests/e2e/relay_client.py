"""A relay client for tests: connects to WS /api/v1/realtime/relay, sends events, and reads what comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.e2e.voice_session_client import create_session, voice_url
from tests.support import Backend


async def create_relay_session(backend: Backend, **body: Any) -> dict[str, Any]:
    return await create_session(backend, channel="relay", **body)


class RelayClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, session: dict[str, Any], token: str | None = None) -> RelayClient:
        return cls(await websockets.connect(voice_url(session, token), max_size=16 * 1024 * 1024))

    async def send(self, event: dict[str, Any] | str) -> None:
        await self.ws.send(event if isinstance(event, str) else json.dumps(event))

    async def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        """Read until an event matches (every event read is kept in `events`)."""
        for event in self.events:
            if match(event):
                return event
        async with asyncio.timeout(timeout):
            while True:
                event = json.loads(await self.ws.recv())
                self.events.append(event)
                if match(event):
                    return event

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def close(self) -> None:
        await self.ws.close()


def is_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == kind


def user_text(text: str, event_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }
    if event_id:
        event["event_id"] = event_id
    return event
