"""Where an orchestrator's turns go: the stored transcript (written in order in the background, closed with the
call's outcome) and the observer (call records, dashboards). Shared by every orchestrator, so the caller's and
the agent's turns are built, numbered, redacted and written one way whatever produced them.

Both get each turn with its PII masked (`voice.session.redaction`, the scenario's policy or the default given);
the conversation the agent reads keeps what was really said.

A turn is written when it ends, so a worker killed mid-reply would lose the reply being spoken. While a reply is
in progress the recorder therefore hands the store a draft of it (at most every DRAFT_INTERVAL_S, from a task of
its own, never on the audio path); the store keeps one per call until the reply's turn replaces it, and the
start-up sweep of a restarted worker turns a leftover draft into the call's last turn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voice.session.config import CallObserver
from voice.session.conversation import CallConversation
from voice.session.redaction import REDACT_ALL, RedactionPolicy, masked_entirely, redact_text, redact_turn
from voice.session.transcript_writer import TranscriptWriter
from voice.transcript import (
    CallOutcome,
    Speaker,
    ToolCallRecord,
    TranscriptStore,
    TranscriptTurn,
    TurnKind,
    TurnLatency,
    utcnow,
)

log = logging.getLogger(__name__)

DRAFT_INTERVAL_S = 0.5


@dataclass(frozen=True)
class ReplyDraft:
    """An agent reply as far as it got: what the caller is hearing (or the tools it ran) before it ends."""

    kind: TurnKind
    agent: str
    text: str
    started_at: datetime
    tool_calls: tuple[ToolCallRecord, ...] = ()


ReplySource = Callable[[], ReplyDraft | None]


def response_ms(last_voiced_at: float | None, first_audio_at: float | None) -> float | None:
    """Caller's last voiced audio -> the agent's first audio, both monotonic; None if either is unknown."""
    if last_voiced_at is None or first_audio_at is None:
        return None
    return max(0.0, (first_audio_at - last_voiced_at) * 1000)


class TurnRecorder:
    def __init__(
        self,
        conversation: CallConversation,
        transcripts: TranscriptStore | None,
        observer: CallObserver | None,
        *,
        own: Callable[[Awaitable[Any]], object],
        redaction: RedactionPolicy = REDACT_ALL,
    ) -> None:
        """`redaction` applies to calls whose scenario sets no `redaction:` of its own."""
        self._conv = conversation
        self._redaction = redaction.for_scenario(conversation.scenario.redaction)
        self._transcripts = transcripts
        self._observer = observer
        self._own = own
        self._writer: TranscriptWriter | None = None
        self._started_at = utcnow()
        self._next_seq = 0
        self._draft: ReplyDraft | None = None  # the last draft handed to the writer and not superseded
        # The last text masked and its masked form: a reply's drafts and then its turn mask the same words
        # again (a draft only changes when the reply grows). Only this call's recorder holds it.
        self._last_masked: tuple[str, str] = ("", "")
        self._drafting: asyncio.Task[None] | None = None

    def start(
        self, reply_in_progress: ReplySource | None = None, *, draft_interval_s: float = DRAFT_INTERVAL_S
    ) -> None:
        """`reply_in_progress`: the orchestrator's reply being spoken (None when there is none), polled every
        `draft_interval_s` and kept by the store as a draft."""
        if self._transcripts is not None:
            conv = self._conv
            self._writer = TranscriptWriter(
                self._transcripts,
                call_id=conv.call_id,
                caller=conv.caller,
                scenario=conv.scenario.name,
                started_at=self._started_at,
            )
            self._writer.start()
            if reply_in_progress is not None:
                self._drafting = asyncio.create_task(
                    self._follow(reply_in_progress, draft_interval_s), name=f"transcript-draft:{conv.call_id}"
                )

    def _seq(self) -> int:
        self._next_seq += 1
        return self._next_seq - 1

    def caller(
        self,
        text: str,
        *,
        kind: TurnKind,
        agent: str,
        started_at: datetime,
        ended_at: datetime,
        language: str | None = None,
    ) -> None:
        """What the caller said (or keyed), addressed to `agent`."""
        self._add(
            TranscriptTurn(
                call_id=self._conv.call_id,
                seq=self._seq(),
                speaker="caller",
                kind=kind,
                agent=agent,
                text=text,
                language=language,
                started_at=started_at,
                ended_at=ended_at,
            )
        )

    def agent(
        self,
        *,
        kind: TurnKind,
        agent: str,
        full_text: str,
        heard_text: str,
        interrupted: bool,
        started_at: datetime,
        tool_calls: Sequence[ToolCallRecord] = (),
        latency: TurnLatency | None = None,
    ) -> None:
        """An agent's turn as the caller heard it (`full_text` is kept too when it was cut short)."""
        self._draft = None  # the store drops the draft when it writes this turn
        self._add(
            TranscriptTurn(
                call_id=self._conv.call_id,
                seq=self._seq(),
                speaker="agent",
                kind=kind,
                agent=agent,
                text=heard_text,
                full_text=full_text if interrupted else None,
                interrupted=interrupted,
                started_at=started_at,
                ended_at=utcnow(),
                tool_calls=tuple(tool_calls),
                latency=latency,
            )
        )

    def partial(self, speaker: Speaker, text: str, *, agent: str | None) -> None:
        """A turn still in progress, for live views only (never stored), masked like a stored turn."""
        if self._observer is None or not text:
            return
        try:
            masked = redact_text(text, self._redaction)
        except Exception as exc:  # fail closed: no partial rather than unmasked PII
            log.error("partial redaction failed", extra={"error_type": type(exc).__name__})
            return
        self._observer.on_partial(speaker, masked, agent)

    async def _follow(self, source: ReplySource, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                self._update_draft(source())
            except Exception:  # a draft is a safety net: never let it take the call down
                log.exception("reply draft failed")

    def _update_draft(self, draft: ReplyDraft | None) -> None:
        if draft == self._draft or self._writer is None:
            return
        self._draft = draft
        if draft is None:
            self._writer.draft(None)
            return
        # What the turn would be if the call died now. How much of it the caller heard is unknown then, so
        # the whole text so far counts as heard and the turn as cut short.
        turn = TranscriptTurn(
            call_id=self._conv.call_id,
            seq=self._next_seq,  # proposed, not taken: the reply's real turn takes it when it ends
            speaker="agent",
            kind=draft.kind,
            agent=draft.agent,
            text=draft.text,
            full_text=draft.text,
            interrupted=True,
            started_at=draft.started_at,
            ended_at=utcnow(),
            tool_calls=draft.tool_calls,
        )
        self._writer.draft(self._redacted(turn))

    def _redacted(self, turn: TranscriptTurn) -> TranscriptTurn:
        try:
            return redact_turn(turn, self._redaction, self._conv.snapshot.tools.get, mask_text=self._mask)
        except Exception as exc:  # fail closed: a masking bug must cost the turn's words, not the call or PII
            log.error("turn redaction failed", extra={"error_type": type(exc).__name__, "seq": turn.seq})
            return masked_entirely(turn)

    def _mask(self, text: str) -> str:
        raw, masked = self._last_masked
        if text != raw:
            masked = redact_text(text, self._redaction)
            self._last_masked = (text, masked)
        return masked

    def _add(self, turn: TranscriptTurn) -> None:
        if self._writer is None and self._observer is None:
            return
        turn = self._redacted(turn)
        if self._writer is not None:
            self._writer.add(turn)
        if self._observer is not None:
            self._own(self._observer.on_turn(turn))

    async def close(self, reason: str) -> None:
        """Flush the transcript and write how the call ended (which drops any draft left)."""
        if self._drafting is not None:
            self._drafting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drafting
        if self._writer is not None:
            conv = self._conv
            await self._writer.close(
                CallOutcome(
                    reason=reason,
                    agents_visited=tuple(dict.fromkeys(conv.visited)),
                    tools_called=tuple(conv.tools_called),
                )
            )
