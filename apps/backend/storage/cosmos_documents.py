"""The documents of a call's transcript in Cosmos DB, derived on the spool thread from a per-call state.

Per call: one summary document (`id = call_id`, type "call") rebuilt whole from `CallState` on every change (with
a monotonic `rev`, so replays and retries never move it backwards), and one document per turn
(`id = "{call_id}:{seq:05d}"`, type "turn"). `CallState` also keeps the call's draft (the agent reply in
progress). The draft never goes to Cosmos: it is only needed by the start-up sweep, which runs on the machine
that holds this spool, so it lives in the spool's state and changes in the same transaction as the turns.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.backend.storage.transcript_spool import Merge, SpooledDoc
from voice.transcript import CallOutcome, TranscriptTurn, turn_key


def turn_doc_id(call_id: str, seq: int) -> str:
    return f"{call_id}:{seq:05d}"


class LatencySummary(BaseModel):
    turns_measured: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None


class CallSummaryDoc(BaseModel):
    id: str
    call_id: str
    type: Literal["call"] = "call"
    rev: int
    """Bumped on every change; a stored summary with a higher rev is newer."""
    caller: str | None = None
    scenario: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: CallOutcome | None = None
    agents_visited: list[str] = []
    tools_called: list[str] = []
    turn_count: int = 0
    last_seq: int | None = None
    duration_ms: float | None = None
    caller_talk_ms: float = 0.0
    agent_talk_ms: float = 0.0
    interruptions: int = 0
    latency: LatencySummary = LatencySummary()


class TurnFacts(BaseModel):
    speaker: str
    agent: str | None = None
    tools: list[str] = []
    talk_ms: float = 0.0
    response_ms: float | None = None
    interrupted: bool = False


class CallState(BaseModel):
    """What the spool keeps per call to rebuild the summary and to number its turns."""

    rev: int = 0
    caller: str | None = None
    scenario: str | None = None
    started_at: datetime | None = None
    outcome: CallOutcome | None = None
    turns: dict[int, TurnFacts] = Field(default_factory=dict)
    keys: dict[str, int] = Field(default_factory=dict)
    """turn_key -> the seq that turn was stored at (a retried write finds its turn here)."""
    draft: TranscriptTurn | None = None
    """The agent reply in progress (never sent: it only changes the state, so no summary rev either)."""


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(call_id: str, state: CallState) -> CallSummaryDoc:
    ordered = [state.turns[s] for s in sorted(state.turns)]
    agents = [t.agent for t in ordered if t.agent]
    tools = [name for t in ordered for name in t.tools]
    if state.outcome is not None:
        agents += state.outcome.agents_visited
        tools += state.outcome.tools_called
    responses = sorted(t.response_ms for t in ordered if t.response_ms is not None)
    ended_at = state.outcome.ended_at if state.outcome else None
    return CallSummaryDoc(
        id=call_id,
        call_id=call_id,
        rev=state.rev,
        caller=state.caller,
        scenario=state.scenario,
        started_at=state.started_at,
        ended_at=ended_at,
        outcome=state.outcome,
        agents_visited=list(dict.fromkeys(agents)),
        tools_called=list(dict.fromkeys(tools)),
        turn_count=len(ordered),
        last_seq=max(state.turns) if state.turns else None,
        duration_ms=(ended_at - state.started_at).total_seconds() * 1000
        if ended_at and state.started_at
        else None,
        caller_talk_ms=sum(t.talk_ms for t in ordered if t.speaker == "caller"),
        agent_talk_ms=sum(t.talk_ms for t in ordered if t.speaker == "agent"),
        interruptions=sum(t.interrupted for t in ordered),
        latency=LatencySummary(
            turns_measured=len(responses),
            p50_ms=_percentile(responses, 50) if responses else None,
            p95_ms=_percentile(responses, 95) if responses else None,
            max_ms=responses[-1] if responses else None,
        ),
    )


def summary_merge(call_id: str, change: Callable[[CallState], None]) -> Merge:
    def merge(raw: str | None) -> tuple[str, list[SpooledDoc]]:
        state = CallState.model_validate_json(raw) if raw else CallState()
        change(state)
        state.rev += 1
        doc = summarize(call_id, state).model_dump(mode="json")
        return state.model_dump_json(), [SpooledDoc(call_id, call_id, doc, coalesce=True)]

    return merge


def turn_merge(turn: TranscriptTurn) -> Merge:
    """Spool the turn at a seq no other turn of the call holds here, and the summary that includes it."""
    call_id, key = turn.call_id, turn_key(turn)
    facts = TurnFacts(
        speaker=turn.speaker,
        agent=turn.agent,
        tools=[t.name for t in turn.tool_calls],
        talk_ms=max(0.0, (turn.ended_at - turn.started_at).total_seconds() * 1000),
        response_ms=turn.latency.response_ms if turn.latency else None,
        interrupted=turn.interrupted,
    )

    def merge(raw: str | None) -> tuple[str, list[SpooledDoc]]:
        state = CallState.model_validate_json(raw) if raw else CallState()
        if key in state.keys:  # a retry of a turn already spooled: nothing new
            return state.model_dump_json(), []
        seq = max(state.turns) + 1 if turn.seq in state.turns else turn.seq
        if turn.speaker == "agent":
            state.draft = None
        state.turns[seq] = facts
        state.keys[key] = seq
        state.rev += 1
        body = {**turn.model_dump(mode="json"), "id": turn_doc_id(call_id, seq), "type": "turn"}
        body.update(seq=seq, turn_key=key)
        summary = summarize(call_id, state).model_dump(mode="json")
        docs = [SpooledDoc(call_id, body["id"], body), SpooledDoc(call_id, call_id, summary, coalesce=True)]
        return state.model_dump_json(), docs

    return merge


def turn_order(doc: dict[str, Any]) -> tuple[int, bool]:
    return int(doc["seq"]), "_rid" not in doc  # at an equal seq (renumbered when flushed), stored ones first


def draft_merge(draft: TranscriptTurn | None) -> Merge:
    """Keep (or, with None, drop) the call's draft: partition state only, nothing to send."""

    def merge(raw: str | None) -> tuple[str, list[SpooledDoc]]:
        state = CallState.model_validate_json(raw) if raw else CallState()
        state.draft = draft
        return state.model_dump_json(), []

    return merge
