"""A durable local spool in front of a remote document store, so a transcript write is never lost.

Every write is committed to a local SQLite file first (the caller returns as soon as that commit is done), then a
flusher task upserts the spooled documents to the sink in spool order and deletes each one once the sink
acknowledged it. Sink down, throttled (429) or failing (5xx) -> the documents stay spooled, the flusher backs off
with jitter (honouring the server's retry-after) and retries; leftovers from a previous process are flushed on open.

Delivery is at-least-once (a crash between the sink's ack and the local delete re-sends), which is exactly-once
in effect because sinks upsert by document id. Order is kept per partition (one call): a partition's documents
are sent one after another and a failure stops that partition until the next round; partitions flush in parallel.

sqlite3 blocks, so every statement runs on one dedicated thread; that thread also serialises the
read-modify-write of per-partition state (`merge`), which is how a summary document is derived without races.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    partition TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    coalesce  INTEGER NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_doc ON ops(doc_id);
CREATE INDEX IF NOT EXISTS ops_partition ON ops(partition, id);
CREATE TABLE IF NOT EXISTS state (
    partition  TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead (
    id        INTEGER PRIMARY KEY,
    partition TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    body      TEXT NOT NULL,
    error     TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class SpooledDoc:
    partition: str
    doc_id: str
    body: dict[str, Any]
    coalesce: bool = False
    """A newer write of the same doc_id replaces an unsent older one (full-state documents like a summary)."""


Merge = Callable[[str | None], tuple[str, list[SpooledDoc]]]
"""Partition state (JSON, None the first time) -> new state and the documents it implies. Runs on the spool
thread inside the write's transaction, so it must be quick and must not touch the event loop."""


class SinkError(Exception):
    """A sink could not store a document. `permanent`: retrying cannot help (the document is dead-lettered)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class SpoolSink(Protocol):
    async def upsert(self, partition: str, body: dict[str, Any]) -> None:
        """Store (idempotently, by the body's id) or raise SinkError."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter; a server's retry-after is a floor, not a suggestion."""

    base: float = 0.2
    cap: float = 15.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        uniform: Callable[[float, float], float] = rng.uniform if rng is not None else random.uniform
        ceiling: float = min(self.cap, self.base * 2 ** max(0, attempt))  # int ** int is Any to mypy
        jittered = ceiling / 2 + uniform(0, ceiling / 2)
        if retry_after is not None and retry_after >= 0:
            # Never earlier than asked; a little spread so many writers don't come back in lockstep.
            return retry_after + uniform(0, min(self.base, retry_after / 10 + 0.01))
        return jittered


@dataclass
class _Op:
    id: int
    partition: str
    doc_id: str
    body: dict[str, Any]


@dataclass
class _RoundResult:
    acked: list[int] = field(default_factory=list)
    dead: list[tuple[_Op, str]] = field(default_factory=list)
    error: SinkError | None = None


class TranscriptSpool:
    def __init__(
        self,
        path: str | Path,
        sink: SpoolSink,
        *,
        backoff: Backoff | None = None,
        batch_size: int = 256,
        concurrency: int = 8,
        send_timeout: float = 10.0,
        state_retention: float = 24 * 3600.0,
        durable_fsync: bool = True,
        on_sent: Callable[[SpooledDoc], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._sink = sink
        self._backoff = backoff or Backoff()
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._send_timeout = send_timeout
        self._state_retention = state_retention
        self._fsync = durable_fsync
        self._on_sent = on_sent
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcript-spool")
        self._db: sqlite3.Connection | None = None
        self._pending = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._last_prune = float("-inf")
        self.failures = 0
        """Failed send rounds since open (for metrics)."""

    # lifecycle ------------------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._pending = await self._run(self._open)
        self._update_drained()
        self._wake.set()  # leftovers from a previous process go out first
        self._flusher = asyncio.create_task(self._flush_loop(), name="transcript-spool-flusher")

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed write survives power loss, not just a process crash.
        db.execute(f"PRAGMA synchronous={'FULL' if self._fsync else 'NORMAL'}")
        db.executescript(_SCHEMA)
        self._db = db
        (count,) = db.execute("SELECT COUNT(*) FROM ops").fetchone()
        return int(count)

    async def close(self) -> None:
        """Stop flushing and close the file; whatever is still spooled is sent by the next open()."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def flush(self, timeout: float) -> bool:
        """Wait until the spool is empty (True) or `timeout` seconds passed (False)."""
        self._wake.set()
        try:
            async with asyncio.timeout(timeout):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    def pending(self) -> int:
        """Documents spooled but not yet acknowledged by the sink."""
        return self._pending

    # writes ----------------------------------------------------------------------------------------------------

    async def write(
        self, partition: str, docs: Sequence[SpooledDoc] = (), *, merge: Merge | None = None
    ) -> None:
        """Durably spool `docs` (and whatever `merge` derives from the partition's state) in one transaction."""
        added = await self._run(self._write, partition, list(docs), merge)
        self._pending += added
        self._update_drained()
        self._wake.set()

    def _write(self, partition: str, docs: list[SpooledDoc], merge: Merge | None) -> int:
        db = self._conn()
        added = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            if merge is not None:
                row = db.execute("SELECT body FROM state WHERE partition = ?", (partition,)).fetchone()
                state, derived = merge(row[0] if row else None)
                db.execute(
                    "INSERT INTO state(partition, body, updated_at) VALUES (?, ?, ?) ON CONFLICT(partition) "
                    "DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                    (partition, state, time.time()),
                )
                docs = docs + derived
            for doc in docs:
                if doc.coalesce:
                    added -= db.execute(
                        "DELETE FROM ops WHERE doc_id = ? AND coalesce = 1", (doc.doc_id,)
                    ).rowcount
                db.execute(
                    "INSERT INTO ops(partition, doc_id, coalesce, body) VALUES (?, ?, ?, ?)",
                    (
                        doc.partition,
                        doc.doc_id,
                        int(doc.coalesce),
                        json.dumps(doc.body, separators=(",", ":")),
                    ),
                )
                added += 1
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added

    # reads (for read-your-writes overlays) -----------------------------------------------------------------

    async def pending_docs(self, partition: str) -> list[dict[str, Any]]:
        """The partition's unsent documents, oldest first."""

        def read() -> list[dict[str, Any]]:
            rows = self._conn().execute("SELECT body FROM ops WHERE partition = ? ORDER BY id", (partition,))
            return [json.loads(body) for (body,) in rows]

        return await self._run(read)

    async def state(self, partition: str) -> str | None:
        def read() -> str | None:
            row = self._conn().execute("SELECT body FROM state WHERE partition = ?", (partition,)).fetchone()
            return row[0] if row else None

        return await self._run(read)

    async def partitions_without(self, field: str, limit: int) -> list[str]:
        """Partitions whose state has no top-level `field` (absent or null), least recently written first."""
        sql = "SELECT partition FROM state WHERE json_extract(body, ?) IS NULL ORDER BY updated_at LIMIT ?"
        rows = await self._run(lambda: self._conn().execute(sql, (f"$.{field}", limit)).fetchall())
        return [partition for (partition,) in rows]

    async def dead_letters(self) -> int:
        return await self._run(lambda: int(self._conn().execute("SELECT COUNT(*) FROM dead").fetchone()[0]))

    # flushing -------------------------------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        attempt = 0
        while True:
            self._wake.clear()
            ops = await self._run(self._fetch)
            if not ops:
                if time.monotonic() - self._last_prune > 60.0:
                    self._last_prune = time.monotonic()
                    await self._run(self._prune_state)
                await self._wake.wait()
                continue
            error = await self._send_round(ops)
            if error is None:
                attempt = 0
                continue
            self.failures += 1
            delay = self._backoff.delay(attempt, error.retry_after)
            attempt += 1
            log.warning(
                "transcript spool: sink unavailable, retrying",
                extra={"error": str(error)[:200], "pending": self._pending, "retry_in_s": round(delay, 3)},
            )
            await asyncio.sleep(delay)

    def _fetch(self) -> list[_Op]:
        rows = self._conn().execute(
            "SELECT id, partition, doc_id, body FROM ops ORDER BY id LIMIT ?", (self._batch_size,)
        )
        return [_Op(id, partition, doc_id, json.loads(body)) for id, partition, doc_id, body in rows]

    async def _send_round(self, ops: list[_Op]) -> SinkError | None:
        by_partition: dict[str, list[_Op]] = {}
        for op in ops:
            by_partition.setdefault(op.partition, []).append(op)
        gate = asyncio.Semaphore(self._concurrency)

        async def send_partition(chain: list[_Op]) -> _RoundResult:
            result = _RoundResult()
            async with gate:
                for op in chain:
                    try:
                        async with asyncio.timeout(self._send_timeout):
                            await self._sink.upsert(op.partition, op.body)
                    except TimeoutError:
                        result.error = SinkError("sink timed out")
                        return result
                    except SinkError as exc:
                        if not exc.permanent:
                            result.error = exc
                            return result  # keep this call's order: nothing after a failed doc goes out
                        result.dead.append((op, str(exc)))
                        continue
                    result.acked.append(op.id)
                    if self._on_sent is not None:
                        self._on_sent(SpooledDoc(op.partition, op.doc_id, op.body))
            return result

        results = await asyncio.gather(*(send_partition(chain) for chain in by_partition.values()))
        acked = [i for r in results for i in r.acked]
        dead = [d for r in results for d in r.dead]
        removed = await self._run(self._settle, acked, dead)
        self._pending -= removed
        self._update_drained()
        errors = [r.error for r in results if r.error is not None]
        if not errors:
            return None
        # The longest retry-after wins: it's the server telling us how long it needs.
        waits = [e.retry_after for e in errors if e.retry_after is not None]
        return SinkError(str(errors[0]), retry_after=max(waits) if waits else None)

    def _settle(self, acked: list[int], dead: list[tuple[_Op, str]]) -> int:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            removed = 0
            for op, error in dead:
                log.error("transcript spool: document rejected, dead-lettered", extra={"doc_id": op.doc_id})
                db.execute(
                    "INSERT OR REPLACE INTO dead(id, partition, doc_id, body, error, failed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (op.id, op.partition, op.doc_id, json.dumps(op.body), error[:500], time.time()),
                )
                acked = [*acked, op.id]
            for start in range(0, len(acked), 500):
                chunk = acked[start : start + 500]
                marks = ",".join("?" * len(chunk))
                # rowcount, not len: a coalesced write may already have deleted an in-flight op.
                removed += db.execute(f"DELETE FROM ops WHERE id IN ({marks})", chunk).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return removed

    def _prune_state(self) -> None:
        # Partition state must outlive the call long enough that a late retry still merges into the full summary.
        self._conn().execute(
            "DELETE FROM state WHERE updated_at < ? AND partition NOT IN (SELECT partition FROM ops)",
            (time.time() - self._state_retention,),
        )

    # plumbing -------------------------------------------------------------------------------------------------

    def _update_drained(self) -> None:
        if self._pending <= 0:
            self._drained.set()
        else:
            self._drained.clear()

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("TranscriptSpool is not open")
        return self._db
