"""SpeechCascade: VAD turns -> STT -> multi-agent brain with tools and handoffs -> clause-wise TTS, with barge-in.

One instance per call, driven by `MediaSession` (inbound audio with its VAD probabilities, DTMF) and owning
every task it starts: the reply in progress, tool runs, the idle watchdog and the transcript writer. The
caller never hears two things at once because all speech goes through one `AgentSpeaker`, and every path out
of a reply (finished, interrupted, failed) leaves the cascade listening, so there are no stuck-silent states.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any

from voice.audio.turns import (
    BargeIn,
    PauseAgent,
    ResumeAgent,
    TurnEnded,
    TurnEvent,
    TurnStarted,
    TurnTracker,
)
from voice.llm.base import dtmf_message
from voice.session.idle import IdleWatchdog
from voice.session.keypad import KeyPad
from voice.session.orchestrator import CallDeps
from voice.session.recorder import TurnRecorder
from voice.session.warm_transfer import TransferLine, handover_summary, run_warm_transfer
from voice.speech_cascade.agent_profile import agent_turn_policy, agent_voice
from voice.speech_cascade.listening import CallerListener, RecognitionFailed, describe
from voice.speech_cascade.providers import CascadeProviders
from voice.speech_cascade.records import CallerTurn, ReplyState, record_caller, record_reply, reply_draft
from voice.speech_cascade.speaker import AgentSpeaker
from voice.speech_cascade.thinking import TurnThinker
from voice.transcript import TurnKind, utcnow
from voice.transports.cadence import AudioClock
from voice.transports.playout import PacedPlayout

log = logging.getLogger(__name__)

DEFAULT_END_REASON = "caller hung up"


class SpeechCascade:
    uses_vad = True  # turn-taking is ours: MediaSession scores every frame with the shared VAD

    def __init__(self, deps: CallDeps, *, providers: CascadeProviders, phrases: Sequence[str] = ()) -> None:
        conversation = deps.conversation
        self.conversation = conversation
        self.call_id = conversation.call_id
        self.config = deps.config
        self._telemetry = deps.telemetry
        self._providers = providers
        self._call_control = deps.call_control
        self._transfer_line = deps.transfer_line
        self._observer = deps.observer
        self._recorder = TurnRecorder(
            conversation,
            deps.transcripts,
            deps.observer,
            own=lambda work: self._own(asyncio.ensure_future(work)),
            redaction=deps.redaction,
        )
        self._listener = CallerListener(
            providers.stt,
            call_id=self.call_id,
            phrases=phrases,
            preroll_ms=self.config.preroll_ms,
            on_partial=lambda text: self._recorder.partial(
                "caller", text, agent=self.conversation.agent.name
            ),
        )
        self._save_state = deps.save_state
        self._resumed = (
            deps.resumed
        )  # the conversation was restored: welcome the caller back, don't start over
        self._turns = TurnTracker(agent_turn_policy(conversation.agent))
        self._turns.unfinished = self._listener.sounds_unfinished  # a breath mid-sentence is not a turn end
        self._thinker = TurnThinker(conversation, providers.llm, self.config, self)
        self._speaker: AgentSpeaker | None = None
        self._sample_rate = 16000
        self._reply: asyncio.Task[None] | None = None
        self._reply_state: ReplyState | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._idle = IdleWatchdog(self.config, busy=self._busy, say=self._say_and_wait, give_up=self._give_up)
        self._idle_task: asyncio.Task[None] | None = None
        self._keypad = KeyPad(self.config.dtmf_timeout_s, self._on_keyed)
        self._ending = False
        self._end_reason = DEFAULT_END_REASON
        # Latencies measured from the caller's speech use the audio clock, so they do not shrink when our
        # frame handling runs behind.
        self._audio_clock = AudioClock()
        self._audio_s = 0.0

    # --- lifecycle (called by MediaSession) --------------------------------------------------------
    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        """Media is flowing: open recognition, start the helpers, greet the caller."""
        self._sample_rate = sample_rate
        self._speaker = AgentSpeaker(
            self._providers.tts, playout, sample_rate=sample_rate, call_id=self.call_id
        )
        self._recorder.start(lambda: reply_draft(self._reply_state))
        await self._listener.open(sample_rate=sample_rate, languages=self.conversation.agent.speech.languages)
        self._idle_task = asyncio.create_task(self._idle.run(), name=f"idle:{self.call_id}")
        self._start_reply(self._greet())

    async def aclose(self, reason: str | None = None) -> None:
        """The call is over: stop everything this cascade started and flush the transcript."""
        if reason and self._end_reason == DEFAULT_END_REASON:  # the agent's own reason (idle, goodbye) wins
            self._end_reason = reason
        self._ending = True
        self._keypad.cancel()
        cut_short = self._reply_state
        if cut_short is not None and self._speaker is not None:  # hung up mid-sentence: keep what was heard
            self._speaker.mark_heard(cut_short.utterance)
        tasks: list[asyncio.Future[Any]] = [t for t in (self._reply, self._idle_task) if t is not None]
        tasks += [*self._thinker.pending, *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._speaker is not None:
            await self._speaker.aclose()
        await self._listener.aclose()
        if cut_short is not None and self._reply_state is cut_short:
            self._reply_state = None
            self._close_reply(cut_short)
        await self._recorder.close(self._end_reason)

    # --- inbound media ---------------------------------------------------------------------------
    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One inbound frame at the call's rate, with the VAD probabilities of the windows it completed."""
        self._audio_s += len(pcm) / (2 * self._sample_rate)  # PCM16 mono
        self._audio_clock.observe(self._audio_s, time.monotonic())
        self._listener.hear(pcm)
        for probability in probabilities:
            for event in self._turns.update(probability, agent_active=self._agent_active):
                await self._on_turn_event(event)

    async def on_dtmf(self, digit: str) -> None:
        self._idle.caller_active()
        if self._agent_active:  # a key press interrupts, as on any IVR
            await self._interrupt("dtmf")
        self._keypad.press(digit)

    # --- turn-taking -----------------------------------------------------------------------------
    @property
    def _agent_active(self) -> bool:
        speaking = self._speaker is not None and self._speaker.speaking
        return speaking or (self._reply is not None and not self._reply.done())

    async def _on_turn_event(self, event: TurnEvent) -> None:
        self._idle.touch()
        if isinstance(event, PauseAgent):
            if self._speaker is not None and await self._speaker.pause():
                self._report_barge_in(event.at_ms)
        elif isinstance(event, ResumeAgent):
            if self._speaker is not None:
                self._speaker.resume()
        elif isinstance(event, TurnStarted):
            self._listener.turn_started()
        elif isinstance(event, BargeIn):
            log.info("barge-in", extra={"onset_ms": event.at_ms})
            if await self._interrupt("barge-in"):  # only when no pause had already silenced the agent
                self._report_barge_in(event.at_ms)
        elif isinstance(event, TurnEnded):
            self._listener.turn_ended()
            if self._turns.turn_was_backchannel and self._agent_active:
                # "uh-huh" over the agent: not a turn. Forget the audio and let the agent carry on.
                self._listener.discard_turn()
                return
            if self._agent_active and not self._turns.policy.barge_in:
                self._listener.discard_turn()
                return
            last_voiced_at = self._audio_arrival(event.at_ms)
            ended_at = utcnow() - timedelta(seconds=time.monotonic() - last_voiced_at)
            turn = CallerTurn(
                text="",
                kind="speech",
                last_voiced_at=last_voiced_at,
                end_of_turn_ms=float(event.silence_ms),
                started_at=ended_at - timedelta(milliseconds=event.speech_ms),
                ended_at=ended_at,
            )
            self._start_reply(self._respond_to_speech(turn))

    def _on_keyed(self, digits: str) -> None:
        if self._ending:
            return
        turn = CallerTurn(text=dtmf_message(digits), kind="dtmf", last_voiced_at=time.monotonic())
        self._start_reply(self._respond(turn))

    # --- replies -----------------------------------------------------------------------------------
    def _start_reply(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (a coroutine) as the one reply in progress; a previous one must be over."""
        if self._ending:
            work.close()
            return
        if self._reply is not None and not self._reply.done():
            # Only reachable when barge-in is off for this agent and the caller talked over it: queue
            # behind the reply rather than speak over it.
            previous = self._reply

            async def after_previous() -> None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await previous
                await work

            self._reply = asyncio.create_task(after_previous(), name=f"reply:{self.call_id}")
            return
        self._reply = asyncio.create_task(work, name=f"reply:{self.call_id}")

    async def _respond_to_speech(self, turn: CallerTurn) -> None:
        try:
            heard = await self._listener.final_text()
        except RecognitionFailed:
            await self._say_only(self.config.apology, kind="apology")
            return
        turn.stt_final_ms = heard.stt_final_ms
        turn.text = heard.text
        turn.language = heard.language
        if not turn.text:
            log.info("turn had no recognisable words")
            await self._say_only(self.config.not_heard, kind="reprompt")
            return
        await self._respond(turn)

    def _own(self, task: asyncio.Future[Any]) -> None:
        """Keep a helper task referenced (and cancelled on close) until it is done."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _respond(self, turn: CallerTurn) -> None:
        conv = self.conversation
        self._idle.caller_active()
        await self._thinker.settle()
        record_caller(self._recorder, turn, agent=conv.agent.name)
        conv.add_caller_text(turn.text)
        state = self._begin_reply(turn, "reply")
        try:
            await self._thinker.think(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("reply failed", extra={"error": describe(exc)})
            state.utterance.add(self.config.apology, agent_voice(conv.agent))
            state.kind = "apology"
        await self._finish_reply(state)

    async def _greet(self) -> None:
        conv = self.conversation
        state = self._begin_reply(None, "greeting")
        try:
            text = conv.greeting(returning=self._resumed)
        except Exception:  # a template that only breaks on real call data must not leave dead air
            log.exception("greeting template failed; using a plain greeting")
            text = "Hello, how can I help you today?"
        state.utterance.add(text, agent_voice(conv.agent))
        await self._finish_reply(state)

    async def _say_only(self, text: str, *, kind: TurnKind) -> None:
        state = self._begin_reply(None, kind)
        state.utterance.add(text, agent_voice(self.conversation.agent))
        await self._finish_reply(state)

    def _begin_reply(self, caller: CallerTurn | None, kind: TurnKind) -> ReplyState:
        assert self._speaker is not None
        state = ReplyState(caller=caller, agent=self.conversation.agent.name, utterance=self._speaker.start())
        state.utterance.on_text = lambda text: self._recorder.partial("agent", text, agent=state.agent)
        state.kind = kind
        self._reply_state = state
        return state

    async def _finish_reply(self, state: ReplyState) -> None:
        """Let the reply play out, then record it and carry out what the tools asked for."""
        state.utterance.finish()
        assert self._speaker is not None
        await self._speaker.done()
        if state.utterance.interrupted:
            return  # whoever interrupted it recorded it (barge-in) and decides what happens next
        self._reply_state = None
        self._idle.touch()
        self._close_reply(state)
        for action, reason in state.after:
            await self._carry_out(action, reason)

    def _close_reply(self, state: ReplyState) -> None:
        """Record the agent's turn (what was heard) in the history and the transcript."""
        self._close_reply_records(state)
        if self._save_state is not None:
            try:
                self._save_state(self.conversation.snapshot_state())
            except Exception:
                log.exception("saving the conversation state failed")

    def _close_reply_records(self, state: ReplyState) -> None:
        heard = state.utterance.heard_text
        if state.kind in ("reply", "greeting"):
            self.conversation.add_agent_text(heard, agent=state.agent)
        if state.utterance.text or state.tool_records:
            record_reply(self._recorder, state)

    # --- what the thinker asks of the cascade (ThinkingHost) ---------------------------------------
    def speaker_busy(self, state: ReplyState) -> bool:
        return self._speaker is not None and self._speaker.speaking and bool(state.utterance.clauses)

    async def agent_changed(self, previous: str, current: str, *, quiet: bool) -> None:
        self._turns.set_policy(agent_turn_policy(self.conversation.agent))
        if self._observer is None:
            return
        if quiet:  # after a barge-in: the caller's new turn must not wait on observers
            self._own(asyncio.ensure_future(self._observer.on_agent_changed(previous, current)))
            return
        with contextlib.suppress(Exception):
            await self._observer.on_agent_changed(previous, current)

    async def _carry_out(self, action: str, reason: str) -> None:
        if action == "hang_up":
            self._end_reason = "agent ended the call"
            await self._call_control.hang_up(reason)
        elif action == "transfer":
            if self._transfer_line is not None and await self._warm_transfer(self._transfer_line, reason):
                return
            ok = await self._call_control.transfer_to_human(reason)
            if ok:
                self._end_reason = "transferred to a human"
            else:
                await self._say_only(self.config.transfer_failed, kind="apology")

    async def _warm_transfer(self, line: TransferLine, reason: str) -> bool:
        """Hold, brief a person, hand over (or come back and offer a callback). False: the caller could not
        be put on hold, so the cold transfer is tried instead."""
        policy = self._turns.policy
        # The person answering says "hello" over the briefing: it must not cut it short.
        self._turns.set_policy(dataclasses.replace(policy, barge_in=False))
        try:
            outcome = await run_warm_transfer(
                line,
                summary=handover_summary(self.conversation, reason),
                reason=reason,
                say_to_human=lambda text: self._say_only(text, kind="handover"),
                say_to_caller=lambda text: self._say_only(text, kind="reply"),
                no_answer_text=self.config.transfer_no_answer,
            )
        finally:
            self._turns.set_policy(policy)
        if outcome == "transferred":
            self._end_reason = "transferred to a human"
        return outcome != "failed"

    # --- interruption ------------------------------------------------------------------------------
    def _audio_arrival(self, audio_ms: float) -> float:
        """Monotonic time at which the caller's audio at `audio_ms` reached us (had no frame been late)."""
        return self._audio_clock.arrival(audio_ms / 1000, default=time.monotonic())

    def _report_barge_in(self, onset_ms: int) -> None:
        """Caller's speech onset (on the audio clock) -> StopAudio sent (now)."""
        self._telemetry.barge_in(max(0.0, time.monotonic() - self._audio_arrival(onset_ms)))

    async def _interrupt(self, why: str) -> bool:
        """Stop the agent now (StopAudio first), cancel the reply in progress and keep what was heard.
        True if this sent StopAudio (the caller could still hear the agent)."""
        state = self._reply_state
        stopped = False
        if self._speaker is not None:
            await self._speaker.interrupt()
            stopped = self._speaker.last_cut_sent_stop_audio
        reply = self._reply
        if reply is not None and not reply.done():
            reply.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reply
        self._reply = None
        if state is not None:
            self._reply_state = None
            state.utterance.interrupted = state.utterance.interrupted or bool(state.utterance.clauses)
            self._close_reply(state)
        log.info("agent interrupted", extra={"by": why})
        return stopped

    # --- idle ----------------------------------------------------------------------------------------
    def _busy(self) -> bool:
        """Not idle: the agent talking or thinking, the caller talking or keying."""
        return self._agent_active or self._turns.in_speech or self._keypad.pending or self._listener.pushing

    async def _say_and_wait(self, text: str, kind: TurnKind) -> bool:
        await self._run_in_reply(self._say_only(text, kind=kind))
        return True

    async def _give_up(self) -> None:
        self._end_reason = "idle timeout"
        await self._run_in_reply(self._say_only(self.config.goodbye, kind="goodbye"))
        await self._call_control.hang_up("caller silent")

    async def _run_in_reply(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as the reply and wait for it to end however it ends (a barge-in cancels only it)."""
        self._start_reply(work)
        if self._reply is not None:
            await asyncio.wait({self._reply})
