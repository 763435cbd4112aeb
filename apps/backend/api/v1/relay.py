"""WS /api/v1/realtime/relay?session=<id>&token=<media token>: a client's realtime session relayed to the
configured upstream (RELAY_UPSTREAM), with the scenario's agent, tools and handoffs run on the server.

The token must be the session's media token, the session a live `relay` session, and no other socket may
hold it; otherwise the socket is closed with 1008 and the reason before anything is relayed.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from apps.backend.api.v1.session_sockets import claim_session_media, reject, voice_session_for_socket
from apps.backend.logging_setup import bound_call_id
from apps.backend.relay.service import run_relay
from apps.backend.relay.upstream import relay_target
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallChannel

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
            reason = await run_relay(websocket, runtime, record, target)
            code = 1000 if reason in ("client left", "agent ended the session") else UNAVAILABLE
            try:
                await websocket.close(code, reason[:120])
            except (RuntimeError, WebSocketDisconnect):
                pass  # the client already closed
        finally:
            await runtime.calls.release_media(session_id)
