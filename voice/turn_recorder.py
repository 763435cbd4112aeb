"""Where an orchestrator's turns go: the stored transcript (written in order in the background, closed with the
call's outcome) and the observer (call records, dashboards). Shared by the SpeechCascade and VoiceLive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voice.speech_cascade.config import CascadeObserver
from voice.speech_cascade.conversation import Conversation
from voice.transcript import CallOutcome, TranscriptStore, TranscriptTurn, utcnow
from voice.transcript_writer import TranscriptWriter


class TurnRecorder:
    def __init__(
        self,
        conversation: Conversation,
        transcripts: TranscriptStore | None,
        observer: CascadeObserver | None,
        *,
        own: Callable[[Awaitable[Any]], object],
    ) -> None:
        self._conv = conversation
        self._transcripts = transcripts
        self._observer = observer
        self._own = own
        self._writer: TranscriptWriter | None = None
        self._started_at = utcnow()

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

    def add(self, turn: TranscriptTurn) -> None:
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
