"""ACS JWT validation end to end: on by default with real ACS (keys from the OpenID configuration), fresh
simulator keys picked up at once, and `switchboard call` failing loudly when the backend refuses it."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import jwt

from apps import loopback_acs as defaults
from apps.acs_simulator.caller_audio import WaitForAgent
from apps.acs_simulator.events import CALL_DISCONNECTED
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.call_store import CallDirection, CallRecord
from tests.support import Backend, free_port, running_backend

# Looks like a real ACS resource (never contacted: these tests post the callbacks themselves).
REAL_ACS = "endpoint=https://switchboard-test.communication.azure.com/;accesskey=c2VjcmV0LWtleQ=="


def _disconnected(call_connection_id: str) -> list[dict[str, object]]:
    return [
        {
            "id": f"e{time.monotonic_ns()}",
            "source": f"calling/callConnections/{call_connection_id}",
            "type": CALL_DISCONNECTED,
            "specversion": "1.0",
            "data": {"callConnectionId": call_connection_id, "serverCallId": "s", "correlationId": "c"},
        }
    ]


async def _connected_call(backend: Backend, call_connection_id: str) -> str:
    record = CallRecord(
        call_id=f"jwt{time.monotonic_ns()}", direction=CallDirection.INBOUND, scenario="banking"
    )
    store = backend.runtime.calls.store
    await store.create(record)
    await store.update(record.call_id, lambda r: setattr(r, "call_connection_id", call_connection_id))
    return record.call_id


async def test_real_acs_validates_callbacks_with_the_openid_configuration(simulator: AcsSimulator) -> None:
    async with running_backend(
        simulator,
        acs_connection_string=REAL_ACS,
        acs_openid_config_url=simulator.openid_configuration_url,  # stands in for the public ACS one
        acs_jwks_url=None,
        acs_jwt_issuer=None,
        acs_resource_id=simulator.resource_id,
    ) as backend:
        assert not backend.settings.uses_acs_simulator
        call_id = await _connected_call(backend, "conn-real")
        claims = jwt.decode(simulator.tokens.mint(), options={"verify_signature": False})
        unsigned = jwt.encode(claims, key="", algorithm="none", headers={"kid": simulator.tokens.kid})
        url = "/api/v1/calls/callbacks"
        async with httpx.AsyncClient(base_url=backend.url) as client:
            forged = await client.post(url, json=_disconnected("conn-real"))
            forged_unsigned = await client.post(
                url, json=_disconnected("conn-real"), headers={"Authorization": f"Bearer {unsigned}"}
            )
            assert (forged.status_code, forged_unsigned.status_code) == (401, 401)
            assert not (await backend.runtime.calls.store.get(call_id)).status.is_final
            signed = await client.post(
                url, json=_disconnected("conn-real"), headers={"Authorization": simulator.tokens.bearer()}
            )
        assert signed.status_code == 200 and signed.json() == {"received": 1, "applied": 1}
        assert (await backend.runtime.calls.store.get(call_id)).status.is_final
        config_fetches = [r for r in simulator.requests if r.path == defaults.OPENID_CONFIG_PATH]
        assert len(config_fetches) == 1


async def test_back_to_back_simulator_runs_each_with_a_fresh_key_both_work() -> None:
    """`make call` twice against one `make run`: every simulator run signs with a new key."""
    port = free_port()
    script = [WaitForAgent()]
    first = await AcsSimulator(port=port).start()
    async with running_backend(first) as backend:
        try:
            one = await first.place_call(backend.url, script, max_duration_s=20, hang_up_after_silence_s=0.5)
        finally:
            await first.stop()
        async with AcsSimulator(port=port) as second:
            assert second.tokens.kid != first.tokens.kid
            two = await second.place_call(backend.url, script, max_duration_s=20, hang_up_after_silence_s=0.5)
    for result in (one, two):
        assert result.failures() == []
        assert result.agent_audio_messages > 0
        assert all(c.status_code == 200 for c in result.callbacks)


async def test_call_cli_exits_non_zero_when_the_backend_refuses_the_call(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    cli_port = free_port()
    async with running_backend(
        simulator,
        acs_connection_string=defaults.simulator_connection_string(port=cli_port),
        acs_jwks_url=f"http://127.0.0.1:{cli_port}{defaults.JWKS_PATH}",
        acs_resource_id="00000000-0000-0000-0000-0000000000ff",  # not the simulator's: every JWT is refused
    ) as backend:
        call = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "apps.backend.cli", "call", "--backend", backend.url, "--port", str(cli_port),
            "--out", str(tmp_path / "call.wav"), "--max-seconds", "10", "--hangup-after-silence", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(call.communicate(), timeout=90)
    stderr = err.decode()
    assert call.returncode == 1, (out.decode(), stderr)
    assert "Traceback" not in stderr
    assert "call failed: the backend closed the media WebSocket with code 1008" in stderr
    assert "callbacks were not accepted" in stderr and "HTTP 401" in stderr
