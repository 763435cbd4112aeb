"""A `webrtc` session's signaling over HTTP, with the session's media token (`Authorization: Bearer ...`):

- POST /api/v1/sessions/{id}/offer: `{"type": "offer", "sdp": ...}` in, `{"type": "answer", "sdp": ...}` out
  (our answer carries all our candidates: aiortc gathers before answering). One offer per session.
- POST /api/v1/sessions/{id}/candidates: `{"candidates": [RTCIceCandidate.toJSON(), ...]}`, 204.

Refusals: 401/403 for the token (with the reason), 404 unknown session, 409 a step out of order (ended,
second offer, candidates before the offer, wrong channel), 400 malformed SDP or candidate, 413/422 for the
body, 503 when session state is unreachable.
"""

from __future__ import annotations

import logging
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from apps.backend.api.deps import RuntimeDep
from apps.backend.api.request_body import read_limited
from apps.backend.runtime import Runtime
from apps.backend.sessions.service import SessionNotFound
from apps.backend.sessions.tokens import SessionTokenError, TokenPurpose
from apps.backend.sessions.webrtc import CandidatesRequest, SessionDescription, SessionStateError
from voice.transports.webrtc_signaling import SignalingStateError, WebRtcError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/sessions", tags=["sessions"])

MAX_OFFER_BYTES = 80 * 1024
MAX_CANDIDATES_BYTES = 48 * 1024
Body = TypeVar("Body", bound=BaseModel)


def _check_token(runtime: Runtime, authorization: str | None, session_id: str) -> None:
    token = None
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    try:
        runtime.voice_sessions.tokens.verify(token, session_id=session_id, purpose=TokenPurpose.MEDIA)
    except SessionTokenError as exc:
        log.warning("webrtc signaling refused", extra={"reason": exc.reason})
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        raise HTTPException(exc.status, exc.reason, headers=headers) from exc


async def _body(request: Request, model: type[Body], max_bytes: int) -> Body:
    raw = await read_limited(request, max_bytes)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems) from exc


def _refusal(exc: Exception) -> HTTPException:
    if isinstance(exc, SessionNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    if isinstance(exc, SessionStateError | SignalingStateError):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, WebRtcError):
        return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))
    log.warning("session state unavailable", extra={"error_type": type(exc).__name__})
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "session state unavailable; try again")


@router.post("/{session_id}/offer")
async def offer(
    session_id: str,
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> SessionDescription:
    """Answer the browser's SDP offer; the conversation starts once the connection is up."""
    _check_token(runtime, authorization, session_id)
    body = await _body(request, SessionDescription, MAX_OFFER_BYTES)
    try:
        return await runtime.webrtc.offer(session_id, body)
    except (SessionNotFound, SessionStateError, WebRtcError, RedisError, OSError) as exc:
        raise _refusal(exc) from exc


@router.post("/{session_id}/candidates", status_code=status.HTTP_204_NO_CONTENT)
async def candidates(
    session_id: str,
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Trickled ICE candidates from the browser, after its offer."""
    _check_token(runtime, authorization, session_id)
    body = await _body(request, CandidatesRequest, MAX_CANDIDATES_BYTES)
    try:
        await runtime.webrtc.add_candidates(session_id, body.candidates)
    except (SessionNotFound, SessionStateError, WebRtcError, RedisError, OSError) as exc:
        raise _refusal(exc) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
