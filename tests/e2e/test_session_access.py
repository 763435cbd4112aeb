"""Who may open a browser voice session, and with which token: every refusal is a clear 401/403/422/429 or a
1008 close with the reason (also in the log), and a refused socket never disturbs the session's live one."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.acs_simulator.server import AcsSimulator
from apps.backend.sessions.tokens import TokenPurpose
from apps.backend.setting_values import IceServer
from tests.e2e.voice_session_client import create_session, listening, refused, talking, voice_url
from tests.support import Backend, eventually, running_backend

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


async def test_token_misuse_is_refused_with_the_reason(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="apps.backend.api.v1.session_sockets")
    first = await create_session(backend)
    other = await create_session(backend)
    sid = first["session_id"]
    expired, _ = backend.runtime.voice_sessions.tokens.issue(sid, TokenPurpose.MEDIA, now=time.time() - 3600)
    events_url = first["urls"]["events"]

    assert await refused(voice_url(first, token="")) == (POLICY_VIOLATION, "missing session token")
    assert await refused(voice_url(first, token=other["token"])) == (
        POLICY_VIOLATION,
        "session token is for another session",
    )
    assert await refused(voice_url(first, token=expired)) == (POLICY_VIOLATION, "session token expired")
    assert await refused(voice_url(first, token=first["token"][:-3] + "AAA")) == (
        POLICY_VIOLATION,
        "session token signature mismatch",
    )
    assert await refused(voice_url(first, token=first["events_token"])) == (
        POLICY_VIOLATION,
        "session token is for events, not media",
    )
    assert await refused(f"{events_url}?token={first['token']}") == (
        POLICY_VIOLATION,
        "session token is for media, not events",
    )

    async with talking(voice_url(first)) as voice:
        await eventually(lambda: voice.audio_frames > 0, timeout=20)
        # The token again while its first socket is live: one socket per token.
        assert await refused(voice_url(first)) == (POLICY_VIOLATION, "session token already used")
        # Even a second valid media token opens no second voice socket: one per session.
        another, _ = backend.runtime.voice_sessions.tokens.issue(sid, TokenPurpose.MEDIA)
        assert await refused(voice_url(first, token=another)) == (
            POLICY_VIOLATION,
            "session already has a live voice socket",
        )
        frames = voice.audio_frames
        await eventually(lambda: voice.audio_frames > frames, timeout=10)  # the first one carries on

        async with backend.admin() as client:
            ended = await client.delete(f"/api/v1/sessions/{sid}")
        assert ended.status_code == 200 and ended.json()["status"] == "ended"
        await eventually(lambda: voice.ws.close_code is not None, timeout=10)
        assert (voice.ws.close_code, voice.ws.close_reason) == (1000, "ended by the api")

    # After DELETE: the still unexpired tokens open nothing.
    assert await refused(voice_url(first)) == (POLICY_VIOLATION, "session has ended")
    assert await refused(f"{events_url}?token={first['events_token']}") == (
        POLICY_VIOLATION,
        "session has ended",
    )
    reasons = [
        getattr(r, "reason", None) for r in caplog.records if r.getMessage() == "session socket rejected"
    ]
    assert reasons.count("session token expired") == 1 and reasons.count("session has ended") == 2
    assert reasons.count("session token already used") == 1
    # The socket closed; the call's teardown (transcript, post-call work) finishes behind it.
    await eventually(lambda: backend.runtime.calls.live_calls == 0, timeout=20)


async def test_a_token_opens_one_socket_only(backend: Backend) -> None:
    session = await create_session(backend)
    events_url = f"{session['urls']['events']}?token={session['events_token']}"
    async with listening(session) as events:
        await eventually(lambda: events.events, timeout=10)  # served (its snapshot): the token is spent
        assert events.events[0]["type"] == "snapshot"
        assert await refused(events_url) == (POLICY_VIOLATION, "session token already used")
    # Closed, with the session still live: the token stays spent.
    assert await refused(events_url) == (POLICY_VIOLATION, "session token already used")
    record = await backend.runtime.voice_sessions.get(session["session_id"])
    assert not record.status.is_final
    # A socket refused for anything else does not spend it: the media token at the wrong endpoint, then its own.
    relay_url = voice_url(session).replace("/realtime/conversation", "/realtime/relay")
    assert await refused(relay_url) == (POLICY_VIOLATION, "session is for websocket, not relay")
    async with talking(voice_url(session)) as voice:
        await eventually(lambda: voice.audio_frames > 0, timeout=20)


async def test_creating_sessions_needs_the_admin_key_and_a_known_scenario(backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=backend.url) as anonymous:
        response = await anonymous.post("/api/v1/sessions", json={"scenario": "banking"})
        listing = await anonymous.get("/api/v1/sessions")
        scenarios_anonymous = await anonymous.get("/api/v1/sessions/scenarios")
    assert (response.status_code, response.json()["detail"]) == (401, "missing or wrong x-api-key")
    assert listing.status_code == 401
    assert scenarios_anonymous.status_code == 401
    async with backend.admin() as admin:
        scenarios = (await admin.get("/api/v1/sessions/scenarios")).json()
    assert {s["name"] for s in scenarios} == set(backend.runtime.registry.current.scenarios)
    assert all(s["languages"] for s in scenarios)
    async with backend.admin() as admin:
        unknown = await admin.post("/api/v1/sessions", json={"scenario": "nope"})
        wrong_agent = await admin.post("/api/v1/sessions", json={"scenario": "banking", "agent": "nobody"})
        language = await admin.post("/api/v1/sessions", json={"scenario": "banking", "language": "xx-YY"})
        phone = await admin.post("/api/v1/sessions", json={"scenario": "banking", "channel": "phone"})
        missing = await admin.get("/api/v1/sessions/0123")
    assert (unknown.status_code, unknown.json()["detail"]) == (422, "no scenario named 'nope'")
    assert wrong_agent.status_code == 422 and "not part of scenario" in wrong_agent.json()["detail"]
    assert language.status_code == 422 and "not xx-YY" in language.json()["detail"]
    assert (phone.status_code, phone.json()["detail"]) == (422, "channel must be websocket, webrtc or relay")
    assert missing.status_code == 404
    created = await create_session(backend, channel="webrtc")
    assert created["ice_servers"] == []  # none by default: nothing outside is contacted


async def test_configured_ice_servers_are_handed_to_the_browser(simulator: AcsSimulator) -> None:
    turn = IceServer(urls=["turn:turn.example.com:3478"], username="switchboard", credential="s3cret")
    async with running_backend(simulator, session_ice_servers=[turn]) as backend:
        created = await create_session(backend, channel="webrtc")
    assert created["ice_servers"] == [turn.model_dump()]


async def test_demo_mode_lets_anyone_create_sessions_within_a_per_client_rate(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator, sessions_auth="demo", sessions_demo_per_minute=2) as backend:
        if 60 - time.time() % 60 < 5:  # the window is the clock minute: keep the four requests in one
            await asyncio.sleep(60 - time.time() % 60)
        async with httpx.AsyncClient(base_url=backend.url) as anonymous:
            responses = [
                await anonymous.post("/api/v1/sessions", json={"scenario": "banking"}) for _ in range(4)
            ]
            scenarios = await anonymous.get("/api/v1/sessions/scenarios")
    assert scenarios.status_code == 200 and "banking" in {s["name"] for s in scenarios.json()}
    assert [r.status_code for r in responses] == [201, 201, 429, 429]
    assert responses[2].headers["retry-after"] == "60"
    assert "too many sessions" in responses[2].json()["detail"]


async def test_sessions_carry_on_while_another_is_refused(backend: Backend) -> None:
    live = await create_session(backend)
    async with talking(voice_url(live)) as voice:
        await eventually(lambda: voice.audio_frames > 0, timeout=20)
        results = await asyncio.gather(*(refused(voice_url(live, token="garbage")) for _ in range(5)))
        assert set(results) == {(POLICY_VIOLATION, "malformed session token")}
        frames = voice.audio_frames
        await eventually(lambda: voice.audio_frames > frames, timeout=10)
        assert voice.ws.close_code is None


async def test_a_token_whose_use_cannot_be_recorded_opens_nothing(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis unreachable when the token's use is recorded: fail closed (1013), and the token is still unused."""
    session = await create_session(backend)

    async def unreachable(claims: object) -> bool:
        raise RedisConnectionError("redis is away")

    with monkeypatch.context() as patched:
        patched.setattr(backend.runtime.voice_sessions, "spend_token", unreachable)
        assert await refused(voice_url(session)) == (TRY_AGAIN_LATER, "session state unavailable")
    async with talking(voice_url(session)) as voice:  # Redis is back: the same token opens its socket
        await eventually(lambda: voice.audio_frames > 0, timeout=20)
