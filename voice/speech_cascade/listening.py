"""The cascade's ear: one call's recognition session, the audio kept from just before speech onset, and the
words of a turn whose answer the caller talked over.

Audio goes to STT only while the caller holds the floor; before that a short pre-roll is kept so recognition
hears the first syllable. When a reply is cancelled while recognition was finishing (the caller went on after
a pause), the pending result is carried over and opens the caller's next turn instead of being lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voice.errors import ProviderError
from voice.expectation import Expectation
from voice.speech_cascade.identifier_progress import Progress, number_progress, trailing_number
from voice.speech_cascade.unfinished import sounds_clearly_unfinished, sounds_complete, sounds_unfinished
from voice.stt.base import (
    ContinuableSession,
    ExpectingSession,
    Recognition,
    SpeechToText,
    SttConfig,
    SttSession,
)
from voice.stt.digit_choice import DigitHints, digit_hints

log = logging.getLogger(__name__)


class RecognitionFailed(Exception):
    """This turn could not be recognised (the session has been reopened for the next one)."""


@dataclass(frozen=True)
class Heard:
    text: str
    language: str | None
    stt_final_ms: float
    """Turn over -> final text."""


@dataclass(frozen=True, slots=True)
class _Reading:
    words: str
    expecting: Expectation | None
    unfinished: bool
    clearly_unfinished: bool
    complete: bool
    ends_in_number: bool  # on a number of 2+ digits: callers pause after one, then correct it or go on

    @classmethod
    def of(
        cls, words: str, expecting: Expectation | None = None, hints: DigitHints | None = None
    ) -> _Reading:
        progress = number_progress(words, expecting, hints)
        number = trailing_number(words)
        ends_in_number = number is not None and number.digits >= 2
        # "A U one one eight eight" of a six-digit policy number: the caller has more to read
        if progress is Progress.READING:
            return cls(words, expecting, True, True, False, ends_in_number)
        unfinished = sounds_unfinished(words)
        complete = sounds_complete(words) or (progress is Progress.COMPLETE and not unfinished)
        return cls(words, expecting, unfinished, sounds_clearly_unfinished(words), complete, ends_in_number)


def describe(exc: BaseException) -> str:
    """A provider failure for the log, without the provider's message text unless it is ours."""
    return exc.message if isinstance(exc, ProviderError) else f"{type(exc).__name__}"


class CallerListener:
    def __init__(
        self,
        stt: SpeechToText,
        *,
        call_id: str,
        phrases: Sequence[str] = (),
        preroll_ms: int = 400,
        on_partial: Callable[[str], None] | None = None,
    ) -> None:
        self._provider = stt
        self._publish_partial = on_partial  # live views (the call's events); the text stays here too
        self._call_id = call_id
        self._phrases = tuple(phrases)
        self._preroll_ms = preroll_ms
        self._session: SttSession | None = None
        self._config: SttConfig | None = None
        self._preroll: deque[bytes] = deque()
        self._preroll_bytes = 0
        self._preroll_limit = 0
        self.pushing = False
        """The caller holds the floor: audio goes to recognition."""
        self._carry_over: asyncio.Future[Recognition] | None = None
        self._final_words = ""  # the words of an early reply's final, read while the caller stays quiet
        self.partial = ""
        """The recogniser's latest partial text of the current turn."""
        self._before = ""  # words of the turn before a pause whose recognition was finalised
        self._reading = _Reading.of("")
        self._expecting: Expectation | None = None
        self._digit_hints = digit_hints(self._phrases)  # the scenario's identifier lengths ("AU" + 6 digits)

    def _on_partial(self, text: str) -> None:
        # Partials come a little after the audio they recognise, so they are kept after the caller's turn
        # (or an early reply) stopped the pushing; the next turn's start clears them.
        self.partial = text
        if self._publish_partial is not None:
            self._publish_partial(text)

    @property
    def turn_words(self) -> str:
        """The caller's words in this turn so far: before a pause they went on after, and the latest partial (or,
        once an early reply's recognition is in and the caller is still quiet, its final text)."""
        if self._final_words and not self.pushing:
            return self._final_words
        before, partial = self._before, self.partial
        if before and partial:
            return f"{before} {partial}"
        return before or partial

    def sounds_unfinished(self) -> bool:
        """The words of the turn so far are clearly unfinished (an end of speech is only a breath)."""
        return self._read().unfinished

    def sounds_clearly_unfinished(self) -> bool:
        """Unfinished, and not only by a last word that may be a fragment of the recogniser's (see `unfinished`)."""
        return self._read().clearly_unfinished

    def sounds_complete(self) -> bool:
        """The words of the turn so far read as a whole turn ("what's my balance", "yes")."""
        return self._read().complete

    def ends_in_number(self) -> bool:
        """The words of the turn so far end on a number read out ("... four eight two one")."""
        return self._read().ends_in_number

    def _read(self) -> _Reading:
        """How the turn's words read (with the number the agent asked for), worked out again only when they or
        the expectation changed (the turn-taking asks at every window and frame of a pause)."""
        words = self.turn_words
        reading = self._reading
        if reading.words != words or reading.expecting != self._expecting:
            reading = self._reading = _Reading.of(words, self._expecting, self._digit_hints)
        return reading

    def carry_text(self, text: str) -> None:
        """Words recognised for a reply that never reached the caller (started early, and the caller went on):
        they open the caller's next turn, like a recognition cancelled mid-way."""
        if text:
            self._carry_over = _followed_by(self._carry_over, _recognised(text))

    @property
    def available(self) -> bool:
        return self._session is not None

    async def open(self, *, sample_rate: int, languages: Sequence[str]) -> None:
        self._config = SttConfig(
            sample_rate=sample_rate,
            languages=languages,
            phrases=self._phrases,
            call_id=self._call_id,
            on_partial=self._on_partial,
        )
        self._preroll_limit = sample_rate * 2 * self._preroll_ms // 1000
        await self._open()

    async def _open(self) -> None:
        assert self._config is not None
        try:
            self._session = await self._provider.open_session(self._config)
        except Exception as exc:
            log.error("no speech recognition for this call", extra={"error": describe(exc)})
            self._session = None
        else:
            if self._expecting is not None:  # a reopened session still hears what the agent asked
                self._tell(self._session)

    def expect(self, expectation: Expectation | None) -> None:
        """What the agent just asked for (the brain's pending slot; None: nothing in particular), for the caller's
        next turns: passed to a session that can use it (`ExpectingSession`), kept for a reopened one."""
        if expectation != self._expecting:
            log.debug("answer expected", extra={"expects": expectation.describe() if expectation else "-"})
        self._expecting = expectation
        if self._session is not None:
            self._tell(self._session)

    def _tell(self, session: SttSession) -> None:
        if isinstance(session, ExpectingSession):
            session.expect(self._expecting)

    async def aclose(self) -> None:
        if self._carry_over is not None:
            self._carry_over.cancel()
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.aclose()

    # --- audio --------------------------------------------------------------------------------------
    def hear(self, pcm: bytes) -> None:
        """One inbound frame: to recognition during a turn, else into the pre-roll."""
        if self.pushing:
            if self._session is not None:
                self._session.push(pcm)
            return
        self._preroll.append(pcm)
        self._preroll_bytes += len(pcm)
        while self._preroll_bytes > self._preroll_limit and len(self._preroll) > 1:
            self._preroll_bytes -= len(self._preroll.popleft())

    def turn_started(self, *, resumed: bool = False) -> None:
        """The caller took the floor; `resumed`: they went on after a pause whose words went to recognition."""
        self.pushing = True
        self._before = " ".join(part for part in (self._before, self.partial) if part) if resumed else ""
        self.partial = self._final_words = ""
        if resumed and isinstance(self._session, ContinuableSession):
            self._session.continue_turn()
        if self._session is not None:
            for chunk in self._preroll:
                self._session.push(chunk)
        self._preroll.clear()
        self._preroll_bytes = 0

    def turn_ended(self) -> None:
        self.pushing = False

    def discard_turn(self) -> None:
        """The turn was not for us (a backchannel, or talk over an agent that may not be interrupted)."""
        if self._session is not None:
            self._session.discard_turn()

    # --- recognition --------------------------------------------------------------------------------
    async def final_text(self) -> Heard:
        """The turn's words (after any carried over). Raises RecognitionFailed; cancellation carries over."""
        session = self._session
        if session is None:
            raise RecognitionFailed("no recognition session")
        carried, self._carry_over = self._carry_over, None
        try:
            earlier = "" if carried is None else await _text_of(carried)
        except asyncio.CancelledError:
            self._carry_over = carried
            raise
        began = time.monotonic()
        pending = asyncio.ensure_future(session.end_of_turn())
        try:
            recognition = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # The caller went on talking after a pause (a barge-in on our "thinking"): what they said
            # before the pause is not lost, it opens their next turn.
            self._carry_over = _followed_by(_recognised(earlier) if earlier else None, pending)
            raise
        except Exception as exc:
            log.error("recognition failed", extra={"error": describe(exc)})
            await self._reopen()
            raise RecognitionFailed(describe(exc)) from exc
        if not self.pushing:  # an early reply's recognition, the caller still quiet: the best reading of the
            self._read_final(recognition)  # words for the end of turn (a partial may lag or stop short)
        # A recognition of the whole turn already holds the carried words (recognised again in context).
        parts = (recognition.text.strip(),) if recognition.whole_turn else (earlier, recognition.text.strip())
        text = " ".join(part for part in parts if part)
        return Heard(text=text, language=recognition.language, stt_final_ms=(time.monotonic() - began) * 1000)

    def _read_final(self, recognition: Recognition) -> None:
        """Until the caller goes on, the end-of-turn judge reads the final text instead of the latest partial: a
        streaming recogniser may not send a partial for the last word before its final, and sends none after
        it. Not carried into a continued turn: a recogniser without partials would leave it standing alone."""
        text = recognition.text.strip()
        if text:
            self._final_words = (
                text if recognition.whole_turn or not self._before else f"{self._before} {text}"
            )

    async def _reopen(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.aclose()
        await self._open()


def _recognised(text: str) -> asyncio.Future[Recognition]:
    done: asyncio.Future[Recognition] = asyncio.get_running_loop().create_future()
    done.set_result(Recognition(text))
    return done


async def _text_of(pending: asyncio.Future[Recognition]) -> str:
    """A carried-over recognition's words ("" if it failed); waiting for it never cancels it."""
    try:
        return (await asyncio.shield(pending)).text.strip()
    except asyncio.CancelledError:
        if pending.cancelled():
            return ""
        raise
    except Exception:
        return ""


def _followed_by(
    first: asyncio.Future[Recognition] | None, then: asyncio.Future[Recognition]
) -> asyncio.Future[Recognition]:
    """One recognition holding `first`'s words, then `then`'s, once both are in (either may fail: "")."""
    if first is None:
        return then
    joined: asyncio.Future[Recognition] = asyncio.get_running_loop().create_future()

    def words(part: asyncio.Future[Recognition]) -> str:
        return "" if part.cancelled() or part.exception() is not None else part.result().text.strip()

    def when_done(_: asyncio.Future[Recognition]) -> None:
        if first.done() and then.done() and not joined.done():
            joined.set_result(Recognition(" ".join(w for w in (words(first), words(then)) if w)))

    first.add_done_callback(when_done)
    then.add_done_callback(when_done)
    return joined
