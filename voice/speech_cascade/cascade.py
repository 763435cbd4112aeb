"""SpeechCascade: VAD turns -> STT -> multi-agent brain with tools and handoffs -> clause-wise TTS, with barge-in.

One instance per call, driven by `MediaSession` (inbound audio with its VAD probabilities, DTMF) and owning
every task it starts: the reply in progress, tool runs, the idle watchdog and the transcript writer. The
caller never hears two things at once because all speech goes through one `AgentSpeaker`, and every path out
of a reply (finished, interrupted, failed) leaves the cascade listening, so there are no stuck-silent states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from voice.llm.base import dtmf_message
from voice.session.idle import IdleWatchdog
from voice.session.keypad import KeyPad
from voice.session.orchestrator import CallDeps
from voice.session.recorder import TurnRecorder
from voice.speech_cascade.actions import ReplyActions
from voice.speech_cascade.agent_profile import agent_turn_policy, agent_voice
from voice.speech_cascade.listening import CallerListener, RecognitionFailed, describe
from voice.speech_cascade.providers import CascadeProviders
from voice.speech_cascade.records import (
    CallerTurn,
    ReplyState,
    live_agent_text,
    record_caller,
    record_reply,
    reply_draft,
)
from voice.speech_cascade.speaker import AgentSpeaker
from voice.speech_cascade.thinking import TurnThinker
from voice.speech_cascade.turn_taking import TurnTaking
from voice.transcript import TurnKind
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
        semantic = self.config.turn_end_mode == "semantic" or conversation.agent.speech.turn_end == "semantic"
        self._taking = TurnTaking(
            agent_turn_policy(conversation.agent, self.config),
            self._listener,
            deps.turn_model if semantic else None,
            self,
            deps.telemetry,
        )
        self._turns = self._taking.tracker
        self._actions = ReplyActions(
            conversation=conversation,
            config=self.config,
            call_control=deps.call_control,
            transfer_line=deps.transfer_line,
            turns=self._turns,
            say=lambda text, kind: self._say_only(text, kind=kind),
            ended=self._set_end_reason,
        )
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

    # --- lifecycle (called by MediaSession) --------------------------------------------------------
    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        """Media is flowing: open recognition, start the helpers, greet the caller."""
        self._sample_rate = sample_rate
        self._taking.open(sample_rate)
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
        await self._taking.aclose()
        if cut_short is not None and self._reply_state is cut_short:
            self._reply_state = None
            self._close_reply(cut_short)
        await self._recorder.close(self._end_reason)

    # --- inbound media ---------------------------------------------------------------------------
    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One inbound frame at the call's rate, with the VAD probabilities of the windows it completed."""
        await self._taking.on_audio(pcm, probabilities)

    async def on_dtmf(self, digit: str) -> None:
        self._idle.caller_active()
        if self._agent_active:  # a key press interrupts, as on any IVR
            await self.interrupt("dtmf")
        self._keypad.press(digit)

    # --- turn-taking (TurnHost) ---------------------------------------------------------------------
    @property
    def _agent_active(self) -> bool:
        """Speaking or preparing a reply (for turn-taking, an unheard reply is the caller's turn still)."""
        return self.replying()

    @property
    def speaker(self) -> AgentSpeaker | None:
        return self._speaker

    def replying(self) -> bool:
        speaking = self._speaker is not None and self._speaker.speaking
        return speaking or (self._reply is not None and not self._reply.done())

    def caller_acted(self) -> None:
        self._idle.touch()

    def reply_to(self, turn: CallerTurn, gate: asyncio.Future[None] | None) -> bool:
        if self._ending:
            return False
        self._start_reply(self._respond_to_speech(turn, gate))
        return True

    def reply_audible_since(self) -> float | None:
        state = self._reply_state
        return state.utterance.first_audio_at if state is not None else None

    def commit_answered_turn(self) -> None:
        if self._reply_state is not None:
            self._commit_caller(self._reply_state)

    async def drop_reply(self) -> None:
        if self._speaker is not None:
            # StopAudio first if some of it went out; otherwise only the synthesis worker stops.
            await self._speaker.interrupt()
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reply
        self._reply_state = None

    def _commit_caller(self, state: ReplyState) -> None:
        """The caller's turn is over: their words join the history and the transcript, and what the brain
        worked out for them is kept (once)."""
        turn, state.pending_caller = state.pending_caller, None
        if turn is not None:
            turn.committed = True
            record_caller(self._recorder, turn, agent=self.conversation.agent.name)
            self.conversation.add_caller_text(turn.text)
        kept, state.on_commit = state.on_commit, []
        for keep in kept:
            keep()

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

    async def _respond_to_speech(self, turn: CallerTurn, gate: asyncio.Future[None] | None = None) -> None:
        try:
            heard = await self._listener.final_text()
        except RecognitionFailed:
            if gate is not None:
                await gate  # started early: say nothing before the turn is really over
            await self._say_only(self.config.apology, kind="apology")
            return
        turn.stt_final_ms = heard.stt_final_ms
        turn.text = heard.text
        turn.language = heard.language
        if not turn.text:
            log.info("turn had no recognisable words")
            if gate is not None:
                await gate  # no words (a cough?): nothing to say unless the turn really ended
            await self._say_only(self.config.not_heard, kind="reprompt")
            return
        await self._respond(turn, gate)

    def _own(self, task: asyncio.Future[Any]) -> None:
        """Keep a helper task referenced (and cancelled on close) until it is done."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _respond(self, turn: CallerTurn, gate: asyncio.Future[None] | None = None) -> None:
        conv = self.conversation
        self._idle.caller_active()
        await self._thinker.settle()
        state = self._begin_reply(turn, "reply", gate)
        state.pending_caller = turn
        # Spoken words join the history once the caller has heard some of the answer (TurnTaking commits them)
        # or tools act on them: until then the caller may go on, and the reply is dropped. Keyed digits are final.
        if turn.kind == "dtmf":
            self._commit_caller(state)
        try:
            await self._thinker.think(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("reply failed", extra={"error": describe(exc)})
            state.utterance.add(self.config.apology, agent_voice(conv.agent))
            state.kind = "apology"
            state.expects = None
        # The reply is decided (and kept: a dropped one never gets here): its question is what the caller answers
        self._listener.expect(state.expects)
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

    def _begin_reply(
        self, caller: CallerTurn | None, kind: TurnKind, gate: asyncio.Future[None] | None = None
    ) -> ReplyState:
        assert self._speaker is not None
        state = ReplyState(
            caller=caller, agent=self.conversation.agent.name, utterance=self._speaker.start(gate), gate=gate
        )
        state.utterance.on_text = live_agent_text(state, self._recorder)
        state.kind = kind
        self._reply_state = state
        return state

    async def _finish_reply(self, state: ReplyState) -> None:
        """Let the reply play out, then record it and carry out what the tools asked for."""
        state.utterance.finish()
        await _turn_over(state)
        assert self._speaker is not None
        await self._speaker.done()
        if state.utterance.interrupted:
            return  # whoever interrupted it recorded it (barge-in) and decides what happens next
        self._reply_state = None
        self._idle.touch()
        self._close_reply(state)
        for action, reason in state.after:
            await self._actions.carry_out(action, reason)

    def _close_reply(self, state: ReplyState) -> None:
        """Record the agent's turn (what was heard) in the history and the transcript."""
        self._commit_caller(state)
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
    async def committed(self, state: ReplyState) -> None:
        await _turn_over(state)
        self._commit_caller(state)

    def speaker_busy(self, state: ReplyState) -> bool:
        return self._speaker is not None and self._speaker.speaking and bool(state.utterance.clauses)

    async def agent_changed(self, previous: str, current: str, *, quiet: bool) -> None:
        self._turns.set_policy(agent_turn_policy(self.conversation.agent, self.config))
        if self._observer is None:
            return
        if quiet:  # after a barge-in: the caller's new turn must not wait on observers
            self._own(asyncio.ensure_future(self._observer.on_agent_changed(previous, current)))
            return
        with contextlib.suppress(Exception):
            await self._observer.on_agent_changed(previous, current)

    # --- interruption ------------------------------------------------------------------------------
    async def interrupt(self, why: str) -> bool:
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

    def _set_end_reason(self, reason: str) -> None:
        self._end_reason = reason

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


async def _turn_over(state: ReplyState) -> None:
    """Wait until the caller's turn that `state` answers is over (a reply started early waits for its gate)."""
    if state.gate is not None and not state.gate.done():
        await asyncio.shield(state.gate)  # cancelled with the reply if the caller goes on
