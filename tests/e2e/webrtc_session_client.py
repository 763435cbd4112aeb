"""A browser stand-in for WebRTC sessions over HTTP: a real aiortc peer (`BrowserPeer`, its microphone fed
with synthesized speech) that signals through the sessions API with the session's media token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiortc import RTCSessionDescription

from tests.support import Backend, eventually
from tests.unit.transports.webrtc_client import BrowserPeer, rms
from voice.transports.webrtc_ice import stop_offering_loopback

QUIET_FRAMES = 40  # 0.8 s of 20 ms frames


@pytest.fixture
def loopback_candidates() -> AsyncIterator[None]:  # type: ignore[misc]
    """WEBRTC_LOOPBACK_CANDIDATES switches on a process-wide aioice setting: put it back afterwards."""
    yield
    stop_offering_loopback()


def bearer(session: dict[str, Any], token: str | None = None) -> dict[str, str]:
    """The session's media token (or `token`; "" sends no Authorization header at all)."""
    given = session["token"] if token is None else token
    return {"Authorization": f"Bearer {given}"} if given else {}


async def post_offer(
    backend: Backend, session: dict[str, Any], sdp: str, *, token: str | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        return await client.post(
            f"/api/v1/sessions/{session['session_id']}/offer",
            json={"type": "offer", "sdp": sdp},
            headers=bearer(session, token),
        )


async def post_candidates(
    backend: Backend, session: dict[str, Any], candidates: list[dict[str, Any]], *, token: str | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        return await client.post(
            f"/api/v1/sessions/{session['session_id']}/candidates",
            json={"candidates": candidates},
            headers=bearer(session, token),
        )


@asynccontextmanager
async def connected_peer(backend: Backend, session: dict[str, Any]) -> AsyncIterator[BrowserPeer]:
    """A peer that offered over HTTP, took the answer and opened its events data channel."""
    peer = BrowserPeer(data_channel=True)
    try:
        response = await post_offer(backend, session, await peer.offer())
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["type"] == "answer"
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        yield peer
    finally:
        await peer.close()


def quiet_for(peer: BrowserPeer, frames: int = QUIET_FRAMES, threshold: float = 500.0) -> bool:
    tail = peer.heard[-frames:]
    return len(tail) == frames and all(rms(frame) <= threshold for frame in tail)


async def wait_agent_done(peer: BrowserPeer, *, since_loud: int, timeout: float = 40) -> None:
    """The agent said something after `since_loud` loud frames, then went quiet for 0.8 s."""
    await eventually(lambda: peer.loud_frames() > since_loud and quiet_for(peer), timeout=timeout)


async def speak(peer: BrowserPeer, pcm16k: bytes, *, silence_s: float = 1.0) -> None:
    peer.mic.play(pcm16k + bytes(int(16000 * silence_s) * 2))
    await eventually(lambda: not peer.mic.playing, timeout=30)
