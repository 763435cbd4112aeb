"""Shared test plumbing: a real backend (uvicorn + lifespan, embedded Redis) wired to a real ACS simulator."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.serving import ServedApp
from apps.backend.app import create_app
from apps.backend.runtime import Runtime
from apps.backend.settings import Settings

ADMIN_KEY = "test-admin-key"
MEDIA_SECRET = "test-media-token-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    url: str
    settings: Settings
    served: ServedApp

    @property
    def runtime(self) -> Runtime:
        return self.served.app.state.runtime  # type: ignore[no-any-return]

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"x-api-key": ADMIN_KEY}, timeout=10)


def backend_settings(simulator: AcsSimulator, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "host": "127.0.0.1",
        "port": port,
        "acs_connection_string": simulator.connection_string,
        "acs_jwks_url": simulator.jwks_url,
        "acs_jwt_issuer": simulator.issuer,
        "acs_resource_id": simulator.resource_id,
        "event_grid_secret": simulator.event_grid_secret,
        "admin_api_key": ADMIN_KEY,
        "media_token_secret": MEDIA_SECRET,
        # One transcript file per backend, so tests never share (or leave behind) a database.
        "transcripts_db": Path(tempfile.mkdtemp(prefix="sb-transcripts-")) / "transcripts.sqlite3",
        # The e2e scripts were written against pocketsphinx's phrase model, which holds the scenario's digit
        # strings; Whisper tiny.en (the product default) misreads espeak's "four eight two one" as "four hundred
        # eighty two" often enough to make these behaviour tests a lottery. Its own tests:
        # tests/integration/test_whisper_stt.py, tests/unit/stt/test_final_pass.py and the eval.
        "local_stt_final": "pocketsphinx",
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_backend(simulator: AcsSimulator, **overrides: Any) -> AsyncIterator[Backend]:
    port = free_port()
    settings = backend_settings(simulator, port, **overrides)
    served = ServedApp(create_app(settings), port=port, lifespan="on")
    await served.start(timeout_s=30)
    try:
        yield Backend(url=f"http://127.0.0.1:{port}", settings=settings, served=served)
    finally:
        await served.stop()


async def eventually(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async or sync check until it returns something truthy (a hang guard, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class PipelineCount:
    opened: int = 0


@contextlib.contextmanager
def counting_pipelines(client: Any) -> Iterator[PipelineCount]:
    """Count the pipelines opened on a real Redis client (each one round trip when executed)."""
    count = PipelineCount()
    real_pipeline = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        count.opened += 1
        return real_pipeline(*args, **kwargs)

    client.pipeline = pipeline
    try:
        yield count
    finally:
        del client.pipeline  # back to the class's method
