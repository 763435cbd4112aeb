"""CallerTurns: the caller's side of a VoiceLive call, from the server's VAD and transcription events to the
transcript's caller turns and the conversation's history, and the order in which every turn is written.

As on the cascade, a caller turn's words are held until they are final: the caller heard the reply, a tool
acted on them, the reply is over, the caller keyed digits or started a new turn. Until then the caller may go
on (`continuation`): the server's next input item then joins the same turn, so the transcript, the live
events and the history get one caller turn for the two utterances, written once every part's transcript is
in (transcriptions arrive on their own schedule, often after the reply to them has started).

So that a reply never reaches the transcript (or the history) before the words it answers, agent turns are
written through the same queue (`write_agent`): after the caller turn they answer and every final caller turn
before them, before the caller turns still open, whatever order the transcriptions arrive in. The caller
turns keep the order of the caller's speech.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voice.session.conversation import CallConversation
from voice.session.recorder import TurnRecorder
from voice.transcript import utcnow
from voice.voicelive.responses import CallerSpeech, record_caller

TRANSCRIPT_WAIT_S = 10.0
"""How long a final turn waits for a transcript the server still owes before it is written without it (and
the turns behind it with it), so one lost transcription never holds the rest of the call's turns."""


@dataclass(eq=False)
class AgentEntry:
    """An agent turn waiting for its place in the transcript: `write` records it (and adds it to the
    history) once every turn before it is written."""

    write: Callable[[], None]


class CallerTurns:
    def __init__(
        self, conversation: CallConversation, recorder: TurnRecorder, *, agent: Callable[[], str]
    ) -> None:
        self._conv = conversation
        self._recorder = recorder
        self._agent = agent
        self._by_item: dict[str, CallerSpeech] = {}  # input item id -> its turn, until transcribed
        self._held: list[CallerSpeech | AgentEntry] = []  # not yet written down, in transcript order
        self._going_on: CallerSpeech | None = None
        self._recheck: asyncio.TimerHandle | None = None  # a flush when the head's transcript wait is over
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
            if isinstance(speech, CallerSpeech) and not speech.committed:
                speech.committed, speech.committed_at = True, time.monotonic()
        self._flush()

    def write_agent(self, write: Callable[[], None], *, answers: CallerSpeech | None) -> None:
        """An agent turn is over: `write` it down once every turn before it is, after the caller turn it
        `answers` and any other final one still held, before the caller turns still open (the caller is
        speaking, or may go on): at once when nothing is held."""
        after_answered = next((i + 1 for i, held in enumerate(self._held) if held is answers), 0)
        first_open = next(
            (i for i, held in enumerate(self._held) if isinstance(held, CallerSpeech) and not held.committed),
            len(self._held),
        )
        self._held.insert(max(after_answered, first_open), AgentEntry(write))
        self._flush()

    def close(self) -> None:
        """The call is over, or its socket dropped (transcripts still owed never come): write down what was
        heard, transcribed or not."""
        self._going_on = None
        for speech in self._held:
            if isinstance(speech, CallerSpeech):
                speech.committed, speech.committed_at = True, -TRANSCRIPT_WAIT_S  # waited long enough
        self._flush()
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    def _flush(self) -> None:
        now = time.monotonic()
        while self._held:
            head = self._held[0]
            if isinstance(head, AgentEntry):
                self._held.pop(0)
                head.write()
                continue
            if not head.committed:
                return
            if not head.transcribed:
                waited = now - head.committed_at
                if waited < TRANSCRIPT_WAIT_S:
                    self._flush_in(TRANSCRIPT_WAIT_S - waited)
                    return
                head.parts = {k: v or "" for k, v in head.parts.items()}
            self._held.pop(0)
            head.recorded = True
            text = head.text
            if text:
                record_caller(self._recorder, text, head, agent=self._agent())
                self._conv.add_caller_text(text)

    def _flush_in(self, delay_s: float) -> None:
        """Flush again once the held head's transcript wait is over, even if no other event comes."""
        if self._recheck is not None:
            self._recheck.cancel()
        self._recheck = asyncio.get_running_loop().call_later(delay_s, self._flush)
