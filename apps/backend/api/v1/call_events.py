"""WS /api/v1/calls/{call_id}/events: a call's live events for dashboards, from whichever replica owns the call.

Admin only: the `x-api-key` header on the upgrade, or `?api_key=` (browsers cannot set upgrade headers).
A bad key or an unknown call closes with 1008 before anything is sent. Otherwise: a `snapshot`, then live
events (see `apps.backend.calls.live_events`), and a close 1000 shortly after the call's final status.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from apps.backend.calls.live_event_subscription import CallEventSubscription, SubscriptionLost
from apps.backend.calls.live_events import (
    SnapshotEvent,
    TranscriptChunk,
    TranscriptChunkEvent,
    encode,
    is_final,
)
from apps.backend.runtime import Runtime
from apps.backend.storage.call_store import CallNotFound, CallSummary

log = logging.getLogger(__name__)
router = APIRouter(prefix="/calls", tags=["calls"])

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
MAX_QUEUED_EVENTS = 256
"""Per dashboard: beyond this, events for a dashboard that reads too slowly are dropped (and counted)."""
FINAL_GRACE_S = 1.0
"""After the final status, keep forwarding this long: the last turn and media_ended often trail it."""


def _admin_key_ok(runtime: Runtime, websocket: WebSocket) -> bool:
    expected = runtime.settings.admin_api_key
    given = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key")
    if expected is None or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


async def _reject(websocket: WebSocket, reason: str) -> None:
    log.warning("call events socket rejected", extra={"reason": reason})
    await websocket.accept()  # accept first: a close frame carries the code and reason, a 403 would not
    await websocket.close(POLICY_VIOLATION, reason)


@router.websocket("/{call_id}/events")
async def call_events(websocket: WebSocket, call_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    if not _admin_key_ok(runtime, websocket):
        await _reject(websocket, "missing or wrong api key")
        return
    resolved = await runtime.calls.store.resolve(call_id)
    if resolved is None:
        await _reject(websocket, "no such call")
        return
    await websocket.accept()
    await serve_call_events(websocket, runtime, resolved)


async def serve_call_events(websocket: WebSocket, runtime: Runtime, resolved: str) -> None:
    """On an accepted, authorised socket: a call's snapshot, then its live events until it ends (close 1000)
    or the client leaves. Browser sessions' events socket is this too."""
    async with CallEventSubscription(runtime.redis, resolved, max_queued=MAX_QUEUED_EVENTS) as feed:
        try:
            # Subscribed before reading the record: anything published from here on reaches this socket.
            record = await runtime.calls.store.get(resolved)
        except CallNotFound:
            await websocket.close(POLICY_VIOLATION, "no such call")
            return
        transcript = await runtime.transcripts.get(resolved)  # None on a replica that never had the call
        turns = [TranscriptChunk.of(turn) for turn in transcript.turns] if transcript else []
        snapshot = SnapshotEvent(
            call_id=resolved, call=CallSummary.of(record), transcript=turns, intake=record.intake
        )
        try:
            await websocket.send_text(encode(snapshot))
            if record.status.is_final:
                await websocket.close(1000, "call has ended")
                return
            await _follow(websocket, feed, {turn.seq for turn in turns if turn.seq is not None})
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the dashboard went away
        finally:
            if feed.dropped:
                log.info("slow dashboard: live events dropped", extra={"dropped": feed.dropped})


async def _follow(websocket: WebSocket, feed: CallEventSubscription, seen: set[int]) -> None:
    """Forward events until the call ends (close 1000) or the dashboard leaves, whichever is first."""
    sender = asyncio.create_task(_send_until_final(websocket, feed, seen), name="call-events-send")
    leaving = asyncio.create_task(_until_client_leaves(websocket), name="call-events-receive")
    try:
        await asyncio.wait({sender, leaving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, leaving):
            task.cancel()
        results = await asyncio.gather(sender, leaving, return_exceptions=True)
    if isinstance(error := results[0], SubscriptionLost):
        log.warning("call events socket closing: subscription lost", extra={"error": str(error)})
        await _close(websocket, INTERNAL_ERROR, "event feed lost")


async def _send_until_final(websocket: WebSocket, feed: CallEventSubscription, seen: set[int]) -> None:
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        item = await feed.next(timeout)
        if item is None:  # the grace period after the final status is over
            break
        event, raw = item
        if isinstance(event, TranscriptChunkEvent) and event.seq is not None and event.seq in seen:
            continue  # already in the snapshot (published while we were reading it)
        await websocket.send_text(raw)
        if deadline is None and is_final(event):
            deadline = loop.time() + FINAL_GRACE_S
    await _close(websocket, 1000, "call has ended")


async def _until_client_leaves(websocket: WebSocket) -> None:
    """Dashboards only listen; read (and ignore) whatever they send, to notice when they go."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code, reason)
