"""The Event Grid webhook rings the service only for our subscription, and only with well-formed, bounded calls.

Real backend and ACS simulator on loopback; a loopback Entra tenant (JWKS over HTTP) for Entra-protected delivery.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from apps.acs_simulator.caller_audio import WaitForAgent
from apps.acs_simulator.events import incoming_call_event, subscription_validation_event
from apps.acs_simulator.inbound import EVENTS_PATH, WebhookRejected, event_grid_headers, validate_webhook
from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.tokens import TokenIssuer
from apps.backend.acs.events import DISPLAY_NAME_MAX
from tests.entra_tenant import APP_ID, TENANT_ID, loopback_tenant
from tests.support import Backend, eventually, running_backend

NOTIFICATION = event_grid_headers("Notification")


def _incoming(simulator: AcsSimulator, *, register: bool = True, **data: Any) -> dict[str, Any]:
    """An IncomingCall event for a ringing simulated call; keyword arguments replace data fields (None drops)."""
    if register:
        call = simulator.register_incoming_call()
        ids = (call.server_call_id, call.incoming_call_context, call.correlation_id)
    else:
        ids = (uuid.uuid4().hex, f"sim.{uuid.uuid4().hex}", str(uuid.uuid4()))
    event = incoming_call_event(
        to_number="+18005550100",
        from_number="+14255550123",
        server_call_id=ids[0],
        caller_display_name="Ada",
        incoming_call_context=ids[1],
        correlation_id=ids[2],
    ).wire()
    for name, value in data.items():
        if value is None:
            del event["data"][name]
        else:
            event["data"][name] = value
    return event


def _handshake() -> dict[str, Any]:
    return subscription_validation_event().wire()


async def _stored_calls(backend: Backend) -> int:
    return len((await backend.runtime.calls.store.list_recent(limit=100)).calls)


def _answer_requests(simulator: AcsSimulator) -> int:
    return sum(1 for r in simulator.requests if r.path.endswith(":answer"))


async def test_only_deliveries_with_our_secret_ring_the_service(
    simulator: AcsSimulator, backend: Backend
) -> None:
    bare = backend.url + EVENTS_PATH
    attempts = {
        "no secret": (bare, {}),
        "wrong secret": (bare + "?code=switchboard-local-event-grid-secreT", {}),
        "empty secret": (bare + "?code=", {}),
        "a bearer token instead": (bare, {"Authorization": simulator.tokens.bearer()}),
    }
    async with httpx.AsyncClient(trust_env=False) as client:
        for name, (url, headers) in attempts.items():
            call = await client.post(url, json=[_incoming(simulator)], headers={**NOTIFICATION, **headers})
            assert call.status_code == 401, (name, call.text)
            assert "not an authenticated Event Grid delivery" in call.json()["detail"], name
            handshake = await client.post(url, json=[_handshake()], headers=headers)
            assert handshake.status_code == 401, (name, handshake.text)
            options = await client.options(url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
            assert options.status_code == 401 and "webhook-allowed-origin" not in options.headers, name
        refused = await client.post(bare, json=[_incoming(simulator)])
    assert "missing ?code= secret" in refused.json()["detail"]
    assert await _stored_calls(backend) == 0
    assert _answer_requests(simulator) == 0

    # The simulator posts the secret (as `make call` does): handshake, answer, media, greeting, hang-up.
    result = await simulator.place_call(
        backend.url, [WaitForAgent()], hang_up_after_silence_s=0.5, max_duration_s=30
    )
    assert result.validation.ok and result.incoming_call_status == 200
    assert "code=" not in result.validation.url  # the secret stays out of what the simulator reports
    assert result.media_connected and result.agent_audio_messages > 0
    assert await _stored_calls(backend) == 1
    assert _answer_requests(simulator) == 1


async def test_with_no_settings_backend_and_simulator_share_the_loopback_secret(
    simulator: AcsSimulator,
) -> None:
    defaults: dict[str, Any] = {
        "acs_connection_string": None,
        "acs_jwks_url": None,
        "acs_resource_id": None,
        "event_grid_secret": None,
    }
    async with running_backend(simulator, **defaults) as backend:
        assert backend.settings.uses_acs_simulator
        validation = await simulator.validate_webhook(simulator.webhook_url(backend.url))
        assert validation.ok
        with pytest.raises(WebhookRejected, match="HTTP 401"):
            await validate_webhook(simulator.http, backend.url + EVENTS_PATH)
        with pytest.raises(WebhookRejected, match="HTTP 401"):
            await validate_webhook(simulator.http, backend.url + EVENTS_PATH + "?code=someone-elses-secret")


async def test_two_hundred_incoming_calls_in_one_post_ring_nothing(
    simulator: AcsSimulator, backend: Backend
) -> None:
    flood = [_incoming(simulator, register=False) | {"id": str(i)} for i in range(200)]
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(simulator.webhook_url(backend.url), json=flood, headers=NOTIFICATION)
    assert response.status_code == 413, response.text
    assert "at most 10 events" in response.json()["detail"]
    assert await _stored_calls(backend) == 0
    assert _answer_requests(simulator) == 0


async def _chunks(body: bytes, size: int = 16384) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_oversized_fields_and_bodies_are_refused_and_nothing_is_stored(
    simulator: AcsSimulator, backend: Backend
) -> None:
    webhook = simulator.webhook_url(backend.url)
    huge_caller = _incoming(simulator, **{"from": {"kind": "phoneNumber", "rawId": "4:+1" + "5" * 100_000}})
    huge_name = _incoming(simulator, callerDisplayName="A" * 1_000_000)
    async with httpx.AsyncClient(trust_env=False) as client:
        caller = await client.post(webhook, json=[huge_caller], headers=NOTIFICATION)
        name = await client.post(webhook, json=[huge_name], headers=NOTIFICATION)
        # Streamed without Content-Length: refused once the limit is passed, not after reading it all.
        streamed = await client.post(
            webhook, content=_chunks(orjson.dumps([huge_name])), headers=NOTIFICATION
        )
    assert caller.status_code == 400, caller.text
    assert caller.json()["detail"].startswith(
        "delivery rejected: event 0: data.from.rawId: String should have at"
    )
    assert "55555" not in caller.text
    assert name.status_code == 413 and streamed.status_code == 413, (name.text, streamed.text)
    assert "larger than 256 kB" in name.json()["detail"]
    assert await _stored_calls(backend) == 0
    assert _answer_requests(simulator) == 0


async def test_a_long_display_name_is_trimmed_before_it_is_stored_or_spoken(
    simulator: AcsSimulator, backend: Backend
) -> None:
    long_name = "Ada\x1b[2J Lovelace\u202e\r\n" + "the Countess of Lovelace " * 8  # 200+ characters
    assert len(long_name) >= 200
    result = await simulator.place_call(
        backend.url,
        [WaitForAgent()],
        caller_display_name=long_name,
        hang_up_after_silence_s=0.5,
        max_duration_s=40,
    )
    call_id = await backend.runtime.calls.store.resolve(result.call_connection_id)
    assert call_id is not None
    record = await backend.runtime.calls.store.get(call_id)
    stored = record.caller_display_name
    assert len(stored) == DISPLAY_NAME_MAX and stored.startswith("Ada [2J Lovelace the Countess")
    assert all(ch.isprintable() for ch in stored)
    transcript = await eventually(lambda: backend.runtime.transcripts.get(call_id))
    greeting = next(t.text for t in transcript.turns if t.kind == "greeting")
    assert stored in greeting and long_name not in greeting


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"incomingCallContext": None}, "event 1: data.incomingCallContext: Field required"),
        ({"from": None}, "event 1: data.from: Field required"),
        ({"to": {"kind": "phoneNumber", "rawId": "555-0100"}}, "event 1: data.to.rawId: Value error"),
    ],
)
async def test_a_malformed_incoming_call_rejects_the_whole_delivery_naming_the_field(
    simulator: AcsSimulator, backend: Backend, data: dict[str, Any], detail: str
) -> None:
    delivery = [_incoming(simulator), _incoming(simulator, **data)]  # a good call first: it must not ring
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(simulator.webhook_url(backend.url), json=delivery, headers=NOTIFICATION)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert await _stored_calls(backend) == 0
    assert _answer_requests(simulator) == 0


def _callback(connection: str, **padding: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "source": f"calling/callConnections/{connection}",
        "type": "Microsoft.Communication.CallConnected",
        "specversion": "1.0",
        "data": {"callConnectionId": connection, "serverCallId": "s", "correlationId": "c", **padding},
    }


async def test_callbacks_have_the_same_body_and_batch_bounds(
    simulator: AcsSimulator, backend: Backend
) -> None:
    url = backend.url + "/api/v1/calls/callbacks"
    async with httpx.AsyncClient(trust_env=False) as client:
        many = await client.post(
            url, json=[_callback("c")] * 11, headers={"Authorization": simulator.tokens.bearer()}
        )
        big = await client.post(
            url,
            json=[_callback("c", padding="x" * 300_000)],
            headers={"Authorization": simulator.tokens.bearer()},
        )
        bad = await client.post(
            url,
            json=[_callback("c"), {"type": "Microsoft.Communication.CallConnected", "data": {}}],
            headers={"Authorization": simulator.tokens.bearer()},
        )
        ten = await client.post(
            url, json=[_callback("c")] * 10, headers={"Authorization": simulator.tokens.bearer()}
        )
    assert many.status_code == 413 and "at most 10 events" in many.json()["detail"], many.text
    assert big.status_code == 413, big.text
    assert bad.status_code == 400 and "event 1: data.callConnectionId" in bad.json()["detail"], bad.text
    assert ten.status_code == 200 and ten.json()["received"] == 10


async def test_entra_protected_delivery_needs_a_token_from_our_tenant_for_our_app(
    simulator: AcsSimulator,
) -> None:
    async with loopback_tenant() as tenant:
        entra = {
            "event_grid_auth": "entra",
            "event_grid_secret": None,
            "event_grid_entra_tenant_id": TENANT_ID,
            "event_grid_entra_audience": APP_ID,
            "event_grid_entra_jwks_url": tenant.jwks_url,
        }
        async with running_backend(simulator, **entra) as backend:
            url = backend.url + EVENTS_PATH
            stranger = TokenIssuer(issuer=tenant.signer.issuer, audience=APP_ID)
            refused = {
                "no token": None,
                "wrong audience": tenant.bearer(aud="api://someone-else"),
                "expired": tenant.bearer(now=time.time() - 7200),
                "another key": tenant.bearer(signer=stranger),
                "an ACS token": simulator.tokens.bearer(),
            }
            async with httpx.AsyncClient(trust_env=False) as client:
                accepted = await client.post(
                    url, json=[_handshake()], headers={"Authorization": tenant.bearer()}
                )
                secret_only = await client.post(simulator.webhook_url(backend.url), json=[_handshake()])
                outcomes = {}
                for name, bearer in refused.items():
                    headers = {"Authorization": bearer} if bearer else {}
                    response = await client.post(url, json=[_incoming(simulator)], headers=headers)
                    outcomes[name] = (response.status_code, response.headers.get("www-authenticate"))
                call = await client.post(
                    url,
                    json=[_incoming(simulator)],
                    headers={**NOTIFICATION, "Authorization": tenant.bearer()},
                )
            assert accepted.status_code == 200 and "validationResponse" in accepted.json(), accepted.text
            assert secret_only.status_code == 401
            assert outcomes == dict.fromkeys(refused, (401, "Bearer"))
            assert call.status_code == 200 and len(call.json()["calls"]) == 1, call.text
            assert _answer_requests(simulator) == 1
