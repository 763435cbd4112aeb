"""A backend replica as its own `switchboard serve` process (the tests that kill and restart one), on a port of
its own, configured to take the ACS simulator's calls."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from apps.acs_simulator.server import AcsSimulator
from tests.support import ADMIN_KEY, MEDIA_SECRET, eventually


def serve_env(simulator: AcsSimulator, *, port: int, transcripts_db: Path, **extra: str) -> dict[str, str]:
    """This environment, plus the settings a replica on `port` needs for `simulator`'s calls; `extra` last."""
    return {
        **os.environ,
        "PORT": str(port),
        "ACS_CONNECTION_STRING": simulator.connection_string,
        "ACS_JWKS_URL": simulator.jwks_url,
        "ACS_JWT_ISSUER": simulator.issuer,
        "ACS_RESOURCE_ID": simulator.resource_id,
        "ADMIN_API_KEY": ADMIN_KEY,
        "MEDIA_TOKEN_SECRET": MEDIA_SECRET,
        "TRANSCRIPTS_DB": str(transcripts_db),
        "LOG_FORMAT": "json",
        **extra,
    }


async def start_serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`switchboard serve` (as `python -m apps.backend.cli serve`), its output discarded."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.backend.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def wait_ready(url: str, timeout: float = 60) -> None:
    """Until the replica at `url` answers its readiness probe with 200."""

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                return (await client.get("/api/v1/readiness")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, timeout=timeout)


async def stop_serve(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (a graceful stop) if it still runs, and wait for it."""
    if process.returncode is None:
        process.terminate()
        await process.wait()
