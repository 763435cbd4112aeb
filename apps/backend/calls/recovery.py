"""Closing calls a dead process left open: run once at start-up, before this replica takes any media.

A worker killed mid-call (kill -9, OOM, power) writes no outcome. Its transcript store outlives it (the local
SQLite file, or the Cosmos spool), so the restarted process finds the transcripts it holds without an outcome.
A call is closed only while this replica holds its media slot (`CallRouter.claim`): a call whose media is live
on any replica sharing the Redis is left alone, and no socket can take it over while it is being closed. The
reply that was being spoken (the store's draft of it) becomes the transcript's last turn, marked cut short; the
transcript gets the outcome "worker lost"; and the call record ends with the same reason. When Redis lost the
record (the embedded Redis died with the process), a minimal ended one is made again from the transcript, so the
calls list and the call's page still show the call and how it ended.

Bounded: at most SWEEP_LIMIT calls per start, within SWEEP_BUDGET_SECONDS; what is left waits for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from redis.exceptions import RedisError

from apps.backend.calls.routing import CallRouter
from apps.backend.logging_setup import bound_call_id
from apps.backend.storage.call_store import (
    CallDirection,
    CallNotFound,
    CallRecord,
    CallStatus,
    RedisCallStore,
)
from voice.transcript import CallOutcome, CallTranscript, TranscriptStore, TranscriptTurn, utcnow

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"
SWEEP_LIMIT = 500
SWEEP_BUDGET_SECONDS = 30.0


class SweepableTranscripts(TranscriptStore, Protocol):
    async def unfinished_calls(self, limit: int) -> list[str]:
        """Calls whose transcript this store holds without an outcome, oldest first."""
        ...

    async def draft(self, call_id: str) -> TranscriptTurn | None:
        """The call's agent reply in progress, if one was saved and not superseded by its turn."""
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
        draft = await transcripts.draft(call_id)
        if draft is not None:  # the reply being spoken when the worker died (its text as the draft has it)
            await transcripts.append_turn(draft)
            transcript = await transcripts.get(call_id) or transcript
        await transcripts.end_call(call_id, worker_lost_outcome(transcript))
        await _end_record(calls, transcript)
        log.warning("call left open by a dead worker closed", extra={"turns": len(transcript.turns)})
        return 1
    except (RedisError, OSError):
        raise
    except Exception as exc:  # this call's store is unhappy (Cosmos away): leave it for the next start
        log.warning("could not close an abandoned call", extra={"error_type": type(exc).__name__})
        return 0
    finally:
        await router.release(call_id)


async def _end_record(calls: RedisCallStore, transcript: CallTranscript) -> None:
    def mutate(record: CallRecord) -> None:
        if not record.status.is_final:
            record.add_event("worker_lost")
            record.end(WORKER_LOST)

    try:
        await calls.update(transcript.call_id, mutate)
    except CallNotFound:  # the embedded Redis died with the worker, and the record with it
        try:
            await calls.create(lost_record(transcript))
        except ValueError:  # made meanwhile (a replica saw the call again): end that one
            await calls.update(transcript.call_id, mutate)


def lost_record(transcript: CallTranscript) -> CallRecord:
    """The call record again, as far as the transcript knows it: who called, the scenario, when, how it ended.
    Direction, callee and ACS ids died with the old record (inbound is the guess: most calls are)."""
    ended = worker_lost_outcome(transcript)
    record = CallRecord(
        call_id=transcript.call_id,
        direction=CallDirection.INBOUND,
        caller=transcript.caller or "",
        scenario=transcript.scenario or "",
        created_at=transcript.started_at or ended.ended_at,
        status=CallStatus.ENDED,
        ended_at=ended.ended_at,
        end_reason=WORKER_LOST,
    )
    record.add_event("worker_lost", "call record made again from the transcript", at=ended.ended_at)
    return record
