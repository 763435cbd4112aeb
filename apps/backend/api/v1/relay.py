"""WS /api/v1/realtime/relay?session=<id>&token=<media token>: a client's realtime session relayed to the
configured upstream (RELAY_UPSTREAM), with the scenario's agent, tools and handoffs run on the server.

The token must be the session's media token, the session a live `relay` session, and no other socket may
hold it; otherwise the socket is closed with 1008 and the reason before anything is relayed.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from apps.backend.api.v1.session_sockets import claim_session_media, reject, voice_session_for_socket
from apps.backend.logging_setup import bound_call_id
from apps.backend.relay.upstream import relay_target
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallChannel

RELAY_MODULE = "apps.backend.relay.service"
"""The relay itself (~0.12 s to import, its client events' models and the VoiceLive SDK's): imported by the
first relay session, or after ready while no call is live (`Runtime`'s warm-up), never at start-up."""


async def relay_runner() -> Callable[..., Awaitable[str]]:
    """`run_relay`, its module imported in a thread the first time (never on the event loop)."""
    module = await asyncio.to_thread(importlib.import_module, RELAY_MODULE)
    return cast("Callable[..., Awaitable[str]]", module.run_relay)


router = APIRouter(tags=["sessions"])
UNAVAILABLE = 1011
GOING_AWAY = 1001


@router.websocket("/realtime/relay")
async def realtime_relay(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    record = await voice_session_for_socket(websocket, runtime, CallChannel.RELAY)
    if record is None:
        return
    session_id = record.call_id
    try:
        target = relay_target(runtime.settings, runtime.realtime)
    except ValueError as exc:
        await reject(websocket, f"relay upstream not configured: {exc}", UNAVAILABLE)
        return
    if not await claim_session_media(websocket, runtime, session_id, "relay"):
        return
    with bound_call_id(session_id):
        try:
            await websocket.accept()
            reason = await (await relay_runner())(websocket, runtime, record, target)
            code = 1000 if reason in ("client left", "agent ended the session") else UNAVAILABLE
            try:
                await websocket.close(code, reason[:120])
            except (RuntimeError, WebSocketDisconnect):
                pass  # the client already closed
        finally:
            await runtime.calls.release_media(session_id)
