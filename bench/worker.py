"""Start the ACS simulator in this process and the real backend (`bench.server`) as a separate worker process.

The backend gets its own process (and, with `cpu=`, its own core) so what the benchmark measures is the
service, not the simulated callers sharing its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from apps.acs_simulator.server import AcsSimulator
from tests.support import free_port

ADMIN_KEY = "bench-admin-key"
MEDIA_SECRET = "bench-media-token-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    url: str
    pid: int
    log_path: Path
    simulator: AcsSimulator
    status_file: Path | None = None
    """WORKERS > 1: the supervisor's WORKER_STATUS_FILE (each worker's private port, for its /metrics)."""

    def admin(self, timeout: float = 30.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"x-api-key": ADMIN_KEY}, timeout=timeout)


@contextlib.asynccontextmanager
async def running_worker(
    providers: str,
    *,
    cpu: int | None = None,
    env: Mapping[str, str] | None = None,
    start_timeout_s: float = 90.0,
) -> AsyncIterator[Worker]:
    """Simulator (here) + backend worker (subprocess) on loopback; both stopped on exit."""
    async with AcsSimulator(port=free_port()) as simulator:
        port = free_port()
        scratch = Path(tempfile.mkdtemp(prefix="sb-bench-"))
        worker_env = {
            **os.environ,
            "PORT": str(port),
            "ACS_CONNECTION_STRING": simulator.connection_string,
            "ACS_JWKS_URL": simulator.jwks_url,
            "ACS_JWT_ISSUER": simulator.issuer,
            "ACS_RESOURCE_ID": simulator.resource_id,
            "EVENT_GRID_SECRET": simulator.event_grid_secret or "",
            "ADMIN_API_KEY": ADMIN_KEY,
            "MEDIA_TOKEN_SECRET": MEDIA_SECRET,
            "TRANSCRIPTS_DB": str(scratch / "transcripts.sqlite3"),
            "LOG_LEVEL": "WARNING",
            "WORKER_STATUS_FILE": str(scratch / "workers.json"),
            "TRANSCRIPT_SPOOL_PATH": str(scratch / "transcript-spool.db"),
            **(env or {}),
        }
        worker_env.pop("REDIS_URL", None)  # each worker runs its own embedded Redis
        command = [sys.executable, "-m", "bench.server", "--providers", providers]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        log_path = scratch / "worker.log"
        log_file = await asyncio.to_thread(log_path.open, "wb")
        with log_file:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=worker_env, stdout=log_file, stderr=asyncio.subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_ready(url, process, log_path, start_timeout_s)
            status_file = scratch / "workers.json"
            if int(worker_env.get("WORKERS", "1")) > 1:
                await _wait_for_file(status_file, process, log_path, start_timeout_s)
            yield Worker(
                url=url,
                pid=process.pid,
                log_path=log_path,
                simulator=simulator,
                status_file=status_file if status_file.exists() else None,
            )
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _wait_ready(
    url: str, process: asyncio.subprocess.Process, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"bench worker exited ({process.returncode}):\n{await _tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/api/v1/readiness")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"bench worker not ready after {timeout_s}s:\n{await _tail(log_path)}")


async def _wait_for_file(
    path: Path, process: asyncio.subprocess.Process, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(path.exists):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"bench workers did not report their ports:\n{await _tail(log_path)}")
        await asyncio.sleep(0.2)


async def _tail(path: Path, chars: int = 3000) -> str:
    return (await asyncio.to_thread(path.read_text, errors="replace"))[-chars:]
