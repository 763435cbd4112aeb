"""The cascade's turn-taking: what the caller's audio means for the agent's reply.

Each inbound frame goes to recognition (`CallerListener`) and to the end-of-turn judge (`TurnJudge`); its VAD
windows go to the `TurnTracker`, whose events become actions on the cascade (its `TurnHost` side): pause,
resume or interrupt the agent, start a reply for a caller turn.

In semantic mode a reply may start early, on a likely end of turn (`TurnLikelyEnded`): recognition is
finalised and the brain asked while the caller is still quiet, but nothing is played until the turn really
ends (`TurnEnded` resolves the reply's gate). Until the caller has heard `CONTINUE_WITHIN_MS` of the reply
(or a tool acts on their words) it can still be dropped: if the caller goes on, after the pause
(`TurnResumed`) or after the turn end (`TurnStarted`), the reply is cancelled (StopAudio if some of it went
out) and its words, recognised or still being recognised, open the caller's continued turn: one turn, one
reply, nothing lost ("I need to report an accident. ... I was rear-ended yesterday."). After that the caller's
turn is committed, and speech is a barge-in as usual.

Latencies measured from the caller's speech use the audio clock, so they do not shrink when our frame
handling runs behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from voice.audio.turn_batcher import TurnScorer
from voice.audio.turns import (
    BargeIn,
    PauseAgent,
    ResumeAgent,
    TurnEnded,
    TurnEvent,
    TurnLikelyEnded,
    TurnPaused,
    TurnPolicy,
    TurnResumed,
    TurnStarted,
    TurnTracker,
)
from voice.speech_cascade.listening import CallerListener
from voice.speech_cascade.records import CallerTurn
from voice.speech_cascade.speaker import AgentSpeaker
from voice.speech_cascade.turn_judge import TurnJudge
from voice.telemetry import CallTelemetry
from voice.transcript import utcnow
from voice.transports.cadence import AudioClock

log = logging.getLogger(__name__)

CONTINUE_WITHIN_MS = 300.0
"""How much of a reply's audio may have gone out (on the caller's audio clock) when their speech is detected
for it to go on with their turn rather than barge in: speech starts about 60-100 ms before the VAD reports it,
so the caller had heard at most ~200-250 ms, under a speaking reaction time: they were not answering it. Then
the caller's turn is committed (history, transcript, the brain's state)."""


class TurnHost(Protocol):
    """What turn-taking needs from its cascade."""

    @property
    def speaker(self) -> AgentSpeaker | None: ...

    def replying(self) -> bool:
        """The agent is speaking or preparing a reply (an early reply aside)."""
        ...

    def caller_acted(self) -> None:
        """The caller's audio did something (the idle watchdog starts over)."""
        ...

    async def interrupt(self, why: str) -> bool:
        """Stop the agent now; True if StopAudio went out."""
        ...

    def reply_to(self, turn: CallerTurn, gate: asyncio.Future[None] | None) -> bool:
        """Start the reply to a caller turn (held until `gate` resolves, if given); False if none can start."""
        ...

    def reply_audible_since(self) -> float | None:
        """Monotonic time the first audio of the reply in progress went out (None: nothing yet)."""
        ...

    def commit_answered_turn(self) -> None:
        """The caller's turn that the reply in progress answers is over for good: into history and transcript."""
        ...

    async def drop_reply(self) -> None:
        """Cancel the reply in progress (StopAudio if some of it went out); the caller's turn goes on."""
        ...


class TurnTaking:
    def __init__(
        self,
        policy: TurnPolicy,
        listener: CallerListener,
        scorer: TurnScorer | None,
        host: TurnHost,
        telemetry: CallTelemetry,
    ) -> None:
        self.tracker = TurnTracker(policy)
        self._listener = listener
        self._host = host
        self._telemetry = telemetry
        self.tracker.unfinished = listener.sounds_unfinished  # fixed mode: a breath mid-sentence is no end
        self.judge = TurnJudge(
            scorer,
            words_unfinished=listener.sounds_clearly_unfinished,
            words_complete=listener.sounds_complete,
            words_end_in_number=listener.ends_in_number,
            words_pending=self._words_pending,
        )
        self.tracker.judge = self.judge.verdict
        self._early: tuple[CallerTurn, asyncio.Future[None]] | None = None
        self._answering: CallerTurn | None = None  # the caller turn the reply in progress answers
        self._early_at_ms = 0  # when (audio clock) the early reply started
        self._sample_rate = 16000
        self._audio_clock = AudioClock()
        self._audio_s = 0.0

    def _words_pending(self) -> bool:
        """The judge's score waits for the recognised words when the reply starts on the likely end of turn: it
        needs them before it can be heard, so a score before them would shorten nothing."""
        return self.tracker.policy.speculate_after_ms > 0 and not self._listener.turn_words

    def open(self, sample_rate: int) -> None:
        self._sample_rate = sample_rate
        self.judge.open(sample_rate)

    @property
    def droppable(self) -> bool:
        """The reply in progress answers a caller turn that is not committed (no tool acted on it, the caller
        has heard under `CONTINUE_WITHIN_MS` of it): if the caller speaks now, they go on with that turn."""
        turn = self._answering
        return turn is not None and not turn.committed and self._host.replying()

    @property
    def agent_active(self) -> bool:
        return not self.droppable and self._host.replying()

    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        self._audio_s += len(pcm) / (2 * self._sample_rate)  # PCM16 mono
        self._audio_clock.observe(self._audio_s, time.monotonic())
        answering = self._answering
        if answering is not None and not answering.committed:  # before this frame's speech is looked at
            self._commit_once_heard()
        self._listener.hear(pcm)
        self.judge.hear(pcm)
        tracker = self.tracker
        if probabilities:  # 3 frames in 8 complete no VAD window
            # Whether the agent is active changes only in what an event sets off (nothing else runs between
            # windows without an await), so it is read once per frame, when a window first needs it (a quiet
            # window between turns does not), and again after events.
            active: bool | None = None
            for probability in probabilities:
                if tracker.skip_quiet(probability):
                    continue
                if active is None:
                    active = self.agent_active
                events = tracker.update(probability, agent_active=active)
                for event in events:
                    await self._on_event(event)
                if events:
                    active = self.agent_active
        if tracker.pause_pending:  # a long enough pause ends the turn on this frame, not on a later window
            for event in tracker.advance(round(self._audio_s * 1000), agent_active=self.agent_active):
                await self._on_event(event)

    def _commit_once_heard(self) -> None:
        """Commit the answered turn once `CONTINUE_WITHIN_MS` of its reply has gone out. Judged by when this
        frame is handled, not on the audio clock: a transport that sends nothing while the caller is quiet
        would make the audio clock read early, and a reply heard for seconds be dropped as unheard. A loop
        running behind only shortens the window (more barge-ins, never a wrongful drop)."""
        since = self._host.reply_audible_since()
        if since is not None and (time.monotonic() - since) * 1000 >= CONTINUE_WITHIN_MS:
            self._host.commit_answered_turn()

    async def _on_event(self, event: TurnEvent) -> None:
        self._host.caller_acted()
        speaker = self._host.speaker
        if isinstance(event, PauseAgent):
            if speaker is not None and await speaker.pause():
                self._report_barge_in(event.at_ms)
        elif isinstance(event, ResumeAgent):
            if speaker is not None:
                speaker.resume()
        elif isinstance(event, TurnStarted):
            resumed = await self.drop_unheard()  # the caller went on before hearing the reply: the same turn
            if resumed:
                log.info("unheard reply dropped: the caller went on after the turn end")
            self._listener.turn_started(resumed=resumed)
            self.judge.turn_started()
        elif isinstance(event, TurnPaused):
            self.judge.paused()
        elif isinstance(event, TurnResumed):
            self.judge.resumed()
            if await self.drop_unheard():
                self._listener.turn_started(resumed=True)
        elif isinstance(event, TurnLikelyEnded):
            self._start_early(event.at_ms)
        elif isinstance(event, BargeIn):
            log.info("barge-in", extra={"onset_ms": event.at_ms})
            if await self._host.interrupt("barge-in"):  # only when no pause had already silenced the agent
                self._report_barge_in(event.at_ms)
        elif isinstance(event, TurnEnded):
            self._turn_ended(event)

    def _turn_ended(self, event: TurnEnded) -> None:
        self._listener.turn_ended()
        self.judge.turn_ended()
        if self._early is not None:
            turn, gate = self._early
            self._early = None
            turn.end_of_turn_ms = float(event.silence_ms)
            turn.early_start_ms = float(self.tracker.elapsed_ms - self._early_at_ms)
            turn.started_at = turn.ended_at - timedelta(milliseconds=event.speech_ms)
            gate.set_result(None)  # the reply may be heard now
            return
        active = self.agent_active
        if (self.tracker.turn_was_backchannel and active) or (active and not self.tracker.policy.barge_in):
            # "uh-huh" over the agent, or talk over an agent that may not be interrupted: not a turn.
            self._listener.discard_turn()
            return
        turn = self._caller_turn(event.at_ms, event.speech_ms, float(event.silence_ms))
        if self._host.reply_to(turn, None):
            self._answering = turn

    def _caller_turn(self, at_ms: int, speech_ms: int, end_of_turn_ms: float | None = None) -> CallerTurn:
        last_voiced_at = self.audio_arrival(at_ms)
        ended_at = utcnow() - timedelta(seconds=time.monotonic() - last_voiced_at)
        return CallerTurn(
            text="",
            kind="speech",
            last_voiced_at=last_voiced_at,
            end_of_turn_ms=end_of_turn_ms,
            started_at=ended_at - timedelta(milliseconds=speech_ms),
            ended_at=ended_at,
        )

    def _start_early(self, at_ms: int) -> None:
        """Recognition and the brain start now; the caller hears nothing until the turn ends."""
        if self._early is not None or self._host.replying():
            return
        onset = self.tracker.turn_onset_ms
        turn = self._caller_turn(at_ms, at_ms - (onset if onset is not None else at_ms))
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._listener.turn_ended()
        if self._host.reply_to(turn, gate):
            self._early_at_ms = self.tracker.elapsed_ms
            self._early = (turn, gate)
            self._answering = turn
        else:
            self._listener.turn_started(resumed=True)

    async def drop_unheard(self) -> bool:
        """The caller went on (or keyed): cancel the reply they have not (really) heard; its words open the
        caller's next turn."""
        if not self.droppable or self._answering is None:
            return False
        turn, self._answering = self._answering, None
        if self._early is not None:
            self._early[1].cancel()
            self._early = None
        await self._host.drop_reply()
        self._telemetry.turn_continued()
        self._listener.carry_text(turn.text)  # recognised already; a recognition still running carries itself
        return True

    def audio_arrival(self, audio_ms: float) -> float:
        """Monotonic time at which the caller's audio at `audio_ms` reached us (had no frame been late)."""
        return self._audio_clock.arrival(audio_ms / 1000, default=time.monotonic())

    def _report_barge_in(self, onset_ms: int) -> None:
        """Caller's speech onset (on the audio clock) -> StopAudio sent (now)."""
        self._telemetry.barge_in(max(0.0, time.monotonic() - self.audio_arrival(onset_ms)))

    async def aclose(self) -> None:
        if self._early is not None:
            self._early[1].cancel()
            self._early = None
        await self.judge.aclose()
