"""Twilio Media Streams: POST /api/v1/twilio/voice (the number's incoming-call webhook) and
WS /api/v1/twilio/media (where Twilio streams the call's audio, `voice.transports.twilio`).

The webhook is refused unless `X-Twilio-Signature` matches (TWILIO_AUTH_TOKEN; unset: 503, fail closed), so
no call is created for a forged request. Twilio passes no query string on the stream URL: our per-call token
comes back in the `start` message's custom parameters, and the socket is closed with 1008 (policy) before any
audio is used when it does not check out, names another CallSid, or the call already has a media socket.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from redis.exceptions import RedisError

from apps.backend.acs.media_token import MediaTokenError
from apps.backend.api.v1.media import POLICY_VIOLATION, TRY_AGAIN_LATER, StarletteMediaSocket
from apps.backend.calls.twilio_calls import (
    TOKEN_PARAMETER,
    TWILIO_VOICE_PATH,
    TwilioCalls,
    TwilioVoiceWebhook,
)
from apps.backend.logging_setup import bound_call_id
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallNotFound, CallRecord, CallStatus, utcnow
from apps.backend.twilio.signature import signature_matches
from voice.transports.twilio import TwilioMediaTransport

log = logging.getLogger(__name__)
router = APIRouter(tags=["twilio"])

MAX_WEBHOOK_BYTES = 64 * 1024
START_TIMEOUT_S = 10.0
"""How long Twilio has, once the socket is open, to send `start` (it does so at once)."""


def _calls(runtime: Runtime) -> TwilioCalls:
    return TwilioCalls(
        settings=runtime.settings, calls=runtime.calls, redis=runtime.redis, tokens=runtime.media_tokens
    )


def _refuse(status: int, reason: str) -> JSONResponse:
    log.warning("twilio webhook refused", extra={"reason": reason, "status": status})
    return JSONResponse({"detail": reason}, status_code=status)


@router.post("/twilio/voice", include_in_schema=True)
async def twilio_voice(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    auth_token = runtime.settings.twilio_auth_token
    if auth_token is None:
        return _refuse(503, "Twilio webhook disabled: TWILIO_AUTH_TOKEN is not set")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return _refuse(413, "webhook body too large")
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return _refuse(400, "webhook body is not UTF-8 form data")
    # The URL Twilio signed: the public one it was configured with, plus the query string it called.
    url = runtime.settings.effective_public_base_url + TWILIO_VOICE_PATH
    if request.url.query:
        url += "?" + request.url.query
    if not signature_matches(
        auth_token.get_secret_value(), url, params, request.headers.get("x-twilio-signature")
    ):
        reason = (
            "missing X-Twilio-Signature"
            if not request.headers.get("x-twilio-signature")
            else ("X-Twilio-Signature does not match")
        )
        return _refuse(403, reason)
    try:
        hook = TwilioVoiceWebhook.model_validate(dict(params))
    except ValidationError as exc:
        error = exc.errors()[0]
        return _refuse(400, f"bad webhook field {'.'.join(map(str, error['loc']))}: {error['msg']}")
    calls = _calls(runtime)
    try:
        call_id = await calls.accept(hook)
    except (RedisError, OSError) as exc:  # Twilio retries, or plays its fallback
        log.warning("twilio call not accepted", extra={"error_type": type(exc).__name__})
        return _refuse(503, "call state unavailable")
    return Response(calls.twiml_for(call_id), media_type="application/xml")


async def _close(transport: TwilioMediaTransport, reason: str, code: int) -> None:
    log.warning("twilio media socket refused", extra={"reason": reason})
    await transport.close(code, reason)


@router.websocket("/twilio/media")
async def twilio_media(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    transport = TwilioMediaTransport(
        StarletteMediaSocket(websocket), sample_rate=runtime.settings.acs_audio_format.sample_rate
    )
    try:
        started = await asyncio.wait_for(transport.wait_for_start(), START_TIMEOUT_S)
    except TimeoutError:
        started = None
    if started is None:
        await _close(transport, "no start message", POLICY_VIOLATION)
        return
    try:
        claims = runtime.media_tokens.verify(transport.custom_parameters.get(TOKEN_PARAMETER))
    except MediaTokenError as exc:
        await _close(transport, str(exc), POLICY_VIOLATION)
        return
    call_id = claims.call_id
    try:
        record = await runtime.calls.store.get(call_id)
    except CallNotFound:
        await _close(transport, "unknown call", POLICY_VIOLATION)
        return
    except (RedisError, OSError):
        await _close(transport, "call state unavailable", TRY_AGAIN_LATER)
        return
    if record.carrier_call_id != transport.call_sid:
        await _close(transport, "stream is for another call", POLICY_VIOLATION)
        return
    with bound_call_id(call_id):
        try:
            claimed = await runtime.calls.claim_media(call_id)
        except (RedisError, OSError):
            await _close(transport, "call ownership unavailable", TRY_AGAIN_LATER)
            return
        if not claimed:
            await _close(transport, "call already has a live media socket", POLICY_VIOLATION)
            return
    try:
        await _mark_connected(runtime, call_id)
        await runtime.calls.run_transport(call_id, transport)
    finally:
        await runtime.calls.release_media(call_id)
        await _mark_ended(runtime, call_id, "caller hung up" if transport.stopped else "media socket closed")


async def _mark_connected(runtime: Runtime, call_id: str) -> None:
    def connected(record: CallRecord) -> None:
        if not record.status.is_final:
            record.status = CallStatus.CONNECTED
            record.answered_at = record.connected_at = utcnow()
            record.add_event("stream_started")

    await runtime.calls.store.update(call_id, connected)


async def _mark_ended(runtime: Runtime, call_id: str, reason: str) -> None:
    """The stream is over, so is the call (Twilio hangs up after `<Connect>` ends): never left connected."""

    def end(record: CallRecord) -> None:
        # A cold transfer redirected the call: Twilio stopped the stream to run the <Dial>.
        record.end("transferred to a human" if record.status is CallStatus.TRANSFERRING else reason)

    try:
        await runtime.calls.store.update(call_id, end)
    except (CallNotFound, RedisError, OSError) as exc:
        log.warning("twilio call end not recorded", extra={"error_type": type(exc).__name__})
