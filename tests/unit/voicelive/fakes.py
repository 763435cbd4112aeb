"""A scripted realtime server at the WebSocket edge of the real SDK connection.

`VoiceLiveConnection` (the SDK's own class) runs over a fake aiohttp WebSocket: everything the orchestrator
sends goes through the SDK's event models and JSON encoding and is recorded here as wire dicts; events the
test pushes are parsed by the SDK's `recv` as if they came off the network (malformed text included).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from azure.ai.voicelive.aio import ConnectionError as VoiceLiveConnectionError
from azure.ai.voicelive.aio import VoiceLiveConnection


class FakeWebSocket:
    def __init__(self, *, confirm_session: bool = True) -> None:
        self.incoming: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self.close_code: int | None = None
        self._confirm_session = confirm_session

    async def receive(self) -> aiohttp.WSMessage:
        return await self.incoming.get()

    async def send_str(self, data: str) -> None:
        if self.closed:
            raise aiohttp.ClientConnectionResetError("socket closed")
        event = json.loads(data)
        self.sent.append(event)
        if event["type"] == "session.update" and self._confirm_session:
            self.push({"type": "session.updated", "session": event["session"]})

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if not self.closed:
            self.closed = True
            self.close_code = code
            self.incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None))
        return True

    def exception(self) -> BaseException | None:
        return None

    # --- the test's side ---------------------------------------------------------------------------
    def push(self, event: dict[str, Any]) -> None:
        self.incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, json.dumps(event), None))

    def push_raw(self, text: str) -> None:
        self.incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, text, None))

    def drop(self) -> None:
        """The server goes away (abnormal close)."""
        self.closed = True
        self.close_code = 1006
        self.incoming.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1006, ""))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.sent if event["type"] == kind]


class _Session:
    async def close(self) -> None:
        pass


class FakeRealtime:
    """Hands out connections; `refuse` makes the next connects fail like an unreachable endpoint."""

    def __init__(self) -> None:
        self.sockets: list[FakeWebSocket] = []
        self.refuse = 0
        self.confirm_session = True
        self.connect_args: list[dict[str, Any]] = []

    @property
    def ws(self) -> FakeWebSocket:
        return self.sockets[-1]

    def connect(self, **kwargs: Any) -> Any:
        self.connect_args.append(kwargs)

        @asynccontextmanager
        async def manager() -> AsyncIterator[VoiceLiveConnection]:
            if self.refuse:
                self.refuse -= 1
                raise VoiceLiveConnectionError("Failed to establish WebSocket connection: refused")
            ws = FakeWebSocket(confirm_session=self.confirm_session)
            self.sockets.append(ws)
            connection = VoiceLiveConnection(_Session(), ws)  # type: ignore[arg-type]
            try:
                yield connection
            finally:
                await connection.close()

        return manager()


def audio_delta(pcm: bytes, *, response_id: str = "resp_1", item_id: str = "item_1") -> dict[str, Any]:
    return {
        "type": "response.audio.delta",
        "response_id": response_id,
        "item_id": item_id,
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(pcm).decode(),
    }
