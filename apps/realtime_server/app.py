"""The realtime WebSocket routes: `/v1/realtime` (GA dialect; beta with `OpenAI-Beta: realtime=v1`) and
`/voice-live/realtime` (Azure VoiceLive, beta dialect), standalone or added to the backend's app.

Credentials are checked before the upgrade is accepted (a refused upgrade is an HTTP 403 and no session
starts): header `api-key` (VoiceLive SDK), `Authorization: Bearer` (openai SDK), the browser subprotocol
`openai-insecure-api-key.<secret>` (never a query parameter: URLs end up in access logs). Each connection
gets one `RealtimeSession` and one writer task, the only code that sends on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from apps.realtime_server.auth import RealtimeAuth
from apps.realtime_server.dialect import Dialect, client_to_beta, server_to_ga
from apps.realtime_server.engine import RealtimeEngine
from apps.realtime_server.session import RealtimeSession

log = logging.getLogger(__name__)

GA_PATH = "/v1/realtime"
VOICELIVE_PATH = "/voice-live/realtime"
_KEY_PROTOCOL = "openai-insecure-api-key."
_BETA_PROTOCOL = "openai-beta.realtime-v1"


EngineSource = Callable[[], tuple[RealtimeEngine, RealtimeAuth]]
"""Where the routes find the engine and credentials at connect time (the backend builds them in its lifespan,
after the routes are registered)."""


def create_realtime_app(engine: RealtimeEngine, auth: RealtimeAuth) -> FastAPI:
    app = FastAPI(title="Switchboard realtime server")
    add_realtime_routes(app, lambda: (engine, auth))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def add_realtime_routes(app: FastAPI, source: EngineSource) -> None:
    @app.websocket(GA_PATH)
    async def openai_realtime(websocket: WebSocket) -> None:
        beta = websocket.headers.get("openai-beta", "").replace(" ", "").lower() == "realtime=v1"
        beta = beta or _BETA_PROTOCOL in _offered_protocols(websocket)
        await serve_realtime(websocket, *source(), "beta" if beta else "ga")

    @app.websocket(VOICELIVE_PATH)
    async def voicelive_realtime(websocket: WebSocket) -> None:
        await serve_realtime(websocket, *source(), "beta")


def _offered_protocols(websocket: WebSocket) -> list[str]:
    header = websocket.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def _credential(websocket: WebSocket) -> str | None:
    headers = websocket.headers
    if headers.get("api-key"):
        return headers["api-key"]
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    for protocol in _offered_protocols(websocket):
        if protocol.startswith(_KEY_PROTOCOL):
            return protocol[len(_KEY_PROTOCOL) :]
    return None  # never from the query string: URLs end up in access logs


async def serve_realtime(
    websocket: WebSocket, engine: RealtimeEngine, auth: RealtimeAuth, dialect: Dialect
) -> None:
    grant = auth.check(_credential(websocket))
    if grant is None:
        log.info("realtime upgrade refused: missing or wrong credentials")
        await websocket.close(code=1008)  # before accept: the server answers the upgrade with HTTP 403
        return
    offered = _offered_protocols(websocket)
    await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    session = RealtimeSession(
        engine,
        outbox.put_nowait,
        grant.session,
        model=websocket.query_params.get("model", ""),
        translate=client_to_beta if dialect == "ga" else None,
    )
    writer = asyncio.create_task(_write(websocket, outbox, dialect), name=f"ws-writer:{session.id}")
    log.info("realtime session opened", extra={"session_id": session.id, "dialect": dialect})
    try:
        await session.start()
        while not writer.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") is not None:
                await session.handle_text(message["text"])
            elif message.get("bytes") is not None:
                session.handle_binary()
    except WebSocketDisconnect:
        pass
    finally:
        await session.aclose()
        outbox.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(writer, timeout=2.0)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        log.info("realtime session closed", extra={"session_id": session.id})


async def _write(
    websocket: WebSocket, outbox: asyncio.Queue[dict[str, Any] | None], dialect: Dialect
) -> None:
    try:
        while (event := await outbox.get()) is not None:
            for out in server_to_ga(event) if dialect == "ga" else (event,):
                await websocket.send_text(json.dumps(out, separators=(",", ":")))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away; the reader loop notices and closes the session
