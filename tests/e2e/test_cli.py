"""The two developer commands as real processes: `switchboard serve` and `switchboard call`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import wave
from pathlib import Path

import httpx

from apps import loopback_acs as simulator_defaults
from tests.support import eventually, free_port

SWITCHBOARD = [sys.executable, "-m", "apps.backend.cli"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_serve_then_call_hears_the_greeting_and_shutdown_leaves_no_redis(tmp_path: Path) -> None:
    port, sim_port = free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "ACS_CONNECTION_STRING": simulator_defaults.simulator_connection_string(port=sim_port),
        "ACS_JWKS_URL": f"http://127.0.0.1:{sim_port}{simulator_defaults.JWKS_PATH}",
        "ACS_RESOURCE_ID": simulator_defaults.SIMULATOR_RESOURCE_ID,
        "EVENT_GRID_SECRET": simulator_defaults.SIMULATOR_EVENT_GRID_SECRET,
        "LOG_FORMAT": "json",
    }
    env.pop("REDIS_URL", None)
    server = await asyncio.create_subprocess_exec(
        *SWITCHBOARD, "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/api/v1/readiness")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, timeout=60)
        redis_children = _children(server.pid)
        assert redis_children, "the embedded valkey-server should be a child of the service"

        wav, timeline = tmp_path / "greeting.wav", tmp_path / "timeline.json"
        call = await asyncio.create_subprocess_exec(
            *SWITCHBOARD, "call", "--backend", f"http://127.0.0.1:{port}", "--port", str(sim_port),
            "--out", str(wav), "--json", str(timeline), "--max-seconds", "40", "--hangup-after-silence", "1",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(call.communicate(), timeout=90)
        assert call.returncode == 0, (out.decode(), err.decode())
        assert str(wav) in out.decode()
        with wave.open(str(wav)) as recording:
            assert recording.getframerate() == 16000 and recording.getnchannels() == 1
            assert 2.5 < recording.getnframes() / 16000 < 15
        kinds = [event["event"] for event in json.loads(timeline.read_text())]
        assert "media_connected" in kinds and "agent_audio_start" in kinds and "hangup" in kinds
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        _, server_err = await asyncio.wait_for(server.communicate(), timeout=30)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught (exit -15).
    assert server.returncode in (0, -signal.SIGTERM), server_err.decode()[-2000:]
    assert "Application shutdown complete" in server_err.decode()
    for pid in redis_children:
        await eventually(lambda pid=pid: not _running(pid), timeout=10)


async def test_call_against_a_dead_backend_fails_with_one_line() -> None:
    call = await asyncio.create_subprocess_exec(
        *SWITCHBOARD, "call", "--backend", f"http://127.0.0.1:{free_port()}", "--port", str(free_port()),
        "--max-seconds", "5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(call.communicate(), timeout=60)
    assert call.returncode == 1
    assert "Traceback" not in err.decode() + out.decode()
    assert "reach" in (err.decode() + out.decode()).lower()
