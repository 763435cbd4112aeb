"""CallConversation state in Redis (`sb:session:{call_id}`), written behind the conversation.

`save` never waits for Redis: it keeps the latest state per call in memory and one writer task sends it (50 ms
after the first save it finds, the pending states of every call in one pipeline), retrying with exponential
backoff while Redis is away (a restart, a failover). Only the newest state of a call is worth writing, so a
backlog never grows beyond one entry per live call; whatever is pending when Redis returns is written then. A
worker that picks a call up later (after a restart) reads it back with `load`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from voice.session.conversation import ConversationState

log = logging.getLogger(__name__)

SESSION_KEY = "sb:session:{call_id}"
MAX_BACKOFF_S = 5.0
WRITE_GATHER_S = 0.05  # a state waits this long before it is sent, with whatever came meanwhile
WRITE_BATCH = 64  # calls' states per pipeline: one round trip for the calls that turned meanwhile


def session_key(call_id: str) -> str:
    return SESSION_KEY.format(call_id=call_id)


class RedisSessionStore:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int, first_backoff_s: float = 0.1) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._first_backoff_s = first_backoff_s
        self._pending: dict[str, ConversationState] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()  # set whenever nothing is pending
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.failed_writes = 0

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="session-store-writer")

    async def stop(self, *, flush_timeout_s: float = 2.0) -> None:
        """Try to write what is pending (bounded), then stop the writer."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), flush_timeout_s)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._pending:
            log.warning("session states not written at shutdown", extra={"calls": len(self._pending)})

    @property
    def pending(self) -> int:
        return len(self._pending)

    def save(self, state: ConversationState) -> None:
        """Queue the call's newest state (replacing an older one not yet written). Never blocks."""
        self._pending[state.call_id] = state
        self._idle.clear()
        self._wakeup.set()

    async def load(self, call_id: str) -> ConversationState | None:
        """The last written state, the pending one if it was not written yet, or None."""
        if call_id in self._pending:
            return self._pending[call_id]
        raw = await self._redis.get(session_key(call_id))
        return ConversationState.model_validate_json(raw) if raw else None

    async def _drained(self) -> None:
        await self._idle.wait()

    async def _write_loop(self) -> None:
        backoff = self._first_backoff_s
        while True:
            if not self._pending:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                # Gather: a turn saves its call's state several times in a few ms (only the last is written),
                # and other calls' saves join the same pipeline.
                await asyncio.sleep(WRITE_GATHER_S)
                continue
            batch = list(itertools.islice(self._pending.items(), WRITE_BATCH))
            try:
                pipe = self._redis.pipeline(transaction=False)
                for call_id, state in batch:
                    pipe.set(session_key(call_id), state.model_dump_json(), ex=self._ttl)
                await pipe.execute()
            except (RedisError, OSError) as exc:
                self.failed_writes += 1
                log.warning(
                    "session state write failed; retrying",
                    extra={"error_type": type(exc).__name__, "backoff_s": round(backoff, 2)},
                )
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            backoff = self._first_backoff_s
            for call_id, state in batch:
                if self._pending.get(call_id) is state:  # a newer state that arrived meanwhile stays queued
                    del self._pending[call_id]
