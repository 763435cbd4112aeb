"""The bookkeeping of one SpeechCascade turn, and how it becomes transcript records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import HandoffTarget
from voice.llm.base import ToolCall
from voice.speech_cascade.speaker import Utterance
from voice.transcript import ToolCallRecord, TranscriptTurn, TurnKind, TurnLatency, utcnow


@dataclass
class CallerTurn:
    text: str
    kind: Literal["speech", "dtmf"]
    last_voiced_at: float | None = None  # monotonic time of the caller's last voiced audio
    end_of_turn_ms: float | None = None
    stt_final_ms: float | None = None
    language: str | None = None
    started_at: datetime = field(default_factory=utcnow)  # when the caller started / stopped speaking
    ended_at: datetime = field(default_factory=utcnow)


@dataclass
class ReplyState:
    """Bookkeeping of the reply in progress, read when it ends (normally or by interruption)."""

    caller: CallerTurn | None
    agent: str
    utterance: Utterance
    started_at: datetime = field(default_factory=utcnow)
    tool_records: list[ToolCallRecord] = field(default_factory=list)
    llm_first_token_ms: float | None = None
    llm_ms: float = 0.0
    """Time inside the brain's streams before the first clause was ready, over every tool round."""
    tools_ms: float = 0.0
    """Time in tools before the first clause was ready (a holding phrase ends it)."""
    kind: TurnKind = "reply"
    after: list[tuple[str, str]] = field(default_factory=list)  # ("hang_up"|"transfer", reason)


def before_first_clause(state: ReplyState, started: float, ended: float) -> float:
    """Milliseconds of [started, ended] (monotonic) that passed before the reply's first clause was ready:
    the share of a brain round or a tool run that delayed the caller hearing anything."""
    first = state.utterance.first_clause_at
    end = ended if first is None else min(ended, first)
    return max(0.0, end - started) * 1000


def agent_turn(state: ReplyState, *, call_id: str, seq: int) -> TranscriptTurn:
    """The agent's turn as the caller heard it, with where its time went."""
    utterance = state.utterance
    caller = state.caller
    latency = None
    if caller is not None:
        response_ms = None
        if caller.last_voiced_at is not None and utterance.first_audio_at is not None:
            response_ms = (utterance.first_audio_at - caller.last_voiced_at) * 1000
        latency = TurnLatency(
            end_of_turn_ms=caller.end_of_turn_ms,
            stt_final_ms=caller.stt_final_ms,
            llm_first_token_ms=state.llm_first_token_ms,
            llm_ms=state.llm_ms or None,
            tools_ms=state.tools_ms or None,
            tts_first_audio_ms=utterance.tts_first_audio_ms,
            response_ms=response_ms,
        )
    return TranscriptTurn(
        call_id=call_id,
        seq=seq,
        speaker="agent",
        kind=state.kind,
        agent=state.agent,
        text=utterance.heard_text,
        full_text=utterance.text if utterance.interrupted else None,
        interrupted=utterance.interrupted,
        started_at=state.started_at,
        ended_at=utcnow(),
        tool_calls=tuple(state.tool_records),
        latency=latency,
    )


def caller_turn(turn: CallerTurn, *, call_id: str, seq: int, agent: str) -> TranscriptTurn:
    return TranscriptTurn(
        call_id=call_id,
        seq=seq,
        speaker="caller",
        kind=turn.kind,
        agent=agent,
        text=turn.text,
        language=turn.language,
        started_at=turn.started_at,
        ended_at=turn.ended_at,
    )


def handoff_edge(catalog: ToolCatalog, target: str) -> HandoffTarget:
    """How this agent hands off to `target` in this scenario (type, shared context), from its handoff tool."""
    for spec in catalog.values():
        if spec.handoff is not None and spec.handoff.agent == target:
            return spec.handoff
    return HandoffTarget(agent=target)


def tool_record(call: ToolCall, result: ToolResult) -> ToolCallRecord:
    try:
        arguments: dict[str, Any] | str = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError:
        arguments = call.arguments
    if not isinstance(arguments, dict):
        arguments = call.arguments
    return ToolCallRecord(
        id=call.id,
        name=call.name,
        arguments=arguments,
        ok=result.ok,
        output=result.output,
        error=result.error.message if result.error else None,
        duration_ms=round(result.duration_ms, 1),
    )
