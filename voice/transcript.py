"""What a call's transcript holds, and the store interface the orchestrators write it through.

Turns are handed to the store as they happen (never only at the end), so a call that dies mid-way still has
everything up to its last turn. Storage backends (SQLite by default, Cosmos DB) live in `apps`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, computed_field

Speaker = Literal["caller", "agent"]
TurnKind = Literal[
    "speech",  # the caller spoke
    "dtmf",  # the caller keyed digits
    "greeting",  # an agent greeted (call start, announced handoff)
    "reply",  # an agent answered a caller turn
    "holding",  # "one moment" while a slow tool ran
    "reprompt",  # the caller was silent
    "apology",  # every provider failed
    "goodbye",  # the agent ended the call (idle)
    "handover",  # the agent briefed the person it was handing the caller to (warm transfer)
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ToolCallRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] | str
    """Parsed arguments, or the raw text when the model produced invalid JSON."""
    ok: bool
    output: dict[str, Any] = {}
    error: str | None = None
    duration_ms: float = 0.0


class TurnLatency(BaseModel):
    """Where the time of one agent reply went, in milliseconds (None: that part did not apply)."""

    model_config = ConfigDict(frozen=True)

    end_of_turn_ms: float | None = None
    """Caller's last voiced audio -> we decided the turn was over (the silence we waited for)."""
    stt_final_ms: float | None = None
    """Turn over -> final recognition text."""
    llm_first_token_ms: float | None = None
    """Request to the brain -> first text token (or first tool call)."""
    llm_ms: float | None = None
    """Time inside the brain before the first clause was ready to speak, over every tool round (so it
    includes streaming up to the first clause boundary and the rounds after tools)."""
    tools_ms: float | None = None
    """Time spent in tools before the first clause was ready to speak."""
    tts_first_audio_ms: float | None = None
    """First clause handed to TTS -> its first audio chunk."""
    response_ms: float | None = None
    """Caller's last voiced audio -> first agent audio frame sent to the caller."""
    early_start_ms: float | None = None
    """The reply started this long before the turn was over (semantic end of turn): recognition, brain and
    TTS ran during the end-of-turn wait, so the parts overlap it."""

    # mypy rejects any decorator stacked on @property; pydantic documents this ignore for computed fields.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def overhead_ms(self) -> float | None:
        """Our own share of the response: response minus every measured part (parts not taken count 0)."""
        if self.response_ms is None:
            return None
        parts = (
            self.stt_final_ms,
            self.llm_ms if self.llm_ms is not None else self.llm_first_token_ms,
            self.tools_ms,
            self.tts_first_audio_ms,
        )
        pipeline = sum(p for p in parts if p is not None)
        waited = self.end_of_turn_ms or 0.0
        if self.early_start_ms:  # started early: whichever was longer, the wait or the work begun within it
            return round(self.response_ms - max(waited, waited - self.early_start_ms + pipeline), 3)
        return round(self.response_ms - waited - pipeline, 3)


class TranscriptTurn(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    seq: int = Field(
        ge=0,
        description="Position in the call, unique per call in a store. The writer proposes it; a store that "
        "already holds another turn at or after it stores the turn after the call's last one instead.",
    )
    speaker: Speaker
    kind: TurnKind
    agent: str | None = None
    """Agent speaking, or the agent the caller was talking to."""
    text: str
    """For agent turns: what the caller actually heard (cut at the interruption point)."""
    full_text: str | None = None
    """For interrupted agent turns: everything the agent meant to say."""
    interrupted: bool = False
    language: str | None = None
    started_at: datetime
    ended_at: datetime
    tool_calls: tuple[ToolCallRecord, ...] = ()
    latency: TurnLatency | None = None


def turn_key(turn: TranscriptTurn) -> str:
    """What identifies one turn for idempotent writes: a digest of the turn exactly as the writer built it.
    A retried write of the same turn has the same key; any other turn (another writer, a worker that resumed
    the call and numbers from 0 again) has another key even when its seq is the same."""
    return hashlib.sha256(turn.model_dump_json().encode()).hexdigest()[:32]


class CallOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str
    """e.g. "caller hung up", "agent ended the call", "transferred", "idle timeout"."""
    ended_at: datetime = Field(default_factory=utcnow)
    agents_visited: tuple[str, ...] = ()
    tools_called: tuple[str, ...] = ()
    summary: dict[str, Any] | None = None
    """The post-call summary (the app's `CallSummary` as JSON), added after the call ended."""


class CallTranscript(BaseModel):
    """A call as the store returns it."""

    call_id: str
    caller: str | None = None
    scenario: str | None = None
    started_at: datetime | None = None
    outcome: CallOutcome | None = None
    turns: list[TranscriptTurn] = []


@runtime_checkable
class TranscriptStore(Protocol):
    async def start_call(
        self, call_id: str, *, caller: str | None, scenario: str | None, started_at: datetime
    ) -> None:
        """Open (or re-open, idempotently) the call's transcript."""
        ...

    async def append_turn(self, turn: TranscriptTurn) -> None:
        """Record one turn; nothing is ever silently replaced. Writing the same turn again (a retry, same
        `turn_key`) keeps one copy. A different turn is always kept: at `turn.seq` when no other turn of
        the call has it, otherwise at the call's last seq + 1 (two writers, a resumed call numbering from 0):
        the store assigns seqs atomically, so they never collide. An agent turn drops the call's draft in the
        same write."""
        ...

    async def save_draft(self, draft: TranscriptTurn) -> None:
        """Keep the agent reply in progress (as the turn it would be if the call died now): one per call,
        replacing the previous one. Writing the call's next agent turn, or its outcome, drops it."""
        ...

    async def clear_draft(self, call_id: str) -> None:
        """Drop the call's reply in progress (it ended without a turn of its own)."""
        ...

    async def end_call(self, call_id: str, outcome: CallOutcome) -> None: ...

    async def get(self, call_id: str) -> CallTranscript | None:
        """The call and its turns in order, or None if the store never saw it."""
        ...
