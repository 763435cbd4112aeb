"""Where an orchestrator's turns go: the stored transcript (written in order in the background, closed with the
call's outcome) and the observer (call records, dashboards). Shared by every orchestrator, so the caller's and
the agent's turns are built, numbered, redacted and written one way whatever produced them.

Both get each turn with its PII masked (`voice.session.redaction`, the scenario's policy or the default given);
the conversation the agent reads keeps what was really said."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from voice.session.config import CallObserver
from voice.session.conversation import CallConversation
from voice.session.redaction import REDACT_ALL, RedactionPolicy, masked_entirely, redact_turn
from voice.session.transcript_writer import TranscriptWriter
from voice.transcript import (
    CallOutcome,
    ToolCallRecord,
    TranscriptStore,
    TranscriptTurn,
    TurnKind,
    TurnLatency,
    utcnow,
)

log = logging.getLogger(__name__)


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
        self._seq = itertools.count()

    def start(self) -> None:
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
                seq=next(self._seq),
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
        self._add(
            TranscriptTurn(
                call_id=self._conv.call_id,
                seq=next(self._seq),
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

    def _add(self, turn: TranscriptTurn) -> None:
        if self._writer is None and self._observer is None:
            return
        try:
            turn = redact_turn(turn, self._redaction, self._conv.snapshot.tools.get)
        except Exception as exc:  # fail closed: a masking bug must cost the turn's words, not the call or PII
            log.error("turn redaction failed", extra={"error_type": type(exc).__name__, "seq": turn.seq})
            turn = masked_entirely(turn)
        if self._writer is not None:
            self._writer.add(turn)
        if self._observer is not None:
            self._own(self._observer.on_turn(turn))

    async def close(self, reason: str) -> None:
        """Flush the transcript and write how the call ended."""
        if self._writer is not None:
            conv = self._conv
            await self._writer.close(
                CallOutcome(
                    reason=reason,
                    agents_visited=tuple(dict.fromkeys(conv.visited)),
                    tools_called=tuple(conv.tools_called),
                )
            )
