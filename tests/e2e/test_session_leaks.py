"""Fifty browser sessions come and go (WebRTC and WebSocket, ended by DELETE, by the client, or by a browser that
just vanishes) and the process is left as it was: no file descriptors, tasks, peer connections or live calls
left over, and memory flat."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import pytest

from apps.acs_simulator.server import AcsSimulator
from tests.e2e.voice_session_client import create_session, talking, voice_url
from tests.e2e.webrtc_session_client import connected_peer, loopback_candidates
from tests.support import Backend, eventually, running_backend

__all__ = ["loopback_candidates"]

SESSIONS = 50
WARM_UP = 20
AT_ONCE = 5
RSS_GROWTH_LIMIT_MB = 40  # allocator slack and caches, far below what 50 leaked sessions would hold


@pytest.fixture
async def backend(simulator: AcsSimulator, loopback_candidates: None) -> AsyncIterator[Backend]:
    async with running_backend(simulator, webrtc_loopback_candidates=True) as running:
        yield running


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def one_session(backend: Backend, n: int) -> None:
    """A session that connects, hears the agent, then ends one of three ways."""
    how = n % 3
    if n % 2:
        session = await create_session(backend, channel="webrtc")
        async with connected_peer(backend, session) as peer:
            await eventually(lambda: peer.loud_frames() > 5, timeout=30)
            if how == 0:
                async with backend.admin() as client:
                    await client.delete(f"/api/v1/sessions/{session['session_id']}")
        # otherwise the peer just closes: the browser vanished
    else:
        session = await create_session(backend, channel="websocket")
        async with talking(voice_url(session)) as voice:
            await eventually(lambda: voice.audio_frames > 5, timeout=30)
            if how == 0:
                await voice.ws.send(json.dumps({"type": "stop"}))
        # otherwise the socket closes without a word
    session_id = session["session_id"]

    async def ended() -> bool:
        async with backend.admin() as client:
            record = (await client.get(f"/api/v1/sessions/{session_id}")).json()
        return bool(record["status"] == "ended")

    await eventually(ended, timeout=30)


async def run_sessions(backend: Backend, count: int, first: int = 0) -> None:
    for start in range(first, first + count, AT_ONCE):
        await asyncio.gather(
            *(one_session(backend, n) for n in range(start, min(start + AT_ONCE, first + count)))
        )


async def settled(backend: Backend) -> None:
    await eventually(
        lambda: backend.runtime.calls.live_calls == 0 and backend.runtime.webrtc.live_peers == 0, timeout=30
    )


async def test_fifty_sessions_leave_no_descriptors_tasks_or_memory_behind(backend: Backend) -> None:
    # Warm-up at the same concurrency: first-use caches, thread pools and connection pools (Redis, HTTP) grow
    # to the size five sessions at a time need, and then stay; a leak grows with every session instead.
    await run_sessions(backend, WARM_UP)
    await settled(backend)
    await asyncio.sleep(1.0)
    fds, tasks, rss = open_fds(), len(asyncio.all_tasks()), rss_mb()

    await run_sessions(backend, SESSIONS, first=WARM_UP)
    await settled(backend)
    await eventually(lambda: len(asyncio.all_tasks()) <= tasks, timeout=20)
    await eventually(lambda: open_fds() <= fds + 2, timeout=20)  # a pooled HTTP connection or two
    assert rss_mb() - rss < RSS_GROWTH_LIMIT_MB, (rss, rss_mb())
