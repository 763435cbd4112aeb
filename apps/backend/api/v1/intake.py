"""A call's completed intake (the structured result of its scenario's form), for admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.storage.call_store import CallNotFound
from apps.backend.storage.intake_result import IntakeResult, intake_in_transcript

router = APIRouter(prefix="/calls", tags=["calls"])


@router.get("/{call_id}/intake", dependencies=[AdminDep])
async def get_intake(call_id: str, runtime: RuntimeDep) -> IntakeResult:
    """The intake the call completed: from its record while it is kept, else from its transcript (where the
    intake tool's result is stored). 404 when the call completed none (yet, or ever: a red flag cut it short)."""
    resolved = call_id
    try:
        resolved = await runtime.calls.store.resolve(call_id) or call_id
        record = await runtime.calls.store.get(resolved)
        if record.intake is not None:
            return record.intake
    except (CallNotFound, RedisConnectionError, RedisTimeoutError):
        pass  # record expired or Redis away: the transcript has it too
    transcript = await runtime.transcripts.get(resolved)
    if transcript is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    found = intake_in_transcript(transcript)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this call has completed no intake")
    return found
