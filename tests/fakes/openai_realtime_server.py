"""A loopback fake of the OpenAI Realtime API for relay tests: `GET /v1/realtime?model=...` (GA dialect) upgraded
to a WebSocket with `Authorization: Bearer <key>`; the Azure shapes, `GET /openai/realtime?api-version=...&
deployment=...` (Azure OpenAI) and `GET /voice-live/realtime?api-version=...&model=...` (VoiceLive), with an
`api-key: <key>` header and the beta dialect's event names. Anything else: HTTP 401 before the upgrade.

It answers `session.update` with `session.updated`, echoes created items (`conversation.item.added`), and
answers each `input_audio_buffer.commit` with the next scripted transcription (its text and usage), and
each `response.create` with the next scripted `FakeResponse`: text as `response.output_text.delta`s,
or function calls, then `response.done` carrying the output items and the usage it reports. Faults, for the
relay's sake: `connect_delay_s` holds every upgrade that long (slow to connect); `drop_in_response` aborts the
TCP connection once, in the middle of that response (after `response.created` and a first delta), and serves
the same scripted response again to the next `response.create`; `ignore_pings` stops answering pings (a
dead upstream that still holds its socket). Everything received is recorded per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass(frozen=True)
class FakeCall:
    name: str
    arguments: dict[str, Any]
    call_id: str


@dataclass(frozen=True)
class FakeResponse:
    text: str = ""
    calls: tuple[FakeCall, ...] = ()
    usage: dict[str, Any] = field(default_factory=dict)
    """The `response.usage` object sent with `response.done` (input/output tokens and their details)."""
    delta_delay_s: float = 0.05


def realtime_usage(
    *, text_in: int, audio_in: int, text_out: int, audio_out: int, cached_text: int = 0, cached_audio: int = 0
) -> dict[str, Any]:
    """A `response.usage` in the GA shape."""
    return {
        "total_tokens": text_in + audio_in + text_out + audio_out,
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {"text_tokens": cached_text, "audio_tokens": cached_audio},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


def _beta(request: web.Request) -> bool:
    """The Azure shapes speak the beta dialect."""
    return request.path != "/v1/realtime"


class FakeRealtimeServer:
    def __init__(self, *, api_key: str, connect_delay_s: float = 0.0) -> None:
        self.api_key = api_key
        self.connect_delay_s = connect_delay_s
        self.drop_in_response: int | None = None
        """1-based index of the `response.create` (across connections) during which to drop, once."""
        self.ignore_pings = False
        self.connections: list[list[dict[str, Any]]] = []
        """What each connection received, in order."""
        self.refused = 0
        self.transcriptions: deque[tuple[str, dict[str, Any]]] = deque()
        """(transcript, usage) answered to each `input_audio_buffer.commit`, in order."""
        self.upgrades: list[tuple[str, dict[str, str]]] = []
        """The path and query of every accepted upgrade."""
        self.usage_reported: list[dict[str, Any]] = []
        """The usage of every `response.done` sent (a dropped response sends none)."""
        self._script: deque[FakeResponse] = deque()
        self._responses = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._sockets: set[web.WebSocketResponse] = set()

    def script(self, *responses: FakeResponse) -> None:
        self._script.extend(responses)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v1/realtime"

    @property
    def azure_endpoint(self) -> str:
        """The resource endpoint the Azure shapes hang under (as AZURE_OPENAI_ENDPOINT names one)."""
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> FakeRealtimeServer:
        app = web.Application()
        app.router.add_get("/v1/realtime", self._handle)
        app.router.add_get("/openai/realtime", self._handle)
        app.router.add_get("/voice-live/realtime", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids)}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.connect_delay_s)
        beta = _beta(request)
        if beta:
            authorized = request.headers.get("api-key") == self.api_key
        else:
            authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        if not authorized:
            self.refused += 1
            return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)
        self.upgrades.append((request.path, dict(request.query)))
        ws = web.WebSocketResponse(autoping=not self.ignore_pings, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        received: list[dict[str, Any]] = []
        self.connections.append(received)
        session: dict[str, Any] = (
            {"id": self._id("sess")} if beta else {"type": "realtime", "id": self._id("sess")}
        )
        await self._send(ws, {"type": "session.created", "session": session})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                event = json.loads(message.data)
                received.append(event)
                if not await self._answer(request, ws, event):
                    break
        finally:
            self._sockets.discard(ws)
        return ws

    async def _send(self, ws: web.WebSocketResponse, event: dict[str, Any]) -> None:
        await ws.send_str(json.dumps({"event_id": self._id("event"), **event}))

    async def _answer(self, request: web.Request, ws: web.WebSocketResponse, event: dict[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "session.update":
            await self._send(ws, {"type": "session.updated", "session": event.get("session", {})})
        elif kind == "conversation.item.create":
            item = {"id": self._id("item"), **event.get("item", {})}
            added = "conversation.item.created" if _beta(request) else "conversation.item.added"
            await self._send(ws, {"type": added, "item": item})
        elif kind == "input_audio_buffer.commit" and self.transcriptions:
            transcript, usage = self.transcriptions.popleft()
            item_id = self._id("item")
            await self._send(ws, {"type": "input_audio_buffer.committed", "item_id": item_id})
            completed = {"item_id": item_id, "content_index": 0, "transcript": transcript, "usage": usage}
            await self._send(
                ws, {"type": "conversation.item.input_audio_transcription.completed", **completed}
            )
        elif kind == "response.create":
            return await self._respond(request, ws)
        return True

    async def _respond(self, request: web.Request, ws: web.WebSocketResponse) -> bool:
        if not self._script:
            await self._send(
                ws, {"type": "error", "error": {"type": "server_error", "message": "nothing scripted"}}
            )
            return True
        scripted = self._script[0]
        self._responses += 1
        response_id = self._id("resp")
        await self._send(
            ws, {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}}
        )
        item_id = self._id("item")
        words = scripted.text.split(" ") if scripted.text else []
        for index, word in enumerate(words):
            delta = word if index == 0 else " " + word
            await self._send(
                ws,
                {
                    "type": "response.text.delta" if _beta(request) else "response.output_text.delta",
                    "response_id": response_id,
                    "item_id": item_id,
                    "delta": delta,
                },
            )
            if index == 0 and self.drop_in_response == self._responses:
                self.drop_in_response = None
                transport = request.transport
                if transport is not None:
                    transport.abort()  # mid-response, no close frame: a dropped upstream
                return False
            await asyncio.sleep(scripted.delta_delay_s)
        self._script.popleft()
        output: list[dict[str, Any]] = []
        if scripted.text:
            output.append(
                {
                    "id": item_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "text" if _beta(request) else "output_text", "text": scripted.text}],
                }
            )
        for call in scripted.calls:
            arguments = json.dumps(call.arguments)
            await self._send(
                ws,
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": response_id,
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": arguments,
                },
            )
            output.append(
                {
                    "id": self._id("item"),
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": arguments,
                }
            )
        self.usage_reported.append(scripted.usage)
        done = {"id": response_id, "status": "completed", "output": output, "usage": scripted.usage}
        await self._send(ws, {"type": "response.done", "response": done})
        return True
