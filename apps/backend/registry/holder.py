"""The live registry snapshot of this replica, and the safe way to replace it.

A refresh loads into a new immutable snapshot off the event loop (in the registry load worker process when
one is attached, else in a thread), validates it, and swaps one reference:
readers either see the old snapshot or the new one, never a mix. Calls pin the snapshot they started
with (`pin`), so an agent edited or removed mid-call does not change under a live caller.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from apps.backend.registry.loader_process import LoaderUnavailable, ProcessLoad, RegistryLoaderProcess
from registries.loader import RegistryError, RegistryIssue, RegistrySnapshot, load_registry

log = logging.getLogger(__name__)

MAX_PINNED_CALLS = 10_000


class RefreshOutcome(BaseModel):
    version: str
    previous_version: str
    changed: dict[str, dict[str, list[str]]]
    swap_ms: float
    load_ms: float  # everything before the swap: load (wherever it ran), unpacking, preparing
    loaded_in: Literal["process", "thread"] = "thread"
    worker_load_ms: float | None = None  # the load worker's own read + parse + validate + build
    unpack_ms: float | None = None  # rebuilding the worker's snapshot here


def _load_in_worker(loader: Callable[[], RegistrySnapshot]) -> RegistrySnapshot:
    """`loader()`, run in a worker thread. Signals are handled on the main thread only, so a SystemExit or
    KeyboardInterrupt coming out of here was raised by code the load ran (tool discovery reports those
    itself): a broken registry, not a stop of this process, and it must not reach the event loop as one."""
    try:
        return loader()
    except Exception:
        raise
    except BaseException as exc:
        issue = RegistryIssue("<registry>", None, None, f"loading raised {type(exc).__name__}: {exc}")
        raise RegistryError([issue]) from exc


class RegistryHolder:
    def __init__(self, snapshot: RegistrySnapshot, loader: Callable[[], RegistrySnapshot]) -> None:
        self._current = snapshot
        self._loader = loader
        self._pinned: OrderedDict[str, RegistrySnapshot] = OrderedDict()
        self._refresh_lock = asyncio.Lock()
        self._preparers: list[Callable[[RegistrySnapshot], Awaitable[None]]] = []
        self._process: RegistryLoaderProcess | None = None

    def load_in(self, process: RegistryLoaderProcess) -> None:
        """Load refreshes in `process` (which must load what this holder's loader loads); a thread remains
        the fallback whenever the process cannot serve."""
        self._process = process

    @classmethod
    def from_dirs(cls, extra_dirs: list[Path]) -> RegistryHolder:
        def loader() -> RegistrySnapshot:
            return load_registry(extra_dirs or None)

        return cls(loader(), loader)

    @property
    def current(self) -> RegistrySnapshot:
        return self._current

    def pin(self, call_id: str) -> RegistrySnapshot:
        """The snapshot `call_id` uses for its whole life (the current one at its first ask)."""
        snapshot = self._pinned.get(call_id)
        if snapshot is None:
            snapshot = self._pinned[call_id] = self._current
            while len(self._pinned) > MAX_PINNED_CALLS:  # a leak guard, far above live calls per replica
                self._pinned.popitem(last=False)
        return snapshot

    def add_preparer(self, prepare: Callable[[RegistrySnapshot], Awaitable[None]]) -> None:
        """Run `prepare` on every newly loaded snapshot before it goes live (e.g. build the recogniser's
        phrase models), so the first call on a new registry does not pay for it. Failures are logged."""
        self._preparers.append(prepare)

    async def prepare(self, snapshot: RegistrySnapshot) -> None:
        for prepare in self._preparers:
            try:
                await prepare(snapshot)
            except Exception:
                log.exception("preparing the registry snapshot failed; calls will prepare lazily")

    def release(self, call_id: str) -> None:
        self._pinned.pop(call_id, None)

    async def refresh(self) -> RefreshOutcome:
        """Reload from disk; raises the loader's RegistryError (nothing changes) when the files are invalid."""
        async with self._refresh_lock:
            started = time.perf_counter()
            new, via = await self._load()
            await self.prepare(new)
            loaded = time.perf_counter()
            previous, self._current = self._current, new
            swapped = time.perf_counter()
            gc.freeze()  # the new snapshot is long-lived: keep full collections from walking it mid-call
            diff = new.diff(previous)
            outcome = RefreshOutcome(
                version=new.version,
                previous_version=previous.version,
                changed=diff.as_dict(),
                load_ms=round((loaded - started) * 1000, 2),
                swap_ms=round((swapped - loaded) * 1000, 3),
                loaded_in="thread" if via is None else "process",
                worker_load_ms=None if via is None else via.worker_load_ms,
                unpack_ms=None if via is None else via.unpack_ms,
            )
            log.info("registry refreshed", extra=outcome.model_dump(exclude={"changed"}))
            return outcome

    async def _load(self) -> tuple[RegistrySnapshot, ProcessLoad | None]:
        """The new snapshot, and how the load worker made it (None: loaded in a thread here)."""
        if self._process is not None:
            try:
                done = await self._process.load()
            except LoaderUnavailable as exc:
                log.warning(
                    "registry load worker unavailable; loading in a thread", extra={"error": str(exc)}
                )
            else:
                return done.snapshot, done
        return await asyncio.to_thread(_load_in_worker, self._loader), None
