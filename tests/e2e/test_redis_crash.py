"""The embedded Redis is killed (SIGKILL): the service says so, keeps serving what does not need Redis, answers
503 (never 500) for what does, and restarts it on the same port, re-seeded, so new calls work again."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx

from apps.acs_simulator.caller_audio import WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.embedded_redis import EmbeddedRedis
from registries.toolstore.demo.store import META
from tests.support import ADMIN_KEY, Backend, eventually, running_backend

BANKING = "+18005550100"


async def hold_port(port: int) -> asyncio.Server:
    """Take the dead server's port, so its restart fails and the outage lasts until the returned server is
    closed. Every connection is closed at once, as a dead Redis would refuse it."""

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    deadline = time.monotonic() + 5
    while True:
        try:
            return await asyncio.start_server(hang_up, "127.0.0.1", port)  # SO_REUSEADDR: past TIME_WAIT
        except OSError:  # the killed server still holds it
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


async def killed(valkey: EmbeddedRedis) -> asyncio.Server:
    """SIGKILL the server and keep its port until the returned server is closed."""
    assert valkey.pid is not None
    os.kill(valkey.pid, signal.SIGKILL)
    return await hold_port(valkey.port)


async def greeted_call(simulator: AcsSimulator, backend: Backend) -> str:
    """A short call (greeting, then the caller hangs up); returns our call id."""
    result = await simulator.place_call(backend.url, [WaitForAgent()], to_number=BANKING, max_duration_s=30)
    assert result.media_connected and result.agent_audio_messages > 0
    call_id = await backend.runtime.calls.store.resolve(result.call_connection_id)
    assert call_id is not None
    return call_id


async def test_a_killed_embedded_redis_is_reported_survived_and_restarted(simulator: AcsSimulator) -> None:
    async with running_backend(simulator) as backend:
        valkey = backend.runtime.embedded_redis
        assert valkey is not None
        port = valkey.port
        call_id = await greeted_call(simulator, backend)
        await eventually(lambda: backend.runtime.transcripts.get(call_id), timeout=10)
        admin = httpx.AsyncClient(base_url=backend.url, headers={"x-api-key": ADMIN_KEY}, timeout=15)
        async with admin:
            held = await killed(valkey)
            try:
                ready = await eventually(lambda: _not_ready(admin), timeout=10)
                assert any("redis" in problem for problem in ready.json()["problems"]), ready.text
                live = await admin.get("/api/v1/health")
                assert live.status_code == 200 and live.json()["status"] == "degraded", live.text

                # The transcript lives in SQLite: our call id still finds it.
                transcript = await admin.get(f"/api/v1/calls/{call_id}/transcript")
                assert transcript.status_code == 200, transcript.text
                assert transcript.json()["call_id"] == call_id
                # What needs Redis is unavailable, and says so.
                listed = await admin.get("/api/v1/calls")
                assert listed.status_code == 503, listed.text
                assert listed.json()["detail"].startswith("redis unavailable")
                callback = await admin.post(
                    "/api/v1/calls/callbacks",
                    json=_callback("some-connection"),
                    headers={"Authorization": simulator.tokens.bearer()},
                )
                assert callback.status_code == 503, callback.text
            finally:
                held.close()  # the supervisor's next attempt gets the port back
                await held.wait_closed()

            await eventually(lambda: _ready(admin), timeout=20)
            assert valkey.port == port and valkey.restarts == 1
            assert await backend.runtime.redis.hget(META, "version")  # demo data seeded again
            assert (await admin.get("/api/v1/calls")).status_code == 200
            assert (await admin.get("/api/v1/health")).json() == {"status": "ok"}
        assert await greeted_call(simulator, backend) != call_id  # new calls work again


async def _not_ready(admin: httpx.AsyncClient) -> httpx.Response | None:
    response = await admin.get("/api/v1/readiness")
    return response if response.status_code == 503 else None


async def _ready(admin: httpx.AsyncClient) -> bool:
    return (await admin.get("/api/v1/readiness")).status_code == 200


def _callback(call_connection_id: str) -> list[dict[str, object]]:
    return [
        {
            "id": "e1",
            "source": f"calling/callConnections/{call_connection_id}",
            "type": "Microsoft.Communication.CallConnected",
            "specversion": "1.0",
            "data": {"callConnectionId": call_connection_id, "serverCallId": "s", "correlationId": "c"},
        }
    ]
