"""WS /api/v1/realtime/conversation?session=<id>&token=<media token>: a browser session's voice over a plain
WebSocket (PCM16 frames both ways, JSON control and events: `voice.transports.websocket`).

The token must be the session's media token, the session a live `websocket` session, and no other voice socket
may hold it (the call's media slot, on every replica): otherwise the socket is closed with 1008 and the reason
before any audio is read.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from apps.backend.api.v1.media import StarletteMediaSocket
from apps.backend.api.v1.session_sockets import claim_session_media, voice_session_for_socket
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallChannel

router = APIRouter(tags=["sessions"])


@router.websocket("/realtime/conversation")
async def conversation(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    record = await voice_session_for_socket(websocket, runtime, CallChannel.WEBSOCKET)
    if record is None or not await claim_session_media(websocket, runtime, record.call_id, "voice"):
        return
    try:
        await websocket.accept()
        await runtime.voice_sessions.run_voice(record.call_id, StarletteMediaSocket(websocket))
    finally:
        await runtime.calls.release_media(record.call_id)
