"""A worker killed outright (SIGKILL) mid-call writes no outcome, and its embedded Redis dies with it. Started
again on the same data, it closes the call it left open: the transcript keeps its turns and gets the outcome
"worker lost"."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

import httpx

from apps.acs_simulator.caller_audio import Pause, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from tests.support import ADMIN_KEY, MEDIA_SECRET, eventually, free_port

OPEN_CALLS_WITH_TURNS = (
    "SELECT call_id FROM calls WHERE outcome IS NULL"
    " AND EXISTS (SELECT 1 FROM turns WHERE turns.call_id = calls.call_id)"
)


def _open_calls_with_turns(db: Path) -> list[str]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return [call_id for (call_id,) in conn.execute(OPEN_CALLS_WITH_TURNS)]
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


async def _serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.backend.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_call_left_open_by_a_killed_worker_is_closed_as_worker_lost_on_restart(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    db = tmp_path / "transcripts.sqlite3"
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "ACS_CONNECTION_STRING": simulator.connection_string,
        "ACS_JWKS_URL": simulator.jwks_url,
        "ACS_JWT_ISSUER": simulator.issuer,
        "ACS_RESOURCE_ID": simulator.resource_id,
        "ADMIN_API_KEY": ADMIN_KEY,
        "MEDIA_TOKEN_SECRET": MEDIA_SECRET,
        "TRANSCRIPTS_DB": str(db),
        "LOG_FORMAT": "json",
    }
    env.pop("REDIS_URL", None)  # the embedded Redis: it dies with the worker
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                return (await client.get("/api/v1/readiness")).status_code == 200
        except httpx.HTTPError:
            return False

    worker = await _serve(env)
    call: asyncio.Task[object] | None = None
    try:
        await eventually(ready, timeout=60)
        call = asyncio.create_task(simulator.place_call(url, [WaitForAgent(), Pause(30)], max_duration_s=40))
        # Mid-call: the greeting is in the transcript, and the call has no outcome yet.
        (call_id,) = await eventually(lambda: asyncio.to_thread(_open_calls_with_turns, db), timeout=30)

        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await call
        assert await asyncio.to_thread(_open_calls_with_turns, db) == [call_id]

        worker = await _serve(env)  # the same data; a new embedded Redis that never saw the call
        await eventually(ready, timeout=60)
        store = SqliteTranscriptStore(db)
        await store.open()
        try:
            transcript = await store.get(call_id)
        finally:
            await store.close()
        assert transcript is not None
        assert transcript.outcome is not None and transcript.outcome.reason == "worker lost"
        assert transcript.turns and transcript.turns[0].kind == "greeting"  # what was recorded is kept
        assert transcript.outcome.agents_visited == (transcript.turns[0].agent,)
    finally:
        if call is not None and not call.done():
            call.cancel()
        if worker.returncode is None:
            worker.terminate()
            await worker.wait()
