"""What calls and sessions cost: `GET /calls/{id}/cost`, `GET /sessions/{id}/cost`, `GET /costs/daily`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.calls.cost import CostDocument, CostTotals, cost_document, daily_totals
from apps.backend.storage.call_store import CallNotFound, CallRecord

router = APIRouter(tags=["costs"])

MAX_CALLS_IN_TOTALS = 5000
"""Calls read for the daily totals (newest first); beyond it the answer says `truncated`."""
PAGE = 200


async def _record(runtime: RuntimeDep, any_id: str, what: str) -> CallRecord:
    resolved = await runtime.calls.store.resolve(any_id)
    if resolved is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")
    try:
        return await runtime.calls.store.get(resolved)
    except CallNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}") from exc


@router.get("/calls/{call_id}/cost", dependencies=[AdminDep])
async def call_cost(call_id: str, runtime: RuntimeDep) -> CostDocument:
    """A call's usage (by provider, model and agent) priced by the table in force. While the call runs, the
    usage written so far (after each agent turn); final once the call has ended."""
    return cost_document(await _record(runtime, call_id, "call"), runtime.calls.prices)


@router.get("/sessions/{session_id}/cost", dependencies=[AdminDep])
async def session_cost(session_id: str, runtime: RuntimeDep) -> CostDocument:
    """A browser session's (or relay session's) cost, as for a call."""
    record = await _record(runtime, session_id, "session")
    if record.channel.value == "phone":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    return cost_document(record, runtime.calls.prices)


@router.get("/costs/daily", dependencies=[AdminDep])
async def costs_daily(
    runtime: RuntimeDep, max_calls: Annotated[int, Query(ge=1, le=MAX_CALLS_IN_TOTALS)] = 1000
) -> CostTotals:
    """Cost totals per UTC day and scenario over the calls still on record (newest `max_calls`)."""
    records: list[CallRecord] = []
    cursor: str | None = None
    while len(records) < max_calls:
        page = await runtime.calls.store.list_recent(limit=min(PAGE, max_calls - len(records)), cursor=cursor)
        records += await runtime.calls.store.get_many([call.call_id for call in page.calls])
        cursor = page.next_cursor
        if cursor is None:
            break
    return daily_totals(records, runtime.calls.prices, truncated=cursor is not None)
