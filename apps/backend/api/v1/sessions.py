"""Browser voice sessions: create (admin key, or public with a per-IP rate limit: SESSIONS_AUTH), list, read,
end; and each session's events WebSocket, the same feed as a phone call's `/calls/{id}/events`.

The voice itself runs on `WS /api/v1/realtime/conversation` (`conversation.py`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket, status
from pydantic import BaseModel

from apps.backend.api.deps import AdminDep, RuntimeDep, require_admin
from apps.backend.api.v1.call_events import serve_call_events
from apps.backend.api.v1.session_sockets import session_for_socket
from apps.backend.runtime import Runtime
from apps.backend.sessions.service import (
    CreateSessionRequest,
    RateLimited,
    SessionCreated,
    SessionNotFound,
    SessionRequestError,
)
from apps.backend.sessions.tokens import TokenPurpose
from apps.backend.setting_values import SessionsAuth
from apps.backend.storage.call_cursor import InvalidCursor
from apps.backend.storage.call_store import CallPage, CallRecord

log = logging.getLogger(__name__)
router = APIRouter(prefix="/sessions", tags=["sessions"])


async def may_create(request: Request, runtime: RuntimeDep) -> None:
    """SESSIONS_AUTH=admin: the admin key; demo: anyone, within the per-client-IP rate."""
    if runtime.settings.sessions_auth is SessionsAuth.ADMIN:
        require_admin(runtime, request.headers.get("x-api-key"))
        return
    client = request.client.host if request.client else "unknown"
    try:
        await runtime.voice_sessions.check_rate(client)
    except RateLimited as exc:
        log.warning("session creation refused: rate limit", extra={"reason": "rate limit"})
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many sessions from this client; try again in a minute",
            headers={"Retry-After": "60"},
        ) from exc


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(may_create)])
async def create_session(body: CreateSessionRequest, runtime: RuntimeDep) -> SessionCreated:
    """A voice session for a scenario (optionally an agent of it and one of that agent's languages): its id,
    a media token for the voice socket and an events token for the events socket, and the URLs to use."""
    try:
        return await runtime.voice_sessions.create(body)
    except SessionRequestError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


async def may_see_scenarios(request: Request, runtime: RuntimeDep) -> None:
    """Who may create sessions may see what they can be created for."""
    if runtime.settings.sessions_auth is SessionsAuth.ADMIN:
        require_admin(runtime, request.headers.get("x-api-key"))


class SessionScenario(BaseModel):
    name: str
    description: str
    languages: list[str]
    """What the scenario's first agent speaks (a session may ask for one of them)."""


@router.get("/scenarios", dependencies=[Depends(may_see_scenarios)])
async def session_scenarios(runtime: RuntimeDep) -> list[SessionScenario]:
    """The scenarios a voice session can be created for (a page's picker)."""
    snapshot = runtime.registry.current
    return [
        SessionScenario(
            name=scenario.name,
            description=scenario.description,
            languages=list(snapshot.agents[scenario.start_agent].speech.languages),
        )
        for scenario in snapshot.scenarios.values()
        if scenario.start_agent in snapshot.agents
    ]


@router.get("", dependencies=[AdminDep])
async def list_sessions(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> CallPage:
    """Recent sessions, newest first (pages of the calls list with the phone calls left out)."""
    try:
        return await runtime.voice_sessions.list(limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


@router.get("/{session_id}", dependencies=[AdminDep])
async def get_session(session_id: str, runtime: RuntimeDep) -> CallRecord:
    try:
        return await runtime.voice_sessions.get(session_id)
    except SessionNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session") from exc


@router.delete("/{session_id}", dependencies=[AdminDep])
async def end_session(session_id: str, runtime: RuntimeDep) -> CallRecord:
    """End the session: its record ends and its voice socket closes, on whichever replica holds it."""
    try:
        return await runtime.voice_sessions.end(session_id, "ended by the api")
    except SessionNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session") from exc


@router.websocket("/{session_id}/events")
async def session_events(websocket: WebSocket, session_id: str) -> None:
    """The session's live events (`?token=` an events token): a snapshot, then transcript chunks of both
    sides, status updates, agent changes, tool calls and errors, until the session ends (close 1000)."""
    runtime: Runtime = websocket.app.state.runtime
    if await session_for_socket(websocket, runtime, session_id, TokenPurpose.EVENTS) is None:
        return
    await websocket.accept()
    await serve_call_events(websocket, runtime, session_id)
