"""Closing calls a dead process left open: run once at start-up, before this replica takes any media.

A worker killed mid-call (kill -9, OOM, power) writes no outcome. Its transcript store outlives it (the local
SQLite file, or the Cosmos spool), so the restarted process finds the transcripts it holds without an outcome.
A call is closed only while this replica holds its media slot (`CallRouter.claim`): a call whose media is live
on any replica sharing the Redis is left alone, and no socket can take it over while it is being closed. Its
transcript gets the outcome "worker lost" and its call record, when Redis still has it (an external Redis; the
embedded one died with the process), ends with the same reason.

Bounded: at most SWEEP_LIMIT calls per start, within SWEEP_BUDGET_SECONDS; what is left waits for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from redis.exceptions import RedisError

from apps.backend.calls.routing import CallRouter
from apps.backend.logging_setup import bound_call_id
from apps.backend.storage.call_store import CallNotFound, CallRecord, RedisCallStore
from voice.transcript import CallOutcome, CallTranscript, TranscriptStore, utcnow

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"
SWEEP_LIMIT = 500
SWEEP_BUDGET_SECONDS = 30.0


class SweepableTranscripts(TranscriptStore, Protocol):
    async def unfinished_calls(self, limit: int) -> list[str]:
        """Calls whose transcript this store holds without an outcome, oldest first."""
        ...


def worker_lost_outcome(transcript: CallTranscript) -> CallOutcome:
    """The outcome of a call whose worker died: as of its last recorded moment, with what it had visited."""
    times = [t.ended_at for t in transcript.turns]
    if transcript.started_at is not None:
        times.append(transcript.started_at)
    return CallOutcome(
        reason=WORKER_LOST,
        ended_at=max(times) if times else utcnow(),
        agents_visited=tuple(dict.fromkeys(t.agent for t in transcript.turns if t.agent)),
        tools_called=tuple(call.name for t in transcript.turns for call in t.tool_calls),
    )


async def close_abandoned_calls(
    transcripts: SweepableTranscripts,
    calls: RedisCallStore,
    router: CallRouter,
    *,
    limit: int = SWEEP_LIMIT,
    budget_s: float = SWEEP_BUDGET_SECONDS,
) -> int:
    """Close the calls left open by a dead worker; returns how many were closed. Never raises."""
    closed = 0
    try:
        async with asyncio.timeout(budget_s):
            for call_id in await transcripts.unfinished_calls(limit):
                with bound_call_id(call_id):
                    closed += await _close_if_abandoned(transcripts, calls, router, call_id)
    except TimeoutError:
        log.warning("abandoned-call sweep ran out of time; the rest waits for the next start")
    except (RedisError, OSError) as exc:  # cannot tell which calls are live elsewhere: close nothing more
        log.warning("abandoned-call sweep stopped", extra={"error_type": type(exc).__name__})
    except Exception:
        log.exception("abandoned-call sweep failed")
    if closed:
        log.info("closed calls left open by a dead worker", extra={"calls": closed})
    return closed


async def _close_if_abandoned(
    transcripts: SweepableTranscripts, calls: RedisCallStore, router: CallRouter, call_id: str
) -> int:
    if not await router.claim(call_id):
        return 0  # its media is live on some replica
    try:
        transcript = await transcripts.get(call_id)
        if transcript is None or transcript.outcome is not None:
            return 0  # finished elsewhere meanwhile (a shared store)
        await transcripts.end_call(call_id, worker_lost_outcome(transcript))
        await _end_record(calls, call_id)
        log.warning("call left open by a dead worker closed", extra={"turns": len(transcript.turns)})
        return 1
    except (RedisError, OSError):
        raise
    except Exception as exc:  # this call's store is unhappy (Cosmos away): leave it for the next start
        log.warning("could not close an abandoned call", extra={"error_type": type(exc).__name__})
        return 0
    finally:
        await router.release(call_id)


async def _end_record(calls: RedisCallStore, call_id: str) -> None:
    def mutate(record: CallRecord) -> None:
        if not record.status.is_final:
            record.add_event("worker_lost")
            record.end(WORKER_LOST)

    try:
        await calls.update(call_id, mutate)
    except CallNotFound:
        pass  # the embedded Redis died with the worker, and the record with it
