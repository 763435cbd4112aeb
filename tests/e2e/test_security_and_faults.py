"""The locks on the doors (media token, ACS JWT, admin key) and the ugly cases (malformed media, Redis down)."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.tokens import TokenIssuer
from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.storage.call_store import CallDirection, CallRecord
from tests.support import ADMIN_KEY, MEDIA_SECRET, Backend, eventually, running_backend

POLICY_VIOLATION = 1008


async def _new_call(backend: Backend) -> str:
    """A call record as the IncomingCall handler would leave it, so a socket has a call to join."""
    record = CallRecord(
        call_id=f"test{time.monotonic_ns()}", direction=CallDirection.INBOUND, scenario="banking"
    )
    await backend.runtime.calls.store.create(record)
    return record.call_id


def _ws_url(backend: Backend, token: str | None) -> str:
    url = backend.settings.websocket_base_url + "/api/v1/media/stream"
    return url if token is None else f"{url}?token={token}"


async def _close_code(url: str, headers: dict[str, str]) -> int | None:
    async with websockets.connect(url, additional_headers=headers, open_timeout=5) as ws:
        try:
            await asyncio.wait_for(ws.recv(), timeout=5)
        except ConnectionClosed:
            pass
        await asyncio.wait_for(ws.wait_closed(), timeout=5)
        return ws.close_code


@pytest.mark.parametrize("case", ["missing", "forged", "expired", "unknown call"])
async def test_media_socket_rejects_bad_tokens_with_1008(
    simulator: AcsSimulator, backend: Backend, case: str
) -> None:
    call_id = await _new_call(backend)
    signer = MediaTokenSigner(MEDIA_SECRET.encode(), ttl_seconds=60)
    token = {
        "missing": None,
        "forged": MediaTokenSigner(b"attacker-secret-attacker-secret!", 60).issue(call_id),
        "expired": signer.issue(call_id, now=time.time() - 3600),
        "unknown call": signer.issue("no-such-call"),
    }[case]
    headers = {"Authorization": simulator.tokens.bearer(), "x-ms-call-connection-id": "c1"}
    assert await _close_code(_ws_url(backend, token), headers) == POLICY_VIOLATION
    assert backend.runtime.calls.live_calls == 0
    record = await backend.runtime.calls.store.get(call_id)
    assert not record.media_connected  # no audio was processed for it


@pytest.mark.parametrize("case", ["no jwt", "jwt from another signer", "expired jwt"])
async def test_media_socket_needs_the_acs_jwt_too(
    simulator: AcsSimulator, backend: Backend, case: str
) -> None:
    call_id = await _new_call(backend)
    token = backend.runtime.media_tokens.issue(call_id)
    headers = {
        "no jwt": {},
        "jwt from another signer": {"Authorization": TokenIssuer(audience=simulator.resource_id).bearer()},
        "expired jwt": {"Authorization": simulator.tokens.bearer(now=time.time() - 3600)},
    }[case]
    assert await _close_code(_ws_url(backend, token), headers) == POLICY_VIOLATION


def _callback_body(call_connection_id: str = "unknown-connection") -> list[dict]:
    return [
        {
            "id": "e1",
            "source": f"calling/callConnections/{call_connection_id}",
            "type": "Microsoft.Communication.CallConnected",
            "specversion": "1.0",
            "data": {"callConnectionId": call_connection_id, "serverCallId": "s", "correlationId": "c"},
        }
    ]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-jwt", "Basic abc", "forged", "wrong audience", "expired"],
)
async def test_callbacks_without_a_valid_acs_jwt_get_401(
    simulator: AcsSimulator, backend: Backend, authorization: str | None
) -> None:
    if authorization == "forged":
        authorization = TokenIssuer(audience=simulator.resource_id).bearer()
    elif authorization == "wrong audience":
        authorization = TokenIssuer(audience="someone-else").bearer()  # unknown kid as well as audience
    elif authorization == "expired":
        authorization = simulator.tokens.bearer(now=time.time() - 3600)
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=backend.url) as client:
        response = await client.post("/api/v1/calls/callbacks", json=_callback_body(), headers=headers)
    assert response.status_code == 401


async def test_signed_callback_is_accepted_and_applied(simulator: AcsSimulator, backend: Backend) -> None:
    call_id = await _new_call(backend)
    await backend.runtime.calls.store.update(call_id, lambda r: setattr(r, "call_connection_id", "conn-7"))
    async with httpx.AsyncClient(base_url=backend.url) as client:
        response = await client.post(
            "/api/v1/calls/callbacks",
            json=_callback_body("conn-7"),
            headers={"Authorization": simulator.tokens.bearer()},
        )
        malformed = await client.post(
            "/api/v1/calls/callbacks", content=b"{oops", headers={"Authorization": simulator.tokens.bearer()}
        )
    assert response.status_code == 200 and response.json() == {"received": 1, "applied": 1}
    assert malformed.status_code == 400
    assert (await backend.runtime.calls.store.get(call_id)).status.value == "connected"


async def test_malformed_media_messages_are_counted_and_the_call_goes_on(
    simulator: AcsSimulator, backend: Backend
) -> None:
    call_id = await _new_call(backend)
    url = _ws_url(backend, backend.runtime.media_tokens.issue(call_id))
    headers = {"Authorization": simulator.tokens.bearer(), "x-ms-call-connection-id": "conn-m"}
    frame = orjson.dumps(
        {"kind": "AudioData", "audioData": {"data": base64.b64encode(bytes(640)).decode(), "silent": True}}
    ).decode()
    junk = [
        "{not json",
        "[]",
        '{"kind":"AudioData"}',
        '{"kind":"AudioData","audioData":{"data":"%%%"}}',
        "null",
    ]
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(
            '{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"s","encoding":"PCM",'
            '"sampleRate":16000,"channels":1,"length":640}}'
        )
        for bad in junk:
            await ws.send(bad)
            await ws.send(frame)
        # The greeting still arrives after all that junk: the call is alive.
        first = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert first["Kind"] == "AudioData" and base64.b64decode(first["AudioData"]["Data"])
        await ws.close()
    record = await eventually(lambda: _media_ended(backend, call_id))
    ended = [e for e in record.events if e.type == "media_ended"][-1]
    assert f"malformed={len(junk)}" in (ended.detail or "")
    assert f"in={len(junk)}" in (ended.detail or "")


async def _media_ended(backend: Backend, call_id: str) -> CallRecord | None:
    record = await backend.runtime.calls.store.get(call_id)
    return record if any(e.type == "media_ended" for e in record.events) else None


async def test_event_grid_webhook_rejects_garbage_but_answers_the_handshake(
    simulator: AcsSimulator, backend: Backend
) -> None:
    webhook = simulator.webhook_url(backend.url)
    async with httpx.AsyncClient() as client:
        garbage = await client.post(webhook, content=b"<xml/>")
        wrong_shape = await client.post(webhook, json=[{"no": "eventType"}])
        handshake = await client.post(
            webhook,
            json=[
                {
                    "id": "v1",
                    "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                    "subject": "",
                    "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
                }
            ],
        )
        options = await client.options(webhook, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert garbage.status_code == 400 and wrong_shape.status_code == 400
    assert handshake.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    assert options.headers["webhook-allowed-origin"] == "eventgrid.azure.net"


async def test_admin_endpoints_need_the_key(simulator: AcsSimulator, backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=backend.url) as client:
        assert (await client.get("/api/v1/calls/anything")).status_code == 401
        assert (
            await client.delete("/api/v1/calls/anything", headers={"x-api-key": "wrong"})
        ).status_code == 401
        assert (await client.post("/api/v1/calls", json={"to": "+15550100"})).status_code == 401
        # The console's hang-up and keys are admin only too.
        assert (await client.post("/api/v1/calls/anything/dtmf", json={"digits": "1"})).status_code == 401
        missing = await client.get("/api/v1/calls/anything", headers={"x-api-key": ADMIN_KEY})
        assert missing.status_code == 404
    async with running_backend(simulator, admin_api_key=None) as keyless:
        async with httpx.AsyncClient(base_url=keyless.url) as client:
            disabled = await client.get("/api/v1/calls/x", headers={"x-api-key": "anything"})
    assert disabled.status_code == 503 and "ADMIN_API_KEY" in disabled.text


async def test_outbound_call_connects_media_and_greets(simulator: AcsSimulator, backend: Backend) -> None:
    async with backend.admin() as admin:
        bad = await admin.post("/api/v1/calls", json={"to": "555-0100"})
        assert bad.status_code == 422
        unknown = await admin.post("/api/v1/calls", json={"to": "+15550100123", "scenario": "nope"})
        assert unknown.status_code == 422 and "nope" in unknown.text
        placed = await admin.post("/api/v1/calls", json={"to": "+15550100123", "from": "+18005550100"})
        assert placed.status_code == 201, placed.text
        record = placed.json()
        assert record["direction"] == "outbound" and record["call_connection_id"]
        connection_id = record["call_connection_id"]
        create = next(
            r for r in simulator.requests if r.method == "POST" and r.path == "/calling/callConnections"
        )
        assert create.body["mediaStreamingOptions"]["enableBidirectional"] is True
        assert create.body["targets"][0]["rawId"] == "4:+15550100123"
        call = simulator.calls[connection_id]
        await eventually(lambda: call.timeline.first("agent_audio_start") is not None, timeout=15)
        hung_up = await admin.delete(f"/api/v1/calls/{connection_id}")
        assert hung_up.json()["status"] == "ended"
    await eventually(call.ended.is_set)


async def test_readiness_reports_redis_down(simulator: AcsSimulator, backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=backend.url) as client:
        assert (await client.get("/api/v1/readiness")).status_code == 200
        assert backend.runtime.embedded_redis is not None
        await backend.runtime.embedded_redis.stop()
        response = await client.get("/api/v1/readiness")
        live = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert any("redis" in p for p in response.json()["problems"])
    # Each dependency is listed: Redis down with its reason, the rest still ready.
    dependencies = {d["name"]: d for d in response.json()["dependencies"]}
    assert not dependencies["redis"]["ok"] and dependencies["redis"]["detail"] in response.json()["problems"]
    assert dependencies["registry"]["ok"] and dependencies["tts"]["ok"], dependencies
    assert live.status_code == 200
