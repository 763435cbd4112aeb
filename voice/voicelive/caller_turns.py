"""CallerTurns: the caller's side of a VoiceLive call, from the server's VAD and transcription events to the
transcript's caller turns and the conversation's history.

As on the cascade, a caller turn's words are held until they are final: the caller heard the reply, a tool
acted on them, the reply is over, the caller keyed digits or started a new turn. Until then the caller may go
on (`continuation`): the server's next input item then joins the same turn, so the transcript, the live
events and the history get one caller turn for the two utterances, written once every part's transcript is
in (transcriptions arrive on their own schedule).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from voice.session.conversation import CallConversation
from voice.session.recorder import TurnRecorder
from voice.transcript import utcnow
from voice.voicelive.responses import CallerSpeech, record_caller

TRANSCRIPT_WAIT_S = 10.0
"""How long a final turn waits for a transcript the server still owes before it is written without it (and
the turns behind it with it), so one lost transcription never holds the rest of the call's caller turns."""


class CallerTurns:
    def __init__(
        self, conversation: CallConversation, recorder: TurnRecorder, *, agent: Callable[[], str]
    ) -> None:
        self._conv = conversation
        self._recorder = recorder
        self._agent = agent
        self._by_item: dict[str, CallerSpeech] = {}  # input item id -> its turn, until transcribed
        self._held: list[CallerSpeech] = []  # not yet written down, in the order spoken
        self._going_on: CallerSpeech | None = None
        self.pending: CallerSpeech | None = None
        """The caller turn the next reply answers."""
        self.speaking = False
        """Between the server's speech_started and speech_stopped."""

    def started(self, item_id: str | None, *, started_at: datetime) -> None:
        """The server heard the caller start: a new turn (the ones before it are final), or more of the turn
        whose unheard reply was dropped (`going_on`)."""
        speech, self._going_on = self._going_on, None
        if speech is None:
            self.commit_all()
            speech = CallerSpeech(started_at=started_at)
            self._held.append(speech)
        if item_id:
            self._by_item[item_id] = speech
            speech.parts.setdefault(item_id, None)
        self.speaking = True

    def stopped(
        self, item_id: str | None, *, ended_at: datetime, last_voiced_at: float, end_of_turn_ms: float
    ) -> None:
        self.speaking = False
        speech = self._by_item.get(item_id) if item_id else None
        if speech is None:  # a stop whose start we never saw
            self.commit_all()
            speech = CallerSpeech(started_at=ended_at)
            self._held.append(speech)
            if item_id:
                self._by_item[item_id] = speech
                speech.parts[item_id] = None
        speech.ended_at = ended_at
        speech.last_voiced_at = last_voiced_at
        speech.end_of_turn_ms = end_of_turn_ms
        self.pending = speech

    def transcribed(self, item_id: str, text: str) -> None:
        """An input item's transcript (empty when transcription failed)."""
        speech = self._by_item.pop(item_id, None)
        if speech is None:  # an item we never heard start: on its own, now
            if text.strip():
                speech = CallerSpeech(started_at=utcnow(), parts={item_id: text}, committed=True)
                self._held.append(speech)
                self._flush()
            return
        speech.parts[item_id] = text
        self._flush()

    def keyed(self, text: str) -> None:
        """Keyed digits (as the message the model gets) are final at once; the next reply answers them."""
        self.commit_all()
        speech = CallerSpeech(
            started_at=utcnow(),
            last_voiced_at=time.monotonic(),
            kind="dtmf",
            parts={"keyed": text},
            committed=True,
        )
        self._held.append(speech)
        self._flush()
        self.pending = speech

    def going_on(self, speech: CallerSpeech) -> None:
        """The caller went on with `speech` before hearing its reply: their next input item joins it."""
        self._going_on = speech

    def commit(self, speech: CallerSpeech | None) -> None:
        """`speech`'s words are final: write them down (once transcribed, after any turn before them)."""
        if speech is not None and not speech.committed:
            speech.committed, speech.committed_at = True, time.monotonic()
            self._flush()

    def commit_all(self) -> None:
        for speech in self._held:
            if not speech.committed:
                speech.committed, speech.committed_at = True, time.monotonic()
        self._flush()

    def close(self) -> None:
        """The call is over, or its socket dropped (transcripts still owed never come): write down what was
        heard, transcribed or not."""
        self._going_on = None
        for speech in self._held:
            speech.committed, speech.committed_at = True, -TRANSCRIPT_WAIT_S  # waited long enough
        self._flush()

    def _flush(self) -> None:
        now = time.monotonic()
        while self._held and self._held[0].committed:
            head = self._held[0]
            if not head.transcribed:
                if now - head.committed_at < TRANSCRIPT_WAIT_S:
                    return
                head.parts = {k: v or "" for k, v in head.parts.items()}
            speech = self._held.pop(0)
            speech.recorded = True
            text = speech.text
            if text:
                record_caller(self._recorder, text, speech, agent=self._agent())
                self._conv.add_caller_text(text)
