"""The checks every browser-session socket passes before it is served: its token (media or events, for that
session), a live session, the session's channel, the token not yet used by another socket (one socket per
token, on every replica), and for a voice socket the session's media slot (one socket per session, on every
replica). A refused socket is accepted and closed with the code and the reason (a 403 would carry neither): 1008
for what the client did, 1013 when the state needed to decide is unreachable (fail closed).
"""

from __future__ import annotations

import logging

from fastapi import WebSocket
from redis.exceptions import RedisError

from apps.backend.logging_setup import bound_call_id
from apps.backend.runtime import Runtime
from apps.backend.sessions.service import SessionNotFound
from apps.backend.sessions.tokens import SessionTokenError, TokenPurpose
from apps.backend.storage.call_store import CallChannel, CallRecord

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


async def reject(websocket: WebSocket, reason: str, code: int = POLICY_VIOLATION) -> None:
    """Refuse a session socket: accept, then close with the code and reason (a 403 would carry neither)."""
    log.warning("session socket rejected", extra={"reason": reason, "path": websocket.url.path})
    await websocket.accept()
    await websocket.close(code, reason)


async def session_for_socket(
    websocket: WebSocket,
    runtime: Runtime,
    session_id: str,
    purpose: TokenPurpose,
    channel: CallChannel | None = None,
) -> CallRecord | None:
    """The live session (of `channel`, when given) a socket's token opens, or None once the socket was refused
    (1008 with the reason). The token is spent last, so a socket refused for anything else leaves it usable."""
    try:
        claims = runtime.voice_sessions.tokens.verify(
            websocket.query_params.get("token"), session_id=session_id, purpose=purpose
        )
    except SessionTokenError as exc:
        await reject(websocket, exc.reason)
        return None
    try:
        record = await runtime.voice_sessions.get(session_id)
    except SessionNotFound:
        await reject(websocket, "no such session")
        return None
    except (RedisError, OSError) as exc:
        log.warning("session state unavailable", extra={"error_type": type(exc).__name__})
        await reject(websocket, "session state unavailable", TRY_AGAIN_LATER)
        return None
    if record.status.is_final:
        await reject(websocket, "session has ended")
        return None
    if channel is not None and record.channel is not channel:
        await reject(websocket, f"session is for {record.channel.value}, not {channel.value}")
        return None
    try:
        first_use = await runtime.voice_sessions.spend_token(claims)
    except (RedisError, OSError) as exc:  # cannot tell whether another socket used it: fail closed
        log.warning("session token state unavailable", extra={"error_type": type(exc).__name__})
        await reject(websocket, "session state unavailable", TRY_AGAIN_LATER)
        return None
    if not first_use:
        await reject(websocket, "session token already used")
        return None
    return record


async def voice_session_for_socket(
    websocket: WebSocket, runtime: Runtime, channel: CallChannel
) -> CallRecord | None:
    """The live `channel` session a voice socket (`?session=<id>&token=<media token>`) opens, or None once the
    socket was refused."""
    session_id = websocket.query_params.get("session")
    if not session_id:
        await reject(websocket, "missing session")
        return None
    return await session_for_socket(websocket, runtime, session_id, TokenPurpose.MEDIA, channel)


async def claim_session_media(websocket: WebSocket, runtime: Runtime, session_id: str, what: str) -> bool:
    """Take the session's media slot for this socket (the caller releases it: `CallService.release_media`);
    False once the socket was refused because another `what` socket holds it or ownership is unknown."""
    with bound_call_id(session_id):
        try:
            claimed = await runtime.calls.claim_media(session_id)
        except (RedisError, OSError) as exc:  # cannot tell whether another socket has it: fail closed
            log.warning("media ownership unavailable", extra={"error_type": type(exc).__name__})
            await reject(websocket, "session ownership unavailable", TRY_AGAIN_LATER)
            return False
        if not claimed:
            await reject(websocket, f"session already has a live {what} socket")
            return False
    return True
