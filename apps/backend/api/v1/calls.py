"""ACS inbound (Event Grid webhook, mid-call callbacks) and the admin call API."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.acs.call_automation import AcsCommandError
from apps.backend.acs.events import (
    INCOMING_CALL_EVENT,
    VALIDATION_EVENT,
    CloudEvent,
    EventGridEvent,
    IncomingCallData,
    SubscriptionValidationData,
)
from apps.backend.acs.jwt_auth import AcsAuthError
from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.storage.call_store import CallNotFound, CallPage, CallRecord, InvalidCursor
from voice.transcript import CallTranscript

log = logging.getLogger(__name__)
router = APIRouter(prefix="/calls", tags=["calls"])

_event_grid_batch = TypeAdapter(list[EventGridEvent])
_cloud_event_batch = TypeAdapter(list[CloudEvent])


async def _json_array(request: Request) -> list[Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
    if isinstance(body, dict):  # tolerate a single event not wrapped in an array
        body = [body]
    if not isinstance(body, list):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body must be a JSON array of events")
    return body


@router.options("/events", include_in_schema=False)
async def cloud_events_handshake(request: Request) -> Response:
    """CloudEvents-schema webhook validation (abuse protection handshake)."""
    origin = request.headers.get("webhook-request-origin", "*")
    return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "Allow": "POST"})


@router.post("/events")
async def event_grid_webhook(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Event Grid delivery: the subscription handshake, and IncomingCall (answered with media streaming)."""
    try:
        events = _event_grid_batch.validate_python(await _json_array(request))
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"not Event Grid events: {exc.errors()[0]['msg']}"
        ) from exc
    answered: list[str] = []
    for event in events:
        if event.event_type == VALIDATION_EVENT:
            try:
                validation = SubscriptionValidationData.model_validate(event.data)
            except ValidationError as exc:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, "validation event without validationCode"
                ) from exc
            log.info("event grid subscription validated")
            return {"validationResponse": validation.validation_code}
        if event.event_type == INCOMING_CALL_EVENT:
            try:
                data = IncomingCallData.model_validate(event.data)
            except ValidationError as exc:
                log.warning("malformed IncomingCall dropped", extra={"error": exc.errors()[0]["msg"]})
                continue
            call_id = await runtime.calls.handle_incoming_call(event.id, data)
            if call_id:
                answered.append(call_id)
        else:
            log.info("event ignored", extra={"event_type": event.event_type})
    return {"accepted": len(events), "calls": answered}


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
        events = _cloud_event_batch.validate_python(await _json_array(request))
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"not ACS CloudEvents: {exc.errors()[0]['msg']}"
        ) from exc
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
    cursor: Annotated[str | None, Query(max_length=512)] = None,
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
        return await runtime.calls.hang_up(call_connection_id)
    except CallNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from exc
    except AcsCommandError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
