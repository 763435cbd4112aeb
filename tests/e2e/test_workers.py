"""WORKERS=2: a real `switchboard serve` with two worker processes on one port and one embedded Redis.

Calls placed through the ACS simulator land on both workers (the kernel spreads the media sockets); keys
pressed and hang-ups sent to either worker reach the call wherever its media is, by the same Redis owner
claims as between replicas; and the service stops cleanly, workers and Redis included."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil

from apps.acs_simulator.caller_audio import Pause, WaitForAgent
from apps.acs_simulator.inbound import CallResult
from apps.acs_simulator.server import AcsSimulator
from tests.support import ADMIN_KEY, MEDIA_SECRET, eventually, free_port

MAX_CALLS = 16  # placed in fours until both workers hold one: all on one worker is 2 * 2**-16 likely


def _env(simulator: AcsSimulator, tmp_path: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "WORKERS": "2",
        "WORKER_STATUS_FILE": str(tmp_path / "workers.json"),
        "PORT": str(port),
        "ACS_CONNECTION_STRING": simulator.connection_string,
        "ACS_JWKS_URL": simulator.jwks_url,
        "ACS_JWT_ISSUER": simulator.issuer,
        "ACS_RESOURCE_ID": simulator.resource_id,
        "EVENT_GRID_SECRET": simulator.event_grid_secret or "",
        "ADMIN_API_KEY": ADMIN_KEY,
        "MEDIA_TOKEN_SECRET": MEDIA_SECRET,
        "TRANSCRIPTS_DB": str(tmp_path / "transcripts.sqlite3"),
        "TRANSCRIPT_SPOOL_PATH": str(tmp_path / "spool.db"),
        "LOG_FORMAT": "json",
    }
    env.pop("REDIS_URL", None)
    return env


async def _active_calls(http: httpx.AsyncClient, url: str) -> float:
    text = (await http.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith("switchboard_active_calls "):
            return float(line.split()[1])
    raise AssertionError("no switchboard_active_calls gauge")


async def test_two_workers_share_calls_and_route_keys_and_hang_ups(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    port = free_port()
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.backend.cli",
        "serve",
        env=_env(simulator, tmp_path, port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    calls: list[asyncio.Task[CallResult]] = []
    try:
        status_file = tmp_path / "workers.json"
        await eventually(status_file.exists, timeout=90)
        status: dict[str, Any] = json.loads(status_file.read_text())
        workers = [f"http://127.0.0.1:{w['private_port']}" for w in status["workers"]]
        assert len(workers) == 2 and status["port"] == port
        async with httpx.AsyncClient(headers={"x-api-key": ADMIN_KEY}, timeout=10) as http:

            async def ready() -> bool:
                try:
                    codes = [(await http.get(f"{w}/api/v1/readiness")).status_code for w in workers]
                    return codes == [200, 200]
                except httpx.HTTPError:
                    return False

            await eventually(ready, timeout=90)

            # One embedded Redis for the whole service, a child of the supervisor, not one per worker.
            family = psutil.Process(supervisor.pid).children(recursive=True)
            assert sum("valkey" in p.name() or "redis" in p.name() for p in family) == 1

            async def both_hold_calls() -> bool:
                return all([await _active_calls(http, w) >= 1 for w in workers])

            while len(calls) < MAX_CALLS:
                for _ in range(4):
                    calls.append(
                        asyncio.create_task(
                            simulator.place_call(url, [WaitForAgent(), Pause(40)], max_duration_s=60)
                        )
                    )
                await eventually(
                    lambda: sum(c.state == "connected" for c in simulator.calls.values()) >= len(calls),
                    timeout=60,
                )
                if await eventually(lambda: _active_sum(http, workers, len(calls)), timeout=30) and (
                    await both_hold_calls()
                ):
                    break
            assert await both_hold_calls(), "every call landed on one worker"
            live = [cid for cid, c in simulator.calls.items() if c.state == "connected"]
            assert len(live) == len(calls)

            # Keys pressed through each worker reach the call on whichever worker holds its media: one
            # of the two entries is always routed to the other worker. Each entry ends with # (one turn).
            async def dtmf_turns(call_connection_id: str) -> int:
                response = await http.get(f"{url}/api/v1/calls/{call_connection_id}/transcript")
                turns = response.json().get("turns", []) if response.status_code == 200 else []
                return sum(t["kind"] == "dtmf" for t in turns)

            for entry, worker in enumerate(workers, start=1):
                for call_connection_id in live:
                    pressed = await http.post(
                        f"{worker}/api/v1/calls/{call_connection_id}/dtmf", json={"digits": "5#"}
                    )
                    assert pressed.status_code == 202, pressed.text
                for call_connection_id in live:
                    await eventually(
                        lambda cid=call_connection_id, n=entry: _at_least(dtmf_turns(cid), n), timeout=20
                    )

            # Hang-ups through alternating workers end every call from the backend's side.
            for i, call_connection_id in enumerate(live):
                hung_up = await http.delete(f"{workers[i % 2]}/api/v1/calls/{call_connection_id}")
                assert hung_up.status_code == 200, hung_up.text
            results = await asyncio.wait_for(asyncio.gather(*calls), timeout=30)
            assert [r.hung_up_by for r in results] == ["backend"] * len(results)
            await eventually(lambda: _active_sum(http, workers, 0), timeout=15)
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        if supervisor.returncode is None:
            supervisor.send_signal(signal.SIGTERM)
            await asyncio.wait_for(supervisor.wait(), 60)
    assert supervisor.returncode == 0
    pids = [w["pid"] for w in status["workers"]]
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)


async def _active_sum(http: httpx.AsyncClient, workers: list[str], expected: int) -> bool:
    return sum([await _active_calls(http, w) for w in workers]) == expected


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count >= n)
