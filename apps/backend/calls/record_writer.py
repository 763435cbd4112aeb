"""One call's record updates, written behind the call so the caller never waits on Redis.

`submit` only appends a mutation to a bounded in-memory queue; a task owned by the writer (started on demand,
gone when the queue is empty) applies everything queued, in order, in one optimistic transaction, and retries
with exponential backoff while Redis is away or hung. When the queue is full the oldest plain event is dropped
(and counted): the record keeps only its last `MAX_EVENTS_PER_CALL` events anyway, and state changes such as
media started/ended are kept over events. `close` flushes for a bounded time when the call ends, then cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from apps.backend.storage.call_store import (
    MAX_EVENTS_PER_CALL,
    CallNotFound,
    CallRecord,
    KnownRecord,
    RedisCallStore,
)

log = logging.getLogger(__name__)

MAX_PENDING = MAX_EVENTS_PER_CALL
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0

Mutation = Callable[[CallRecord], None]
AfterWrite = Callable[[CallRecord], None]


@dataclass(frozen=True, slots=True, eq=False)  # queued updates are removed by identity
class _Update:
    mutate: Mutation
    then: AfterWrite | None
    keep: bool  # a state change, dropped only when nothing but state changes is queued


class CallRecordWriter:
    def __init__(
        self,
        store: RedisCallStore,
        call_id: str,
        *,
        max_pending: int = MAX_PENDING,
        on_drop: Callable[[], None] | None = None,
        first_backoff_s: float = FIRST_BACKOFF_S,
    ) -> None:
        self._store = store
        self._call_id = call_id
        self._max_pending = max_pending
        self._on_drop = on_drop
        self._first_backoff_s = first_backoff_s
        self._queue: deque[_Update] = deque()
        self._in_flight: list[_Update] = []
        self._task: asyncio.Task[None] | None = None
        self._known: KnownRecord | None = None  # the record as last written here: the next update's start
        self._closed = False
        self._closing = asyncio.Event()  # cuts a backoff short: the final flush tries at once
        self.dropped = 0
        self.failed_writes = 0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, mutate: Mutation, *, then: AfterWrite | None = None, keep: bool = False) -> None:
        """Queue `mutate` for the call's record; `then` runs with the written record. Never blocks."""
        if self._closed:
            self._drop("call record update after the call ended")
            return
        self._queue.append(_Update(mutate, then, keep))
        self._trim()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name=f"call-record-writer:{self._call_id}"
            )

    async def close(self, timeout_s: float) -> None:
        """Write what is queued (for at most `timeout_s`), then stop; what is left is logged and dropped."""
        self._closed = True
        self._closing.set()
        task = self._task
        try:
            if task is not None and not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), timeout_s)
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop at once (the call is gone); queued updates are dropped."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        lost = len(self._queue) + len(self._in_flight)
        if lost:
            log.warning(
                "call record updates not written: redis unavailable at the end of the call",
                extra={"updates": lost},
            )
            for _ in range(lost):
                self._count_drop()
        self._queue.clear()
        self._in_flight = []

    def _trim(self) -> None:
        while len(self._queue) > self._max_pending:
            victim = next((u for u in self._queue if not u.keep), self._queue[0])
            self._queue.remove(victim)
            self._drop("call record event dropped: redis is not keeping up")

    def _drop(self, message: str) -> None:
        self._count_drop()
        if self.dropped % 50 == 1:
            log.warning(message, extra={"dropped": self.dropped})

    def _count_drop(self) -> None:
        self.dropped += 1
        if self._on_drop is not None:
            self._on_drop()

    async def _drain(self) -> None:
        backoff = self._first_backoff_s
        while self._queue:
            batch = self._in_flight = list(self._queue)
            self._queue.clear()
            try:
                record, self._known = await self._store.update_from(
                    self._call_id, functools.partial(_apply, batch), self._known
                )
            except CallNotFound:
                self._in_flight = []
                self._known = None
                log.warning("call record vanished (TTL, or redis lost its data); updates dropped")
                for _ in batch:
                    self._count_drop()
                continue
            except (RedisError, OSError) as exc:
                self._in_flight = []
                self._known = None  # it may or may not have been written: read it back next time
                # Put the batch back in front of anything queued meanwhile, keeping the order.
                self._queue.extendleft(reversed(batch))
                self._trim()
                self.failed_writes += 1
                log.warning(
                    "call record update failed; retrying",
                    extra={"error_type": type(exc).__name__, "backoff_s": round(backoff, 2)},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), backoff * random.uniform(0.8, 1.2))
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            except Exception:  # e.g. write contention: this batch is lost, the writer goes on
                self._in_flight = []
                self._known = None  # its record may hold the lost batch: read the stored one next time
                log.exception("call record update failed; updates dropped")
                for _ in batch:
                    self._count_drop()
                continue
            self._in_flight = []
            backoff = self._first_backoff_s
            for update in batch:
                if update.then is not None:
                    try:
                        update.then(record)
                    except Exception:
                        log.exception("after a call record update")


def _apply(batch: list[_Update], record: CallRecord) -> None:
    for update in batch:
        try:
            update.mutate(record)
        except Exception:  # a bug in one update must not cost the others (or stop the writer)
            log.exception("call record update skipped")
