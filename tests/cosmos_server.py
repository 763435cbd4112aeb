"""A real Cosmos DB-protocol server for tests: npm `@vercel/cosmosdb-server`, run as a subprocess on loopback.

Installed by `make test` (`npm ci --prefix tools/cosmosdb-server`). It keeps everything in memory, so
`kill()` + `restart()` comes back on the same port with no databases at all: anything it had acknowledged is
gone. Tests that restart it therefore kill it before a write is acknowledged (that is the outage being tested).
It ignores the auth key, speaks plain http with `--no-ssl`, answers 500 for a missing document and has no
TTL, change feed or batch.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_JS = ROOT / "tools/cosmosdb-server/node_modules/@vercel/cosmosdb-server/lib/cli.js"
# The public emulator key: the SDK needs a well-formed base64 key, the server ignores it.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def unavailable_reason() -> str | None:
    """Why the server cannot run here (for pytest.skip), or None."""
    if shutil.which("node") is None:
        return "node is not installed (needed for @vercel/cosmosdb-server)"
    if not SERVER_JS.exists():
        return f"{SERVER_JS.relative_to(ROOT)} missing: run `npm ci --prefix tools/cosmosdb-server`"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CosmosServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, timeout: float = 15.0) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(SERVER_JS),
            "--no-ssl",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_accepting(timeout)

    async def _wait_accepting(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while True:
                if self._proc is not None and self._proc.returncode is not None:
                    raise RuntimeError(f"cosmosdb-server exited with {self._proc.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def kill(self) -> None:
        """SIGKILL: in-flight requests break, later ones are refused, all data is lost."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        self._proc = None

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    async def __aenter__(self) -> CosmosServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.kill()
