"""The bookkeeping of one SpeechCascade turn, and how it becomes transcript records."""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from voice.expectation import Expectation
from voice.llm.base import Message
from voice.session.recorder import ReplyDraft, TurnRecorder, response_ms
from voice.speech_cascade.speaker import Utterance
from voice.transcript import ToolCallRecord, TurnKind, TurnLatency, utcnow


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
    committed: bool = False
    """In the history and transcript: the reply to it can no longer be dropped unheard."""
    early_start_ms: float | None = None
    """Its reply started this long (on the call's audio) before the turn was over."""


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
    held_question: str | None = None
    """A new agent's greeting question, said only if the agent does not answer the handed-over request."""
    clauses_at_handoff: int = 0
    """How many clauses the reply had once the new agent introduced itself."""
    gate: asyncio.Future[None] | None = None
    """Started before the caller's turn was over: resolves when it is (see `Utterance.gate`)."""
    pending_caller: CallerTurn | None = None
    """The caller's turn, not yet in the history and transcript (they join it once the turn is committed)."""
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    """Run when the caller's turn is committed: the brain's state worked out on a copy is kept then."""
    expects: Expectation | None = None
    """What the brain's last round asks the caller for (`ChatDone.expects`), for recognising their answer."""

    def brain_messages(self, history: list[Message]) -> list[Message]:
        """What the brain is asked with: the history, plus the caller's words while they are pending."""
        if self.pending_caller is None:
            return history
        return [*history, {"role": "user", "content": self.pending_caller.text}]


_CLOSING_QUESTION = re.compile(r"^(?P<intro>.*?[.!])\s+(?P<question>[^.!?]+\?)\s*$", re.DOTALL)


def live_agent_text(state: ReplyState, recorder: TurnRecorder) -> Callable[[str], None]:
    """`Utterance.on_text` for the reply `state`: its words so far as the agent's live partial, under whichever
    agent speaks now (a handoff changes it mid-reply). The reply is held weakly: a closure over it would make
    reply -> utterance -> callback -> reply a cycle, freed only by the cyclic collector, whose full passes
    over a few hundred calls' garbage stall every call's frames for 40-60 ms (heard as gaps)."""
    reply = weakref.ref(state)

    def on_text(text: str) -> None:
        current = reply()
        if current is not None:
            recorder.partial("agent", text, agent=current.agent)

    return on_text


def split_closing_question(greeting: str) -> tuple[str, str | None]:
    """ "You're now with card services. ... What happened?" -> (the introduction, "What happened?"). A greeting
    that is only a question, or ends without one, is all introduction."""
    match = _CLOSING_QUESTION.match(greeting.strip())
    if match is None:
        return greeting, None
    return match["intro"], match["question"]


def before_first_clause(state: ReplyState, started: float, ended: float) -> float:
    """Milliseconds of [started, ended] (monotonic) that passed before the reply's first clause was ready:
    the share of a brain round or a tool run that delayed the caller hearing anything."""
    first = state.utterance.first_clause_at
    end = ended if first is None else min(ended, first)
    return max(0.0, end - started) * 1000


def record_reply(recorder: TurnRecorder, state: ReplyState) -> None:
    """Write the agent's turn as the caller heard it, with where its time went."""
    utterance = state.utterance
    caller = state.caller
    latency = None
    if caller is not None:
        latency = TurnLatency(
            end_of_turn_ms=caller.end_of_turn_ms,
            stt_final_ms=caller.stt_final_ms,
            llm_first_token_ms=state.llm_first_token_ms,
            llm_ms=state.llm_ms or None,
            tools_ms=state.tools_ms or None,
            tts_first_audio_ms=utterance.tts_first_audio_ms,
            response_ms=response_ms(caller.last_voiced_at, utterance.first_audio_at),
            early_start_ms=caller.early_start_ms,
        )
    recorder.agent(
        kind=state.kind,
        agent=state.agent,
        full_text=utterance.text,
        heard_text=utterance.heard_text,
        interrupted=utterance.interrupted,
        started_at=state.started_at,
        tool_calls=state.tool_records,
        latency=latency,
    )


def reply_draft(state: ReplyState | None) -> ReplyDraft | None:
    """The reply in progress once the caller hears it (or its tools ran); kept as a draft until it ends."""
    if state is None or (state.utterance.first_audio_at is None and not state.tool_records):
        return None
    return ReplyDraft(
        kind=state.kind,
        agent=state.agent,
        text=state.utterance.text,
        started_at=state.started_at,
        tool_calls=tuple(state.tool_records),
    )


def record_caller(recorder: TurnRecorder, turn: CallerTurn, *, agent: str) -> None:
    recorder.caller(
        turn.text,
        kind=turn.kind,
        agent=agent,
        language=turn.language,
        started_at=turn.started_at,
        ended_at=turn.ended_at,
    )
