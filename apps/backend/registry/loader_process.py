"""The registry load worker (`registries.load_worker`) as seen from the service: one child process, started
in the background once the service is up and kept warm, that loads the registry for a refresh and sends the
snapshot back packed (`registries.transfer`).

Loading in a thread made the event loop share the GIL with YAML parsing and validation for the whole load
(frames came late, and the load itself was slowed by the calls); in the child only the unpacking (a few ms
for a hundred agents, in a thread) touches this process. When the child cannot serve (it died, did not
start, timed out, or a tool module changed between its load and the unpacking) the load raises
`LoaderUnavailable` and the holder loads in a thread as before; the next load starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from registries.load_worker import HEADER_BYTES, WorkerReply
from registries.snapshot import RegistrySnapshot
from registries.transfer import unpack_snapshot
from registries.validation import RegistryError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
MAX_REPLY_BYTES = 256 * 1024 * 1024


class LoaderUnavailable(Exception):
    """The load worker could not load this time (the caller loads in this process instead)."""


@dataclass(frozen=True)
class ProcessLoad:
    snapshot: RegistrySnapshot
    worker_load_ms: float  # the child's own load (read, parse, validate, build)
    pack_ms: float
    unpack_ms: float


class RegistryLoaderProcess:
    def __init__(
        self,
        extra_dirs: Sequence[Path],
        *,
        start_timeout_s: float = 30.0,
        load_timeout_s: float = 30.0,
        python: str = sys.executable,
    ) -> None:
        self._dirs = [str(d) for d in extra_dirs]
        self._start_timeout_s = start_timeout_s
        self._load_timeout_s = load_timeout_s
        self._python = python
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None
        self._warm = False  # a load went through the current child (its imports and parse cache are done)
        self._closed = False

    @property
    def warm(self) -> bool:
        return self._warm

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def warm_up_in_background(self) -> None:
        """Start the child and load once (so its parse cache holds the current files), without waiting;
        loads go to the child once this is done."""
        if self._warming is None and not self._closed:
            self._warming = asyncio.create_task(self._warm_up(), name="registry-loader-warm-up")

    async def start(self) -> bool:
        """Warm the child up and wait for it; False when it could not start (loads stay in a thread)."""
        self.warm_up_in_background()
        if self._warming is not None:
            await asyncio.shield(self._warming)
        return self._warm

    async def _warm_up(self) -> None:
        try:
            await self._load()
            self._warm = True
        except RegistryError:  # an invalid registry on disk: the child works, and reports it the same way
            self._warm = True
        except LoaderUnavailable as exc:  # the next refresh starts another warm-up
            log.warning("registry load worker did not start", extra={"error": str(exc)[:500]})
        finally:
            self._warming = None

    async def load(self) -> ProcessLoad:
        """The registry as the child loads it. Raises RegistryError (every problem, as the loader reports
        them) for an invalid registry, LoaderUnavailable when the child cannot serve, or is not warm yet (a
        refresh never waits for a child to start: it loads in a thread meanwhile)."""
        if not self._warm:
            self.warm_up_in_background()
            raise LoaderUnavailable("the registry load worker is still starting")
        return await self._load()

    async def _load(self) -> ProcessLoad:
        async with self._lock:
            if self._closed:
                raise LoaderUnavailable("the registry load worker is closed")
            try:
                reply = await asyncio.wait_for(self._request(), self._load_timeout_s)
            except Exception as exc:  # the child died, hung, or spoke garbage: any of it means "not now"
                await self._stop_process()
                raise LoaderUnavailable(f"registry load worker failed: {type(exc).__name__}: {exc}") from exc
            except BaseException:
                self._kill()  # cancelled mid-request: its reply may still come, so never reuse this child
                raise
        if reply.kind == "invalid":
            raise RegistryError(reply.issues)
        started = time.perf_counter()
        try:
            snapshot = await asyncio.to_thread(unpack_snapshot, reply.packed)
        except Exception as exc:  # StaleTransfer (a tool file changed meanwhile), or anything unexpected
            raise LoaderUnavailable(f"cannot use the worker's snapshot: {type(exc).__name__}: {exc}") from exc
        return ProcessLoad(
            snapshot=snapshot,
            worker_load_ms=round(reply.load_ms + reply.pack_ms, 2),
            pack_ms=reply.pack_ms,
            unpack_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    async def _request(self) -> WorkerReply:
        process = await self._running()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"dirs": self._dirs}).encode() + b"\n")
        await process.stdin.drain()
        reply = await _read_reply(process.stdout)
        if reply.kind not in ("ok", "invalid"):
            raise EOFError(f"unexpected reply {reply.kind!r}")
        return reply

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        self._process = await asyncio.create_subprocess_exec(
            self._python,
            "-m",
            "registries.load_worker",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,  # the service's own stderr: a tool module's output and any crash show in its log
        )
        assert self._process.stdout is not None
        ready = await asyncio.wait_for(_read_reply(self._process.stdout), self._start_timeout_s)
        if ready.kind != "ready":
            raise EOFError(f"unexpected first reply {ready.kind!r}")
        return self._process

    async def _stop_process(self) -> None:
        self._warm = False
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def _kill(self) -> None:
        self._warm = False
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def close(self) -> None:
        self._closed = True
        warming = self._warming
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        await self._stop_process()


async def _read_reply(stream: asyncio.StreamReader) -> WorkerReply:
    size = int.from_bytes(await stream.readexactly(HEADER_BYTES), "big")
    if size > MAX_REPLY_BYTES:
        raise EOFError(f"reply of {size} bytes")
    reply = pickle.loads(await stream.readexactly(size))
    if not isinstance(reply, WorkerReply):
        raise EOFError(f"unexpected reply type {type(reply).__name__}")
    return reply
