"""WS /api/v1/realtime/conversation?session=<id>&token=<media token>: a browser session's voice over a plain
WebSocket (PCM16 frames both ways, JSON control and events: `voice.transports.websocket`).

The token must be the session's media token, the session a live `websocket` session, and no other voice socket
may hold it (the call's media slot, on every replica): otherwise the socket is closed with 1008 and the reason
before any audio is read.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from redis.exceptions import RedisError

from apps.backend.api.v1.media import StarletteMediaSocket
from apps.backend.api.v1.sessions import TRY_AGAIN_LATER, reject, session_for_socket
from apps.backend.logging_setup import bound_call_id
from apps.backend.runtime import Runtime
from apps.backend.sessions.tokens import TokenPurpose
from apps.backend.storage.call_store import CallChannel

log = logging.getLogger(__name__)
router = APIRouter(tags=["sessions"])


@router.websocket("/realtime/conversation")
async def conversation(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    session_id = websocket.query_params.get("session")
    if not session_id:
        await reject(websocket, "missing session")
        return
    record = await session_for_socket(websocket, runtime, session_id, TokenPurpose.MEDIA)
    if record is None:
        return
    if record.channel is not CallChannel.WEBSOCKET:
        await reject(websocket, f"session is for {record.channel.value}, not websocket")
        return
    with bound_call_id(session_id):
        try:
            claimed = await runtime.calls.claim_media(session_id)
        except (RedisError, OSError) as exc:  # cannot tell whether another socket has it: fail closed
            log.warning("media ownership unavailable", extra={"error_type": type(exc).__name__})
            await reject(websocket, "session ownership unavailable", TRY_AGAIN_LATER)
            return
        if not claimed:
            await reject(websocket, "session already has a live voice socket")
            return
    try:
        await websocket.accept()
        await runtime.voice_sessions.run_voice(session_id, StarletteMediaSocket(websocket))
    finally:
        await runtime.calls.release_media(session_id)
