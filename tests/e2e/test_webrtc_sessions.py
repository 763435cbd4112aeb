"""Browser voice sessions over WebRTC, signaled through the sessions API: a real aiortc peer on loopback (its
microphone speaks synthesized sentences) offers over HTTP with the session's media token, hears the greeting,
gets a tool-backed answer, cuts the agent off, receives the live events on its data channel, and the session
ends cleanly when DELETEd. Then every kind of bad signaling input gets its clear refusal."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import pytest

from apps.acs_simulator.caller_audio import synthesize
from apps.acs_simulator.server import AcsSimulator
from apps.backend.sessions.tokens import TokenPurpose
from apps.backend.setting_values import OrchestratorKind
from tests.e2e.voice_session_client import create_session, listening
from tests.e2e.webrtc_session_client import (
    connected_peer,
    loopback_candidates,
    post_candidates,
    post_offer,
    speak,
    wait_agent_done,
)
from tests.support import Backend, eventually, running_backend
from tests.unit.transports.webrtc_client import BrowserPeer

__all__ = ["loopback_candidates"]  # the fixture, used by name

IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."
RATE = 16000


@pytest.fixture
async def backend(simulator: AcsSimulator, loopback_candidates: None) -> AsyncIterator[Backend]:
    async with running_backend(simulator, webrtc_loopback_candidates=True) as running:
        yield running


async def _transcript(backend: Backend, session_id: str) -> dict[str, Any]:
    async with backend.admin() as client:
        response = await client.get(f"/api/v1/calls/{session_id}/transcript")
    assert response.status_code == 200, response.text
    transcript: dict[str, Any] = response.json()
    return transcript


def _tools(transcript: dict[str, Any]) -> list[str]:
    return [call["name"] for turn in transcript["turns"] for call in turn.get("tool_calls", [])]


def _channel_events(peer: BrowserPeer, kind: str) -> list[dict[str, Any]]:
    return [event for event in map(json.loads, peer.events) if event.get("type") == kind]


async def test_a_webrtc_session_greets_answers_with_a_tool_is_interrupted_and_ends(backend: Backend) -> None:
    session = await create_session(backend, channel="webrtc")
    session_id = session["session_id"]
    identity = await synthesize(IDENTITY, RATE)
    question = await synthesize("What are my recent transactions?", RATE)
    cut_in = await synthesize("What's my checking balance?", RATE)

    async with listening(session) as events, connected_peer(backend, session) as peer:
        await wait_agent_done(peer, since_loud=50)  # the greeting: over a second of real agent audio

        await speak(peer, identity)
        await wait_agent_done(peer, since_loud=peer.loud_frames())
        assert "verify_identity" in _tools(await _transcript(backend, session_id))

        # Barge-in: talk over the (long) list of transactions once it is well under way.
        await speak(peer, question, silence_s=0.0)
        before = peer.loud_frames()
        await eventually(lambda: peer.loud_frames() > before + 100, timeout=30)
        await speak(peer, cut_in)
        await wait_agent_done(peer, since_loud=peer.loud_frames())

        transcript = await _transcript(backend, session_id)
        interrupted = [t for t in transcript["turns"] if t["speaker"] == "agent" and t["interrupted"]]
        assert [c["name"] for c in interrupted[0]["tool_calls"]] == ["get_recent_transactions"], transcript
        assert _tools(transcript)[-1] == "get_balance", transcript

        # The data channel carries the live events, as the events socket does.
        chunks = _channel_events(peer, "transcript_chunk")
        assert {chunk["speaker"] for chunk in chunks if chunk["final"]} == {"caller", "agent"}
        assert {chunk["speaker"] for chunk in chunks if not chunk["final"]} == {"caller", "agent"}
        assert all(chunk["seq"] is None for chunk in chunks if not chunk["final"])
        assert any(e["name"] == "verify_identity" for e in _channel_events(peer, "tool_called"))
        await eventually(lambda: events.chunks("caller") and events.chunks("agent"), timeout=10)

        async with backend.admin() as client:
            ended = await client.delete(f"/api/v1/sessions/{session_id}")
        assert ended.status_code == 200, ended.text
        await eventually(lambda: peer.pc.connectionState == "closed", timeout=10)
        await eventually(lambda: events.close is not None, timeout=10)

    async with backend.admin() as client:
        record = (await client.get(f"/api/v1/sessions/{session_id}")).json()
    assert (record["status"], record["channel"], record["end_reason"]) == (
        "ended",
        "webrtc",
        "ended by the api",
    )
    await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=10)
    assert backend.runtime.calls.live_calls == 0


async def test_a_browser_that_vanishes_ends_its_session_and_frees_the_peer(backend: Backend) -> None:
    session = await create_session(backend, channel="webrtc")
    async with connected_peer(backend, session) as peer:
        await eventually(lambda: peer.loud_frames() > 10, timeout=30)  # connected and greeted
        assert backend.runtime.webrtc.live_peers == 1
    # The peer closed without DELETE: the server's peer connection notices and the session ends.
    await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=20)
    async with backend.admin() as client:
        record = (await client.get(f"/api/v1/sessions/{session['session_id']}")).json()
    assert (record["status"], record["end_reason"]) == ("ended", "browser left")
    assert backend.runtime.calls.live_calls == 0


def vanish(peer: BrowserPeer) -> None:
    """The browser is gone without a word (a crashed tab, a dropped network): from now on nothing leaves it (no
    DTLS close, no RTCP BYE, no media, no answer to the server's consent checks) and nothing reaches it."""
    for transceiver in peer.pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        for protocol in ice._connection._protocols:  # aioice's UDP endpoints: no public way to cut them
            protocol.transport.sendto = lambda *args, **kwargs: None
            protocol.datagram_received = lambda *args, **kwargs: None


async def test_a_browser_that_vanishes_without_closing_is_found_by_ice_consent(
    simulator: AcsSimulator, loopback_candidates: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RFC 7675 consent checks: every 5 s (+-20%) in aioice, six missed in a row end the connection (~30 s);
    # the same checks on a faster clock keep the test short.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)
    async with running_backend(simulator, webrtc_loopback_candidates=True) as backend:
        vanishing = await create_session(backend, channel="webrtc")
        staying = await create_session(backend, channel="webrtc")
        async with connected_peer(backend, staying) as other, connected_peer(backend, vanishing) as peer:
            await eventually(lambda: peer.loud_frames() > 10 and other.loud_frames() > 10, timeout=30)
            assert backend.runtime.webrtc.live_peers == 2
            vanish(peer)
            async with backend.admin() as client:
                record = await eventually(lambda: _ended(client, vanishing["session_id"]), timeout=30)
            # aioice closes the lost connection's sockets, which ends the DTLS transport and the browser's track
            # before the ICE state turns to failed: to the session, the browser left.
            assert record["end_reason"] == "browser left"
            await eventually(lambda: backend.runtime.webrtc.live_peers == 1, timeout=10)
            # The other session carries on: still connected, still hearing its agent's track.
            heard = len(other.heard)
            await eventually(lambda: len(other.heard) > heard + 25, timeout=10)
            assert other.pc.connectionState == "connected"
            assert list(backend.runtime.calls._live) == [staying["session_id"]]
        await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=20)
        assert backend.runtime.calls.live_calls == 0


async def test_bad_signaling_is_refused_with_a_reason_and_leaves_nothing_behind(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="apps.backend.api.v1.webrtc")
    session = await create_session(backend, channel="webrtc")
    other = await create_session(backend, channel="webrtc")
    ws_session = await create_session(backend, channel="websocket")
    peer = BrowserPeer()
    try:
        sdp = await peer.offer()

        no_token = await post_offer(backend, session, sdp, token="")
        assert (no_token.status_code, no_token.json()["detail"]) == (401, "missing session token")
        forged = await post_offer(backend, session, sdp, token="abc.def")
        assert forged.status_code == 401
        wrong_session = await post_offer(backend, session, sdp, token=other["token"])
        assert (wrong_session.status_code, wrong_session.json()["detail"]) == (
            403,
            "session token is for another session",
        )
        events_token = await post_offer(backend, session, sdp, token=session["events_token"])
        assert (events_token.status_code, events_token.json()["detail"]) == (
            403,
            "session token is for events, not media",
        )
        ghost_token, _ = backend.runtime.voice_sessions.tokens.issue("nope", TokenPurpose.MEDIA)
        unknown = await post_offer(backend, {"session_id": "nope", "token": ghost_token}, sdp)
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "no such session")

        early = await post_candidates(
            backend, session, [{"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}]
        )
        assert (early.status_code, early.json()["detail"]) == (
            409,
            "ICE candidates must come after the SDP offer",
        )

        garbage = await post_offer(backend, session, "hello")
        assert (garbage.status_code, garbage.json()["detail"]) == (
            400,
            "not an SDP description (must start with v=0)",
        )
        no_audio = await post_offer(backend, session, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
        assert (no_audio.status_code, no_audio.json()["detail"]) == (
            400,
            "the SDP offer has no audio section",
        )
        broken = await post_offer(backend, session, "v=0\r\nm=audio x\r\n")
        assert (broken.status_code, broken.json()["detail"]) == (400, "malformed SDP offer (AssertionError)")
        # Parses, but aiortc cannot use it: refused after a peer connection was made for it (and closed).
        no_ice = "\r\n".join(
            line for line in sdp.split("\r\n") if not line.startswith(("a=ice-ufrag", "a=ice-pwd"))
        )
        unusable = await post_offer(backend, session, no_ice)
        assert (unusable.status_code, unusable.json()["detail"]) == (
            400,
            "the SDP offer was refused (ValueError: ICE username fragment or password is missing)",
        )
        assert backend.runtime.webrtc.live_peers == 0
        wrong_channel = await post_offer(backend, ws_session, sdp)
        assert (wrong_channel.status_code, wrong_channel.json()["detail"]) == (
            409,
            "session is for websocket, not webrtc",
        )

        # A refused offer does not use up the session: a good one still works, a second one does not.
        first = await post_offer(backend, session, sdp)
        assert first.status_code == 200, first.text
        second = await post_offer(backend, session, sdp)
        assert (second.status_code, second.json()["detail"]) == (409, "this session already has an offer")

        bad_candidate = await post_candidates(
            backend, session, [{"candidate": "candidate:junk", "sdpMid": "0"}]
        )
        assert bad_candidate.status_code == 400
        assert bad_candidate.json()["detail"].startswith("malformed ICE candidate")
        no_mid = await post_candidates(
            backend, session, [{"candidate": "candidate:1 1 udp 1 127.0.0.1 5 typ host"}]
        )
        assert (no_mid.status_code, no_mid.json()["detail"]) == (
            400,
            "an ICE candidate needs sdpMid or sdpMLineIndex",
        )
        good = await post_candidates(
            backend,
            session,
            [
                {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "sdpMid": "0"},
                {"candidate": ""},
            ],
        )
        assert good.status_code == 204, good.text
        too_many = await post_candidates(backend, session, [{"candidate": ""}] * 33)
        assert too_many.status_code == 422

        async with backend.admin() as client:
            assert (await client.delete(f"/api/v1/sessions/{session['session_id']}")).status_code == 200
        await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=10)
        after_end = await post_offer(backend, session, sdp)
        assert (after_end.status_code, after_end.json()["detail"]) == (409, "session has ended")
        late = await post_candidates(backend, session, [{"candidate": "", "sdpMid": "0"}])
        assert (late.status_code, late.json()["detail"]) == (409, "session has ended")
    finally:
        await peer.close()
    assert backend.runtime.calls.live_calls == 0
    # The token refusals are in the log with their reasons.
    reasons = [
        getattr(r, "reason", None) for r in caplog.records if r.getMessage() == "webrtc signaling refused"
    ]
    assert reasons == [
        "missing session token",
        "session token signature mismatch",
        "session token is for another session",
        "session token is for events, not media",
    ]


async def test_an_offer_whose_browser_never_connects_ends_at_the_connect_timeout(
    simulator: AcsSimulator, loopback_candidates: None
) -> None:
    async with running_backend(simulator, session_connect_timeout_seconds=2) as backend:
        session = await create_session(backend, channel="webrtc")
        never_offered = await create_session(backend, channel="webrtc")
        peer = BrowserPeer()
        try:
            # The offer is answered, but this browser never applies the answer: ICE never connects.
            response = await post_offer(backend, session, await peer.offer())
            assert response.status_code == 200
            await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=15)
        finally:
            await peer.close()
        async with backend.admin() as client:
            offered = (await client.get(f"/api/v1/sessions/{session['session_id']}")).json()
            idle = await eventually(lambda: _ended(client, never_offered["session_id"]), timeout=15)
        assert (offered["status"], offered["end_reason"]) == (
            "ended",
            "webrtc connection not established in time",
        )
        assert idle["end_reason"] == "never connected"


async def _ended(client: Any, session_id: str) -> dict[str, Any] | None:
    record: dict[str, Any] = (await client.get(f"/api/v1/sessions/{session_id}")).json()
    return record if record["status"] == "ended" else None


async def test_a_webrtc_session_runs_on_the_voicelive_orchestrator_too(
    simulator: AcsSimulator, loopback_candidates: None
) -> None:
    async with running_backend(
        simulator, webrtc_loopback_candidates=True, orchestrator=OrchestratorKind.VOICELIVE
    ) as backend:
        session = await create_session(backend, channel="webrtc")
        session_id = session["session_id"]
        identity = await synthesize(IDENTITY, RATE)
        async with connected_peer(backend, session) as peer:
            await wait_agent_done(peer, since_loud=50)  # the greeting, from the realtime server's voice
            await speak(peer, identity)
            await eventually(lambda: _has_tool(backend, session_id, "verify_identity"), timeout=40)
            await wait_agent_done(peer, since_loud=peer.loud_frames())
            chunks = _channel_events(peer, "transcript_chunk")
            assert {chunk["speaker"] for chunk in chunks if chunk["final"]} == {"caller", "agent"}
        await eventually(lambda: backend.runtime.webrtc.live_peers == 0, timeout=20)
        transcript = await _transcript(backend, session_id)
        assert transcript["turns"][0]["kind"] == "greeting"


async def _has_tool(backend: Backend, session_id: str, name: str) -> bool:
    return name in _tools(await _transcript(backend, session_id))
