"""WS /api/v1/media/stream: where ACS streams a call's audio (bidirectional).

Two locks: our per-call signed token in the query string (always), and ACS' JWT on the upgrade (when
JWKS is configured). A failed check closes with 1008 (policy violation) before any audio is read. A call has
one live media socket: the call's media slot is claimed (on every replica, through Redis) before the socket is
accepted, so a second socket with the same token is refused with 1008 too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    code: int = POLICY_VIOLATION


async def admit_media(runtime: Runtime, token: str | None, authorization: str | None) -> str | Rejection:
    """The checks before a media socket is accepted, for both ways of serving it (this route and the
    ASGI-free `apps.backend.media_ws`): our signed token, ACS' JWT, a known call, and the call's one media
    slot. Returns the call id (its slot claimed: pair with `release_media`) or why the socket is refused."""
    try:
        claims = runtime.media_tokens.verify(token)
    except MediaTokenError as exc:
        return _rejected(str(exc))
    if runtime.acs_auth is not None:
        try:
            await runtime.acs_auth.verify_authorization_header(authorization)
        except AcsAuthError as exc:
            return _rejected(f"not signed by ACS: {exc}")
    try:
        await runtime.calls.store.get(claims.call_id)
    except CallNotFound:
        return _rejected("unknown call")
    except (RedisError, OSError) as exc:  # the call's state is unreachable: ACS may retry later
        log.warning("call state unavailable", extra={"error_type": type(exc).__name__})
        return _rejected("call state unavailable", TRY_AGAIN_LATER)
    with bound_call_id(claims.call_id):
        try:
            claimed = await runtime.calls.claim_media(claims.call_id)
        except (RedisError, OSError) as exc:  # cannot tell whether another socket has the call: fail closed
            log.warning("media ownership unavailable", extra={"error_type": type(exc).__name__})
            return _rejected("call ownership unavailable", TRY_AGAIN_LATER)
        if not claimed:
            return _rejected("call already has a live media socket")
    return claims.call_id


def _rejected(reason: str, code: int = POLICY_VIOLATION) -> Rejection:
    log.warning("media socket rejected", extra={"reason": reason})
    return Rejection(reason, code)


@router.websocket("/media/stream")
async def media_stream(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    admitted = await admit_media(
        runtime, websocket.query_params.get("token"), websocket.headers.get("authorization")
    )
    if isinstance(admitted, Rejection):
        await websocket.accept()
        await websocket.close(admitted.code, admitted.reason)
        return
    try:
        await websocket.accept()
        await runtime.calls.run_media(
            admitted,
            StarletteMediaSocket(websocket),
            call_connection_id=websocket.headers.get("x-ms-call-connection-id"),
        )
    finally:
        await runtime.calls.release_media(admitted)
