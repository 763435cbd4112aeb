"""ACS inbound (Event Grid webhook, mid-call callbacks) and the admin call API."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.acs.call_automation import AcsCommandError
from apps.backend.acs.deliveries import (
    MAX_DELIVERY_BYTES,
    DeliveryError,
    parse_callback_delivery,
    parse_event_grid_delivery,
)
from apps.backend.acs.event_grid_auth import SECRET_PARAM, EventGridAuthError
from apps.backend.acs.jwt_auth import AcsAuthError
from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.api.request_body import read_json_array
from apps.backend.storage.call_cursor import InvalidCursor
from apps.backend.storage.call_store import CallNotFound, CallPage, CallRecord
from voice.transcript import CallTranscript

log = logging.getLogger(__name__)
router = APIRouter(prefix="/calls", tags=["calls"])


async def require_event_grid(request: Request, runtime: RuntimeDep) -> None:
    """Deliveries and both validation handshakes must come from our subscription (secret and/or Entra)."""
    auth = runtime.event_grid_auth
    try:
        await auth.authenticate(request.query_params.get(SECRET_PARAM), request.headers.get("authorization"))
    except EventGridAuthError as exc:
        log.warning("event grid delivery rejected", extra={"reason": str(exc)})
        challenge = {"WWW-Authenticate": "Bearer"} if auth.uses_entra else None
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"not an authenticated Event Grid delivery: {exc}", challenge
        ) from exc


EventGridDep = Depends(require_event_grid)


@router.options("/events", include_in_schema=False, dependencies=[EventGridDep])
async def cloud_events_handshake(request: Request) -> Response:
    """CloudEvents-schema webhook validation (abuse protection handshake)."""
    origin = request.headers.get("webhook-request-origin", "*")
    return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "Allow": "POST"})


@router.post("/events", dependencies=[EventGridDep])
async def event_grid_webhook(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Event Grid delivery: the subscription handshake, and IncomingCall (answered with media streaming).

    The whole delivery is bounded and validated before any call is answered."""
    try:
        delivery = parse_event_grid_delivery(await read_json_array(request, MAX_DELIVERY_BYTES))
    except DeliveryError as exc:
        raise HTTPException(exc.status, f"delivery rejected: {exc}") from exc
    if delivery.validation is not None:
        log.info("event grid subscription validated")
        return {"validationResponse": delivery.validation.validation_code}
    for event_type in delivery.ignored_types:
        log.info("event ignored", extra={"event_type": event_type})
    answered: list[str] = []
    for incoming in delivery.incoming_calls:
        call_id = await runtime.calls.handle_incoming_call(incoming.event_id, incoming.data)
        if call_id:
            answered.append(call_id)
    return {"accepted": delivery.events, "calls": answered}


@router.post("/callbacks")
async def acs_callbacks(request: Request, runtime: RuntimeDep) -> dict[str, int]:
    """Mid-call events from ACS (CloudEvents array), authenticated by ACS' JWT when JWKS is configured."""
    if runtime.acs_auth is not None:
        try:
            await runtime.acs_auth.verify_authorization_header(request.headers.get("authorization"))
        except AcsAuthError as exc:
            log.warning("callback rejected", extra={"reason": str(exc)})
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "callback is not signed by ACS") from exc
    try:
        events = parse_callback_delivery(await read_json_array(request, MAX_DELIVERY_BYTES))
    except DeliveryError as exc:
        raise HTTPException(exc.status, f"not ACS CloudEvents: {exc}") from exc
    applied = 0
    for event in events:
        applied += await runtime.calls.handle_callback(event)
    return {"received": len(events), "applied": applied}


class PlaceCallRequest(BaseModel):
    to: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="E.164 number to call.")
    from_: str | None = Field(
        None, alias="from", pattern=r"^\+[1-9]\d{6,14}$", description="Caller id (E.164)."
    )
    scenario: str | None = None


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[AdminDep])
async def place_call(body: PlaceCallRequest, runtime: RuntimeDep) -> CallRecord:
    """Place an outbound call with the same bidirectional media streaming as inbound calls."""
    try:
        return await runtime.calls.place_call(target=body.to, source=body.from_, scenario=body.scenario)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except AcsCommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc


@router.get("", dependencies=[AdminDep])
async def list_calls(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,  # any text: one we did not hand out is a 400 (InvalidCursor)
) -> CallPage:
    """Recent calls, newest first, as summaries; pass `next_cursor` back as `cursor` for older ones."""
    try:
        return await runtime.calls.store.list_recent(limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


@router.get("/{call_id}", dependencies=[AdminDep])
async def get_call(call_id: str, runtime: RuntimeDep) -> CallRecord:
    """A call record by our call id or ACS' call connection id."""
    resolved = await runtime.calls.store.resolve(call_id)
    if resolved is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    try:
        return await runtime.calls.store.get(resolved)
    except CallNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from exc


@router.get("/{call_id}/transcript", dependencies=[AdminDep])
async def get_transcript(call_id: str, runtime: RuntimeDep) -> CallTranscript:
    """Every turn of a call so far (who, text, agent, tools, interruptions, latency parts), in order."""
    try:
        resolved = await runtime.calls.store.resolve(call_id) or call_id
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # The transcript store does not need Redis: our own call id still finds the transcript.
        transcript = await runtime.transcripts.get(call_id)
        if transcript is None:  # perhaps ACS' connection id, which only Redis maps to ours
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"redis unavailable: {type(exc).__name__}"
            ) from exc
        return transcript
    transcript = await runtime.transcripts.get(resolved)
    if transcript is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no transcript for this call")
    return transcript


class DtmfRequest(BaseModel):
    digits: str = Field(pattern=r"^[0-9*#]{1,32}$", description="Keys to press, e.g. 4821#")


@router.post("/{call_id}/dtmf", status_code=status.HTTP_202_ACCEPTED, dependencies=[AdminDep])
async def send_dtmf(call_id: str, body: DtmfRequest, runtime: RuntimeDep) -> dict[str, str]:
    """Press keys in a live call (support tooling, tests): delivered to whichever replica holds its media."""
    try:
        delivered = await runtime.calls.send_dtmf(call_id, body.digits)
    except CallNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from exc
    if not delivered:
        raise HTTPException(status.HTTP_409_CONFLICT, "no replica holds this call's media")
    return {"status": "delivered"}


@router.delete("/{call_connection_id}", dependencies=[AdminDep])
async def hang_up(call_connection_id: str, runtime: RuntimeDep) -> CallRecord:
    """Hang up a call for everyone."""
    try:
        return await runtime.calls.hang_up(call_connection_id, "hung up by the api")
    except CallNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from exc
    except AcsCommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
