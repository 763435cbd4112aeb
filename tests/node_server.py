"""A node-based protocol server for tests (`tools/<name>/node_modules`, installed by `make test` with `npm ci`),
run as a subprocess on loopback and ready once its port accepts connections. `tests.cosmos_server` and
`tests.azurite_server` say which script and flags; starting, the ready probe and stopping are here."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_unavailable_reason(script: Path, package: str) -> str | None:
    """Why `script` cannot run here (for pytest.skip), or None. `script` lies in tools/<dir>/node_modules."""
    if shutil.which("node") is None:
        return f"node is not installed (needed for {package})"
    if not script.exists():
        tools_dir = script.relative_to(ROOT).parts[:2]
        return f"{script.relative_to(ROOT)} missing: run `npm ci --prefix {'/'.join(tools_dir)}`"
    return None


class NodeServer:
    """One node process serving on 127.0.0.1:`port`."""

    def __init__(self, name: str, script: Path, port: int | None = None) -> None:
        self.name = name
        self.script = script
        self.port = port or free_port()
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def spawn(self, args: list[str], timeout: float) -> None:
        """Start `node script *args` and wait until the port accepts a connection (RuntimeError if it exits)."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(self.script),
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(timeout):
            while True:
                if self._proc is not None and self._proc.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {self._proc.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def kill(self) -> None:
        """SIGKILL: in-flight requests break, later ones are refused."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        self._proc = None

    async def terminate(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `grace_s`."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                async with asyncio.timeout(grace_s):
                    await self._proc.wait()
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
