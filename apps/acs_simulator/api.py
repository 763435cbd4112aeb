"""The Call Automation REST surface (HMAC-authenticated) plus the OIDC documents for callback tokens.

Every request under /calling/ is recorded (method, path, query, parsed body, headers, status) before it is
authenticated, so tests can assert on exactly what the SDK sent, including rejected requests.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from apps import loopback_acs as defaults
from apps.acs_simulator.call import ApiError, SimulatedCall, call_not_found
from apps.acs_simulator.hmac_auth import HmacAuthError, verify_request
from apps.acs_simulator.rest_models import (
    AddParticipantRequest,
    AnswerCallRequest,
    CancelAddParticipantRequest,
    CommunicationErrorResponse,
    CreateCallRequest,
    GetParticipantsResponse,
    HoldRequest,
    PlayRequest,
    RemoveParticipantRequest,
    TransferToParticipantRequest,
    UnholdRequest,
)

if TYPE_CHECKING:
    from apps.acs_simulator.server import AcsSimulator


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status_code: int | None = None
    error: str | None = None  # the error message returned, for non-2xx


Reply = tuple[int, Any]
Handler = Callable[["AcsSimulator", RecordedRequest, str], Awaitable[Reply]]
_ID = r"(?P<id>[^/:]+)"
M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: Any) -> M:
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(400, "BadRequest", f"Invalid request: {where}: {first['msg']}") from exc


def _call(sim: AcsSimulator, call_id: str) -> SimulatedCall:
    call = sim.calls.get(call_id)
    if call is None or not call.active:
        raise call_not_found()
    return call


async def answer_call(sim: AcsSimulator, req: RecordedRequest, _: str) -> Reply:
    request = _parse(AnswerCallRequest, req.body)
    call = sim.pending_call(request.incoming_call_context)
    if call is None:
        raise ApiError(400, "BadRequest", "Invalid or expired incomingCallContext.")
    props = call.accept_answer(request, req.body)
    if call.state == "connecting":
        sim.spawn(call.run_connected(), f"acs-sim-call-{call.call_connection_id}")
    else:  # answered after the caller gave up: only AnswerFailed goes out
        sim.spawn(call.callbacks.aclose(), f"acs-sim-answer-failed-{call.call_connection_id}")
    return 200, props.wire()


async def create_call(sim: AcsSimulator, req: RecordedRequest, _: str) -> Reply:
    request = _parse(CreateCallRequest, req.body)
    return 201, sim.create_outbound_call(request, req.body).wire()


async def get_call(sim: AcsSimulator, _: RecordedRequest, call_id: str) -> Reply:
    return 200, _call(sim, call_id).properties().wire()


async def hang_up(sim: AcsSimulator, _: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id).request_hangup(for_everyone=False)
    return 204, None


async def terminate(sim: AcsSimulator, _: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id).request_hangup(for_everyone=True)
    return 204, None


async def transfer(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    request = _parse(TransferToParticipantRequest, req.body)
    return 202, _call(sim, call_id).request_transfer(request).wire()


async def play(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id).request_play(_parse(PlayRequest, req.body))
    return 202, None


async def participants(sim: AcsSimulator, _: RecordedRequest, call_id: str) -> Reply:
    return 200, GetParticipantsResponse(value=_call(sim, call_id).participants()).wire()


async def add_participant(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    request = _parse(AddParticipantRequest, req.body)
    return 202, _call(sim, call_id).legs.request_add(request).wire()


async def remove_participant(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    request = _parse(RemoveParticipantRequest, req.body)
    return 202, _call(sim, call_id).legs.request_remove(request).wire()


async def cancel_add_participant(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    request = _parse(CancelAddParticipantRequest, req.body)
    return 202, _call(sim, call_id).legs.request_cancel(request).wire()


async def hold(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id).legs.request_hold(_parse(HoldRequest, req.body))
    return 200, None


async def unhold(sim: AcsSimulator, req: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id).legs.request_unhold(_parse(UnholdRequest, req.body))
    return 200, None


async def cancel_media(sim: AcsSimulator, _: RecordedRequest, call_id: str) -> Reply:
    _call(sim, call_id)  # nothing is queued on the simulator's side: accepted, no events
    return 202, None


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("POST", r"/calling/callConnections", create_call),
        ("POST", r"/calling/callConnections:answer", answer_call),
        ("GET", rf"/calling/callConnections/{_ID}", get_call),
        ("DELETE", rf"/calling/callConnections/{_ID}", hang_up),
        ("POST", rf"/calling/callConnections/{_ID}:terminate", terminate),
        ("POST", rf"/calling/callConnections/{_ID}:transferToParticipant", transfer),
        ("POST", rf"/calling/callConnections/{_ID}:play", play),
        ("POST", rf"/calling/callConnections/{_ID}:cancelAllMediaOperations", cancel_media),
        ("GET", rf"/calling/callConnections/{_ID}/participants", participants),
        ("POST", rf"/calling/callConnections/{_ID}/participants:add", add_participant),
        ("POST", rf"/calling/callConnections/{_ID}/participants:remove", remove_participant),
        (
            "POST",
            rf"/calling/callConnections/{_ID}/participants:cancelAddParticipant",
            cancel_add_participant,
        ),
        ("POST", rf"/calling/callConnections/{_ID}:hold", hold),
        ("POST", rf"/calling/callConnections/{_ID}:unhold", unhold),
    ]
]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(CommunicationErrorResponse.of(code, message), status_code=status)


async def dispatch(sim: AcsSimulator, request: Request) -> Response:
    raw = await request.body()
    path: str = request.scope["path"]
    raw_path = request.scope.get("raw_path", path.encode()).decode("latin-1")
    query_string = request.scope.get("query_string", b"").decode("latin-1")
    try:
        body: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = raw.decode("utf-8", "replace")
    record = RecordedRequest(
        request.method,
        path,
        dict(request.query_params),
        body,
        {k.lower(): v for k, v in request.headers.items()},
    )
    sim.requests.append(record)
    response = await _handle(
        sim, request, record, raw, raw_path + (f"?{query_string}" if query_string else "")
    )
    record.status_code = response.status_code
    if response.status_code >= 400:
        record.error = orjson.loads(response.body).get("error", {}).get("message")
    if "x-ms-client-request-id" in request.headers:
        response.headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
    return response


async def _handle(
    sim: AcsSimulator, request: Request, record: RecordedRequest, raw: bytes, path_and_query: str
) -> Response:
    try:
        verify_request(sim.access_key, request.method, path_and_query, request.headers, raw)
    except HmacAuthError as exc:
        return _error(401, "Unauthorized", f"Denied by the resource provider: {exc}")
    if not record.query.get("api-version"):
        return _error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    matched_path = False
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(record.path)
        if match is None:
            continue
        matched_path = True
        if method != request.method:
            continue
        try:
            status, payload = await handler(sim, record, match.groupdict().get("id") or "")
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message)
        if payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status_code=status)
    if matched_path:
        return _error(405, "MethodNotAllowed", f"{request.method} is not supported on {record.path}.")
    return _error(404, "NotFound", f"No Call Automation operation at {record.path}.")


def build_app(sim: AcsSimulator) -> FastAPI:
    app = FastAPI(title="Switchboard ACS simulator", docs_url=None, redoc_url=None, openapi_url=None)

    def record(request: Request) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        sim.requests.append(
            RecordedRequest("GET", request.url.path, dict(request.query_params), None, headers, 200)
        )

    @app.get(defaults.JWKS_PATH)
    async def jwks(request: Request) -> dict[str, Any]:
        record(request)
        return sim.tokens.jwks()

    @app.get(defaults.OPENID_CONFIG_PATH)
    async def openid_configuration(request: Request) -> dict[str, Any]:
        record(request)
        return sim.tokens.openid_configuration(sim.jwks_url)

    @app.api_route("/calling/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def calling(request: Request) -> Response:
        return await dispatch(sim, request)

    return app
