"""WS /api/v1/realtime/relay?session=<id>&token=<media token>: a client's realtime session relayed to the
configured upstream (RELAY_UPSTREAM), with the scenario's agent, tools and handoffs run on the server.

The token must be the session's media token, the session a live `relay` session, and no other socket may
hold it; otherwise the socket is closed with 1008 and the reason before anything is relayed.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from apps.backend.api.v1.sessions import TRY_AGAIN_LATER, reject, session_for_socket
from apps.backend.logging_setup import bound_call_id
from apps.backend.relay.service import run_relay
from apps.backend.relay.upstream import relay_target
from apps.backend.runtime import Runtime
from apps.backend.sessions.tokens import TokenPurpose
from apps.backend.storage.call_store import CallChannel

log = logging.getLogger(__name__)
router = APIRouter(tags=["sessions"])
UNAVAILABLE = 1011
GOING_AWAY = 1001


@router.websocket("/realtime/relay")
async def realtime_relay(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    session_id = websocket.query_params.get("session")
    if not session_id:
        await reject(websocket, "missing session")
        return
    record = await session_for_socket(websocket, runtime, session_id, TokenPurpose.MEDIA)
    if record is None:
        return
    if record.channel is not CallChannel.RELAY:
        await reject(websocket, f"session is for {record.channel.value}, not relay")
        return
    try:
        target = relay_target(runtime.settings, runtime.realtime)
    except ValueError as exc:
        await reject(websocket, f"relay upstream not configured: {exc}", UNAVAILABLE)
        return
    with bound_call_id(session_id):
        try:
            claimed = await runtime.calls.claim_media(session_id)
        except (RedisError, OSError) as exc:
            log.warning("media ownership unavailable", extra={"error_type": type(exc).__name__})
            await reject(websocket, "session ownership unavailable", TRY_AGAIN_LATER)
            return
        if not claimed:
            await reject(websocket, "session already has a live relay socket")
            return
        try:
            await websocket.accept()
            reason = await run_relay(websocket, runtime, record, target)
            code = 1000 if reason in ("client left", "agent ended the session") else UNAVAILABLE
            try:
                await websocket.close(code, reason[:120])
            except (RuntimeError, WebSocketDisconnect):
                pass  # the client already closed
        finally:
            await runtime.calls.release_media(session_id)
