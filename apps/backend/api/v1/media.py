"""WS /api/v1/media/stream: where ACS streams a call's audio (bidirectional).

Two locks: our per-call signed token in the query string (always), and ACS' JWT on the upgrade (when
JWKS is configured). A failed check closes with 1008 (policy violation) before any audio is read. A call has
one live media socket: the call's media slot is claimed (on every replica, through Redis) before the socket is
accepted, so a second socket with the same token is refused with 1008 too.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from apps.backend.acs.jwt_auth import AcsAuthError
from apps.backend.acs.media_token import MediaTokenError
from apps.backend.logging_setup import bound_call_id
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallNotFound
from voice.transports.base import MediaSocketClosed

log = logging.getLogger(__name__)
router = APIRouter(tags=["media"])

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


class StarletteMediaSocket:
    """Adapts Starlette's WebSocket to voice.transports.base.MediaSocket (and to the browser voice
    transport's `DuplexSocket`)."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive_text(self) -> str | None:
        message = await self.receive_message()
        return message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message

    async def receive_message(self) -> str | bytes | None:
        """Text as str, binary as bytes (browser voice sessions use both); None once the peer has closed."""
        try:
            message = await self._ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if isinstance(text, str):
            return text
        raw = message.get("bytes")
        return raw if isinstance(raw, bytes) else b""

    async def send_text(self, data: str) -> None:
        try:
            await self._ws.send_text(data)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise MediaSocketClosed(str(exc)) from exc

    async def send_bytes(self, data: bytes) -> None:
        try:
            await self._ws.send_bytes(data)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise MediaSocketClosed(str(exc)) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._ws.application_state == WebSocketState.CONNECTED:
            try:
                await self._ws.close(code, reason)
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass  # the peer closed first (a client that says "stop" and hangs up at once): closed either way


async def _reject(websocket: WebSocket, reason: str, code: int = POLICY_VIOLATION) -> None:
    log.warning("media socket rejected", extra={"reason": reason})
    await websocket.accept()
    await websocket.close(code, reason)


@router.websocket("/media/stream")
async def media_stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        claims = runtime.media_tokens.verify(websocket.query_params.get("token"))
    except MediaTokenError as exc:
        await _reject(websocket, str(exc))
        return
    if runtime.acs_auth is not None:
        try:
            await runtime.acs_auth.verify_authorization_header(websocket.headers.get("authorization"))
        except AcsAuthError as exc:
            await _reject(websocket, f"not signed by ACS: {exc}")
            return
    try:
        await runtime.calls.store.get(claims.call_id)
    except CallNotFound:
        await _reject(websocket, "unknown call")
        return
    except (RedisError, OSError) as exc:  # the call's state is unreachable: ACS may retry later
        log.warning("call state unavailable", extra={"error_type": type(exc).__name__})
        await _reject(websocket, "call state unavailable", TRY_AGAIN_LATER)
        return
    with bound_call_id(claims.call_id):
        try:
            claimed = await runtime.calls.claim_media(claims.call_id)
        except (RedisError, OSError) as exc:  # cannot tell whether another socket has the call: fail closed
            log.warning("media ownership unavailable", extra={"error_type": type(exc).__name__})
            await _reject(websocket, "call ownership unavailable", TRY_AGAIN_LATER)
            return
        if not claimed:
            await _reject(websocket, "call already has a live media socket")
            return
    try:
        await websocket.accept()
        await runtime.calls.run_media(
            claims.call_id,
            StarletteMediaSocket(websocket),
            call_connection_id=websocket.headers.get("x-ms-call-connection-id"),
        )
    finally:
        await runtime.calls.release_media(claims.call_id)
