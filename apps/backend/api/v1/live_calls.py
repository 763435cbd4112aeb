"""What the console lists (admin): the calls and browser sessions live right now on any replica, and ended
calls page by page with a search.

Both read the shared call index in Redis (`RedisCallStore.list_recent`, newest first), so every replica
answers the same. Live calls are the records not yet ended among the most recent `MAX_SCANNED`; callers'
numbers are masked (the console shows them to anyone looking over an operator's shoulder).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.calls.routing import count_claimed
from apps.backend.runtime import Runtime
from apps.backend.storage.call_cursor import InvalidCursor
from apps.backend.storage.call_store import (
    CallChannel,
    CallNotFound,
    CallRecord,
    CallStatus,
    CallSummary,
    utcnow,
)

router = APIRouter(tags=["console"], dependencies=[AdminDep])

PAGE = 100
MAX_SCANNED = 1000
"""Live calls are looked for among this many most recent calls (a call older than that is long over)."""
MAX_HISTORY_SCANNED = 500
"""One history request reads at most this many calls looking for matches, then hands back a cursor."""


def mask_number(number: str) -> str:
    """`+18005550123` -> `+1•••••••0123`: enough to tell two calls apart, not enough to call back."""
    digits = number.lstrip("+")
    if len(digits) <= 4:
        return "•" * len(digits)
    head = "+" + digits[0] if number.startswith("+") else digits[0]
    return head + "•" * (len(digits) - 5) + digits[-4:]


def current_agent(record: CallRecord, start_agent: str | None) -> str | None:
    """The agent the caller is talking to now, as the call record's events tell it."""
    for event in reversed(record.events):
        if event.type == "agent_changed" and event.detail and " -> " in event.detail:
            return event.detail.rsplit(" -> ", 1)[1]
        if event.type in ("agent_turn", "agent_cut_short") and event.detail and ":" in event.detail:
            return event.detail.split(":", 1)[0]
    return record.agent or start_agent


class LiveCall(BaseModel):
    call_id: str
    channel: CallChannel
    status: CallStatus
    scenario: str
    agent: str | None = Field(description="The agent the caller is talking to now.")
    caller: str = Field(description="Masked: country code and last four digits.")
    created_at: datetime
    connected_at: datetime | None = None
    duration_s: float = Field(description="Since connected (or since created, before that).")


class LiveCalls(BaseModel):
    calls: list[LiveCall]
    count: int


class HistoryPage(BaseModel):
    calls: list[CallSummary]
    next_cursor: str | None = None
    """Pass back as `cursor` to continue (the search goes on where it stopped)."""


def _start_agent(runtime: Runtime, scenario: str) -> str | None:
    spec = runtime.registry.current.scenarios.get(scenario)
    return spec.start_agent if spec is not None else None


def _live_call(runtime: Runtime, record: CallRecord, now: datetime) -> LiveCall:
    since = record.connected_at or record.media_started_at or record.created_at
    return LiveCall(
        call_id=record.call_id,
        channel=record.channel,
        status=record.status,
        scenario=record.scenario,
        agent=current_agent(record, _start_agent(runtime, record.scenario)),
        caller=mask_number(record.caller) if record.caller else "",
        created_at=record.created_at,
        connected_at=record.connected_at,
        duration_s=round(max(0.0, (now - since).total_seconds()), 1),
    )


class LiveMediaCount(BaseModel):
    live_media: int
    """Calls and browser sessions whose media a replica holds now, across every replica."""


@router.get("/live-calls/count")
async def live_calls_count(runtime: RuntimeDep) -> LiveMediaCount:
    """What the Azure scale rule reads (KEDA metrics-api, `valueLocation: live_media`): one number for the whole
    service, whichever replica answers."""
    return LiveMediaCount(live_media=await count_claimed(runtime.redis))


@router.get("/live-calls")
async def live_calls(runtime: RuntimeDep) -> LiveCalls:
    """Every call and browser session not yet ended, on any replica, newest first."""
    store = runtime.calls.store
    found: list[LiveCall] = []
    cursor: str | None = None
    scanned = 0
    now = utcnow()
    while scanned < MAX_SCANNED:
        page = await store.list_recent(limit=PAGE, cursor=cursor)
        scanned += len(page.calls)
        for summary in page.calls:
            if summary.status.is_final:
                continue
            try:
                record = await store.get(summary.call_id)
            except CallNotFound:
                continue  # expired between the two reads
            if not record.status.is_final:
                found.append(_live_call(runtime, record, now))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return LiveCalls(calls=found, count=len(found))


def _matches(summary: CallSummary, query: str) -> bool:
    haystack = " ".join(
        (summary.call_id, summary.scenario, summary.channel.value, summary.caller, summary.end_reason or "")
    ).lower()
    return all(word in haystack for word in query.lower().split())


@router.get("/call-history")
async def call_history(
    runtime: RuntimeDep,
    q: Annotated[
        str, Query(max_length=100, description="Words that must all appear (id, scenario, ...)")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> HistoryPage:
    """Ended calls, newest first, that match `q` (call id, scenario, channel, caller number, end reason)."""
    store = runtime.calls.store
    found: list[CallSummary] = []
    scanned = 0
    while len(found) < limit and scanned < MAX_HISTORY_SCANNED:
        try:
            page = await store.list_recent(limit=limit - len(found), cursor=cursor)
        except InvalidCursor as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        scanned += len(page.calls)
        found.extend(s for s in page.calls if s.status.is_final and _matches(s, q))
        cursor = page.next_cursor
        if cursor is None:
            break
    return HistoryPage(calls=found, next_cursor=cursor)
