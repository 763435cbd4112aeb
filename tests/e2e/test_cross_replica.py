"""Two replicas sharing one Redis: commands that arrive at the replica without the call's media reach the
replica that has it (DTMF from an admin, hang-up), and that replica's ownership claim is visible to the other."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from apps.acs_simulator.caller_audio import Pause, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.calls.routing import owner_key
from tests.support import eventually, running_backend


async def test_commands_sent_to_another_replica_act_on_the_call_where_its_media_is(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator) as owner:
        redis_url = owner.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as other:
            call = asyncio.create_task(
                simulator.place_call(owner.url, [WaitForAgent(), Pause(30)], max_duration_s=40)
            )
            call_id = await eventually(lambda: next(iter(owner.runtime.calls._live), None), timeout=15)
            owner_id = owner.runtime.registry_sync.replica_id
            assert await other.runtime.redis.get(owner_key(call_id)) == owner_id.encode()
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
            assert [t.text for t in transcript.turns if t.kind == "dtmf"] == ["[dtmf] 4821"]

            # A hang-up through the other replica ends the call and closes the owner's media socket.
            async with other.admin() as admin:
                hung_up = await admin.delete(f"/api/v1/calls/{call_id}")
            assert hung_up.status_code == 200, hung_up.text
            result = await asyncio.wait_for(call, timeout=20)
            assert result.hung_up_by == "backend"
            await eventually(lambda: call_id not in owner.runtime.calls._live, timeout=10)
            assert await other.runtime.redis.get(owner_key(call_id)) is None

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
            call = asyncio.create_task(
                simulator.place_call(owner.url, [WaitForAgent(), Pause(30)], max_duration_s=40)
            )
            call_id = await eventually(lambda: next(iter(owner.runtime.calls._live), None), timeout=15)
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
