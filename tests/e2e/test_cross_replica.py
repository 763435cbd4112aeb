"""Two replicas sharing one Redis: commands that arrive at the replica without the call's media reach the
replica that has it (DTMF from an admin, hang-up), and that replica's ownership claim is visible to the other."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from apps.acs_simulator.caller_audio import Pause, WaitForAgent
from apps.acs_simulator.inbound import CallResult
from apps.acs_simulator.server import AcsSimulator
from apps.backend.calls.routing import owner_key, owner_replica
from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.session_store import session_key
from tests.e2e.serve_process import serve_env, start_serve, stop_serve, wait_ready
from tests.support import ADMIN_KEY, Backend, eventually, free_port, running_backend


async def waiting_call(simulator: AcsSimulator, backend: Backend) -> tuple[asyncio.Task[CallResult], str]:
    """A call to `backend` whose caller listens to the greeting and then stays quietly on the line."""
    call = asyncio.create_task(
        simulator.place_call(backend.url, [WaitForAgent(), Pause(30)], max_duration_s=40)
    )
    call_id = await eventually(lambda: next(iter(backend.runtime.calls._live), None), timeout=15)
    return call, call_id


async def test_commands_sent_to_another_replica_act_on_the_call_where_its_media_is(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator) as owner:
        redis_url = owner.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as other:
            call, call_id = await waiting_call(simulator, owner)
            owner_id = owner.runtime.registry_sync.replica_id
            claim = await other.runtime.redis.get(owner_key(call_id))
            assert claim is not None and owner_replica(claim) == owner_id
            assert call_id not in other.runtime.calls._live

            # Keys pressed through the replica that does not hold the call reach its conversation.
            async with other.admin() as admin:
                pressed = await admin.post(f"/api/v1/calls/{call_id}/dtmf", json={"digits": "4821#"})
            assert pressed.status_code == 202, pressed.text

            async def keyed_turn() -> bool:
                transcript = await owner.runtime.transcripts.get(call_id)
                return bool(transcript) and any(t.kind == "dtmf" for t in transcript.turns)

            await eventually(keyed_turn, timeout=15)
            transcript = await owner.runtime.transcripts.get(call_id)
            assert transcript is not None
            assert [t.text for t in transcript.turns if t.kind == "dtmf"] == ["[dtmf]"]  # stored masked
            heard = owner.runtime.calls._media_sessions[call_id].orchestrator.conversation.history()
            assert {"role": "user", "content": "[dtmf] 4821"} in heard  # the agent got the keys

            # A hang-up through the other replica ends the call and closes the owner's media socket.
            async with other.admin() as admin:
                hung_up = await admin.delete(f"/api/v1/calls/{call_id}")
            assert hung_up.status_code == 200, hung_up.text
            result = await asyncio.wait_for(call, timeout=20)
            assert result.hung_up_by == "backend"
            await eventually(lambda: call_id not in owner.runtime.calls._live, timeout=10)

            # The media endpoint releases the claim after the session has left the live set.
            async def claim_released() -> bool:
                return await other.runtime.redis.get(owner_key(call_id)) is None

            await eventually(claim_released, timeout=10)

            # Once no replica holds the media, a command says so instead of vanishing.
            async with other.admin() as admin:
                late = await admin.post(f"/api/v1/calls/{call_id}/dtmf", json={"digits": "1"})
            assert late.status_code == 409


async def test_bad_dtmf_is_rejected(simulator: AcsSimulator) -> None:
    async with running_backend(simulator) as backend:
        async with backend.admin() as admin:
            assert (await admin.post("/api/v1/calls/nope/dtmf", json={"digits": "12"})).status_code == 404
            assert (await admin.post("/api/v1/calls/nope/dtmf", json={"digits": "12a"})).status_code == 422


async def test_a_disconnect_callback_at_another_replica_closes_the_media_where_it_is(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator) as owner:
        redis_url = owner.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as other:
            call, call_id = await waiting_call(simulator, owner)
            record = await owner.runtime.calls.store.get(call_id)
            connection = record.call_connection_id
            assert connection
            disconnected = [
                {
                    "id": "disconnect-1",
                    "source": f"calling/callConnections/{connection}",
                    "type": "Microsoft.Communication.CallDisconnected",
                    "specversion": "1.0",
                    "data": {"callConnectionId": connection, "serverCallId": "s", "correlationId": "c"},
                }
            ]
            # The load balancer sends ACS' callback to the replica without the media.
            async with httpx.AsyncClient(base_url=other.url) as client:
                response = await client.post(
                    "/api/v1/calls/callbacks",
                    json=disconnected,
                    headers={"Authorization": simulator.tokens.bearer()},
                )
            assert response.status_code == 200 and response.json()["applied"] == 1
            await eventually(lambda: call_id not in owner.runtime.calls._live, timeout=10)
            assert (await other.runtime.calls.store.get(call_id)).status.value == "ended"
            # (The forged callback did not come from the simulator, which still thinks the call is up.)
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call


async def test_a_second_replica_process_drives_a_call_held_by_the_first_and_survives_a_kill(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    """Replica B is a real `switchboard serve` process; the call's media is on replica A (in this process)."""
    redis = EmbeddedRedis()
    await redis.start()
    port = free_port()
    env = serve_env(
        simulator,
        port=port,
        transcripts_db=tmp_path / "b.sqlite3",
        REDIS_URL=redis.url,
        EVENT_GRID_SECRET=simulator.event_grid_secret or "",
    )
    replica_b = await start_serve(env)
    b_url = f"http://127.0.0.1:{port}"
    headers = {"x-api-key": ADMIN_KEY}
    try:
        async with (
            running_backend(simulator, redis_url=redis.url) as replica_a,
            httpx.AsyncClient(base_url=b_url, headers=headers) as b,
        ):
            await wait_ready(b_url)
            call, call_id = await waiting_call(simulator, replica_a)

            assert (
                await b.post(f"/api/v1/calls/{call_id}/dtmf", json={"digits": "4821#"})
            ).status_code == 202

            async def keyed_turn() -> bool:
                transcript = await replica_a.runtime.transcripts.get(call_id)
                return bool(transcript) and any(t.kind == "dtmf" for t in transcript.turns)

            await eventually(keyed_turn, timeout=15)

            # Kill B outright and start it again: the call record and conversation state are in Redis.
            replica_b.kill()
            await replica_b.wait()
            replica_b = await start_serve(env)
            await wait_ready(b_url)
            record = (await b.get(f"/api/v1/calls/{call_id}")).json()
            assert record["status"] in ("connected", "answered")
            assert await replica_a.runtime.redis.get(session_key(call_id)) is not None

            # The restarted B still routes a hang-up to A, which holds the media.
            assert (await b.delete(f"/api/v1/calls/{call_id}")).status_code == 200
            result = await asyncio.wait_for(call, timeout=20)
            assert result.hung_up_by == "backend"
            await eventually(lambda: call_id not in replica_a.runtime.calls._live, timeout=10)
    finally:
        await stop_serve(replica_b)
        await redis.stop()
