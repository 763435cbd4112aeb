"""Writes one call's transcript in order, off the conversation's path.

Orchestrators hand turns over with a non-blocking `add`; one task per call writes them in order with a few
retries, so storage latency (or a short outage) never delays what the caller hears. A durable spool for long
outages belongs to the store (see the Cosmos store), not here. Drafts of the reply in progress go through the same
queue, so a draft is never written after the turn that supersedes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from voice.transcript import CallOutcome, TranscriptStore, TranscriptTurn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Draft:
    turn: TranscriptTurn | None  # None: clear the call's draft


class TranscriptWriter:
    def __init__(
        self,
        store: TranscriptStore,
        *,
        call_id: str,
        caller: str | None,
        scenario: str | None,
        started_at: datetime,
        attempts: int = 3,
    ) -> None:
        self._store = store
        self._call_id = call_id
        self._caller = caller
        self._scenario = scenario
        self._started_at = started_at
        self._attempts = attempts
        self._queue: asyncio.Queue[TranscriptTurn | _Draft | CallOutcome | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"transcript:{self._call_id}")

    def add(self, turn: TranscriptTurn) -> None:
        self._queue.put_nowait(turn)

    def draft(self, turn: TranscriptTurn | None) -> None:
        """The agent reply in progress (None: it ended without a turn). The caller rate-limits these."""
        self._queue.put_nowait(_Draft(turn))

    async def close(self, outcome: CallOutcome, *, timeout_s: float = 5.0) -> None:
        """Record the outcome and wait (bounded) until everything queued is written."""
        if self._task is None:
            return
        self._queue.put_nowait(outcome)
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout_s)
        except TimeoutError:
            log.error("transcript writer did not drain in time; turns may be missing")
            self._task.cancel()

    async def _run(self) -> None:
        store = self._store
        await self._retrying(
            lambda: store.start_call(
                self._call_id, caller=self._caller, scenario=self._scenario, started_at=self._started_at
            ),
            "start_call",
        )
        while (item := await self._queue.get()) is not None:
            if isinstance(item, TranscriptTurn):
                await self._retrying(functools.partial(store.append_turn, item), "append_turn")
            elif isinstance(item, _Draft):
                await self._draft(item.turn)
            else:
                await self._retrying(functools.partial(store.end_call, self._call_id, item), "end_call")

    async def _draft(self, turn: TranscriptTurn | None) -> None:
        # One attempt: a newer draft (or the real turn) follows soon, and retries would delay the turns behind.
        try:
            if turn is None:
                await self._store.clear_draft(self._call_id)
            else:
                await self._store.save_draft(turn)
        except Exception as exc:
            log.warning("transcript draft not written", extra={"error_type": type(exc).__name__})

    async def _retrying(self, operation: Callable[[], Awaitable[None]], what: str) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await operation()
                return
            except Exception as exc:
                log.warning(
                    "transcript write failed",
                    extra={"op": what, "attempt": attempt, "error_type": type(exc).__name__},
                )
                await asyncio.sleep(0.2 * attempt)
        log.error("transcript write gave up", extra={"op": what})
