"""A finished call's recording (streamed Ogg Opus) and its post-call summary, for admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import StreamingResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.recordings.storage import MEDIA_TYPE, recording_name
from apps.backend.summaries.model import PostCallSummary
from apps.backend.summaries.service import summary_of

router = APIRouter(prefix="/calls", tags=["calls"])


async def _our_call_id(call_id: str, runtime: RuntimeDep) -> str:
    """Our call id for ours or ACS' connection id (Redis away: take it as ours)."""
    try:
        return await runtime.calls.store.resolve(call_id) or call_id
    except (RedisConnectionError, RedisTimeoutError):
        return call_id


@router.get(
    "/{call_id}/recording",
    dependencies=[AdminDep],
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "Ogg Opus: caller left, agent right."}},
)
async def get_recording(call_id: str, runtime: RuntimeDep) -> StreamingResponse:
    """The call's recording (its scenario's `recording:`): stereo Ogg Opus, caller left and agent right (what the
    caller heard), or mono with the caller only. 404 when the call has none (recording off, or not ended yet)."""
    resolved = await _our_call_id(call_id, runtime)
    try:
        name = recording_name(resolved)
    except ValueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no recording for this call") from exc
    recordings = runtime.calls.after_call.recordings
    size = await recordings.size(resolved) if recordings is not None else None
    if recordings is None or size is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no recording for this call")
    return StreamingResponse(
        recordings.stream(resolved),
        media_type=MEDIA_TYPE,
        headers={"content-length": str(size), "content-disposition": f'inline; filename="{name}"'},
    )


@router.get("/{call_id}/summary", dependencies=[AdminDep])
async def get_summary(call_id: str, runtime: RuntimeDep) -> PostCallSummary:
    """The post-call summary: summary, disposition, reason for calling, follow-ups, intake fields. 404 until the
    call has ended and been summarised."""
    resolved = await _our_call_id(call_id, runtime)
    transcript = await runtime.transcripts.get(resolved)
    summary = summary_of(transcript) if transcript is not None else None
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no summary for this call (yet)")
    return summary
