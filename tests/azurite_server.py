"""A real Azure Blob Storage-protocol server for tests: npm `azurite` (blob service only, in memory), run as a
subprocess on loopback. Installed by `make test` (`npm ci --prefix tools/azurite`)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AZURITE_BLOB_JS = ROOT / "tools/azurite/node_modules/azurite/dist/src/blob/main.js"
ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development account key (public; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def unavailable_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (needed for azurite)"
    if not AZURITE_BLOB_JS.exists():
        return f"{AZURITE_BLOB_JS.relative_to(ROOT)} missing: run `npm ci --prefix tools/azurite`"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AzuriteBlobServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    async def __aenter__(self) -> AzuriteBlobServer:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(AZURITE_BLOB_JS),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(20):
            while True:
                if self._proc.returncode is not None:
                    raise RuntimeError(f"azurite exited with {self._proc.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                async with asyncio.timeout(5):
                    await self._proc.wait()
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
