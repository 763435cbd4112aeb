"""SpeechCascade: VAD turns -> STT -> multi-agent brain with tools and handoffs -> clause-wise TTS, with barge-in.

One instance per call, driven by `MediaSession` (inbound audio with its VAD probabilities, DTMF) and owning
every task it starts: the reply in progress, tool runs, the idle watchdog and the transcript writer. The
caller never hears two things at once because all speech goes through one `AgentSpeaker`, and every path out
of a reply (finished, interrupted, failed) leaves the cascade listening, so there are no stuck-silent states.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import HandoffTarget, ToolContext
from voice.call_control import CallControl
from voice.errors import ProviderError
from voice.llm.base import ChatDone, ChatRequest, TextDelta, ToolCall, dtmf_message
from voice.speech_cascade.clauses import ClauseSplitter
from voice.speech_cascade.config import CascadeConfig, CascadeObserver, CascadeProviders
from voice.speech_cascade.conversation import (
    Conversation,
    ConversationState,
    agent_turn_policy,
    agent_voice,
)
from voice.speech_cascade.records import (
    CallerTurn,
    ReplyState,
    agent_turn,
    before_first_clause,
    caller_turn,
    handoff_edge,
    tool_record,
)
from voice.speech_cascade.speaker import AgentSpeaker
from voice.speech_cascade.turns import (
    BargeIn,
    PauseAgent,
    ResumeAgent,
    TurnEnded,
    TurnEvent,
    TurnStarted,
    TurnTracker,
)
from voice.stt.base import Recognition, SttConfig, SttSession
from voice.telemetry import NO_TELEMETRY, CallTelemetry
from voice.tool_calls import run_tool_call, tool_calls_message
from voice.transcript import (
    TranscriptStore,
    TranscriptTurn,
    TurnKind,
    utcnow,
)
from voice.transports.cadence import AudioClock
from voice.transports.playout import PacedPlayout
from voice.turn_recorder import TurnRecorder

log = logging.getLogger(__name__)

DEFAULT_END_REASON = "caller hung up"


class SpeechCascade:
    def __init__(
        self,
        *,
        conversation: Conversation,
        providers: CascadeProviders,
        call_control: CallControl,
        transcripts: TranscriptStore | None = None,
        observer: CascadeObserver | None = None,
        config: CascadeConfig | None = None,
        phrases: Sequence[str] = (),
        save_state: Callable[[ConversationState], None] | None = None,
        resumed: bool = False,
        telemetry: CallTelemetry = NO_TELEMETRY,
    ) -> None:
        self.conversation = conversation
        self._telemetry = telemetry
        self.call_id = conversation.call_id
        self._providers = providers
        self._call_control = call_control
        self._observer = observer
        self._recorder = TurnRecorder(
            conversation, transcripts, observer, own=lambda work: self._own(asyncio.ensure_future(work))
        )
        self.config = config or CascadeConfig()
        self._phrases = tuple(phrases)
        self._save_state = save_state
        self._resumed = resumed  # the conversation was restored: welcome the caller back, don't start over
        self._turns = TurnTracker(agent_turn_policy(conversation.agent))
        self._seq = itertools.count()
        self._tool_ids = itertools.count(1)
        self._speaker: AgentSpeaker | None = None
        self._stt: SttSession | None = None
        self._sample_rate = 16000
        self._preroll: deque[bytes] = deque()
        self._preroll_bytes = 0
        self._pushing = False
        self._reply: asyncio.Task[None] | None = None
        self._reply_state: ReplyState | None = None
        self._pending_tools: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._carry_over: asyncio.Future[Recognition] | None = None
        self._interrupted_rounds: list[tuple[asyncio.Future[Any], ToolContext, ToolCatalog]] = []
        self._idle_task: asyncio.Task[None] | None = None
        self._dtmf_digits: list[str] = []
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._last_activity = time.monotonic()
        self._reprompted = False
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
        self._recorder.start()
        await self._open_stt()
        self._idle_task = asyncio.create_task(self._idle_watchdog(), name=f"idle:{self.call_id}")
        self._start_reply(self._greet())

    async def aclose(self, reason: str | None = None) -> None:
        """The call is over: stop everything this cascade started and flush the transcript."""
        if reason and self._end_reason == DEFAULT_END_REASON:  # the agent's own reason (idle, goodbye) wins
            self._end_reason = reason
        self._ending = True
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        cut_short = self._reply_state
        if cut_short is not None and self._speaker is not None:  # hung up mid-sentence: keep what was heard
            self._speaker.mark_heard(cut_short.utterance)
        tasks = [t for t in (self._reply, self._idle_task) if t is not None]
        tasks += [*self._pending_tools, *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._speaker is not None:
            await self._speaker.aclose()
        if self._stt is not None:
            with contextlib.suppress(Exception):
                await self._stt.aclose()
        if cut_short is not None and self._reply_state is cut_short:
            self._reply_state = None
            self._close_reply(cut_short)
        await self._recorder.close(self._end_reason)

    # --- inbound media ---------------------------------------------------------------------------
    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One inbound frame at the call's rate, with the VAD probabilities of the windows it completed."""
        self._audio_s += len(pcm) / (2 * self._sample_rate)  # PCM16 mono
        self._audio_clock.observe(self._audio_s, time.monotonic())
        self._remember(pcm)
        for probability in probabilities:
            for event in self._turns.update(probability, agent_active=self._agent_active):
                await self._on_turn_event(event)

    async def on_dtmf(self, digit: str) -> None:
        self._last_activity = time.monotonic()
        if self._agent_active:  # a key press interrupts, as on any IVR
            await self._interrupt("dtmf")
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        if digit == "#":
            self._flush_dtmf()
            return
        self._dtmf_digits.append(digit)
        self._dtmf_timer = asyncio.get_running_loop().call_later(self.config.dtmf_timeout_s, self._flush_dtmf)

    # --- turn-taking -----------------------------------------------------------------------------
    @property
    def _agent_active(self) -> bool:
        speaking = self._speaker is not None and self._speaker.speaking
        return speaking or (self._reply is not None and not self._reply.done())

    def _remember(self, pcm: bytes) -> None:
        if self._pushing:
            if self._stt is not None:
                self._stt.push(pcm)
            return
        self._preroll.append(pcm)
        self._preroll_bytes += len(pcm)
        limit = self._sample_rate * 2 * self.config.preroll_ms // 1000
        while self._preroll_bytes > limit and len(self._preroll) > 1:
            self._preroll_bytes -= len(self._preroll.popleft())

    async def _on_turn_event(self, event: TurnEvent) -> None:
        self._last_activity = time.monotonic()
        if isinstance(event, PauseAgent):
            if self._speaker is not None and await self._speaker.pause():
                self._report_barge_in(event.at_ms)
        elif isinstance(event, ResumeAgent):
            if self._speaker is not None:
                self._speaker.resume()
        elif isinstance(event, TurnStarted):
            self._pushing = True
            if self._stt is not None:
                for chunk in self._preroll:
                    self._stt.push(chunk)
            self._preroll.clear()
            self._preroll_bytes = 0
        elif isinstance(event, BargeIn):
            log.info("barge-in", extra={"onset_ms": event.at_ms})
            if await self._interrupt("barge-in"):  # only when no pause had already silenced the agent
                self._report_barge_in(event.at_ms)
        elif isinstance(event, TurnEnded):
            self._pushing = False
            if self._turns.turn_was_backchannel and self._agent_active:
                # "uh-huh" over the agent: not a turn. Forget the audio and let the agent carry on.
                if self._stt is not None:
                    self._stt.discard_turn()
                return
            if self._agent_active and not self._turns.policy.barge_in:
                if self._stt is not None:
                    self._stt.discard_turn()
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

    def _flush_dtmf(self) -> None:
        self._dtmf_timer = None
        if not self._dtmf_digits or self._ending:
            return
        digits, self._dtmf_digits = "".join(self._dtmf_digits), []
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
        stt = self._stt
        if stt is None:
            await self._say_only(self.config.apology, kind="apology")
            return
        earlier = await self._carried_over_text()
        began = time.monotonic()
        pending = asyncio.ensure_future(stt.end_of_turn())
        try:
            recognition = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # The caller went on talking after a pause (a barge-in on our "thinking"): what they said
            # before the pause is not lost, it opens their next turn.
            self._carry_over = pending
            self._own(pending)
            raise
        except Exception as exc:
            log.error("recognition failed", extra={"error": _describe(exc)})
            await self._reopen_stt()
            await self._say_only(self.config.apology, kind="apology")
            return
        turn.stt_final_ms = (time.monotonic() - began) * 1000
        turn.text = " ".join(part for part in (earlier, recognition.text.strip()) if part)
        turn.language = recognition.language
        if not turn.text:
            log.info("turn had no recognisable words")
            await self._say_only(self.config.not_heard, kind="reprompt")
            return
        await self._respond(turn)

    async def _carried_over_text(self) -> str:
        pending, self._carry_over = self._carry_over, None
        if pending is None:
            return ""
        try:
            return (await pending).text.strip()
        except Exception:
            return ""

    def _own(self, task: asyncio.Future[Any]) -> None:
        """Keep a helper task referenced (and cancelled on close) until it is done."""
        self._background.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._background.discard)  # type: ignore[arg-type]

    async def _respond(self, turn: CallerTurn) -> None:
        conv = self.conversation
        self._reprompted = False
        await self._settle_pending_tools()
        self._record_caller(turn)
        conv.add_caller_text(turn.text)
        state = self._begin_reply(turn, "reply")
        try:
            await self._think(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("reply failed", extra={"error": _describe(exc)})
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
        self._last_activity = time.monotonic()
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
            self._record(agent_turn(state, call_id=self.call_id, seq=next(self._seq)))

    async def _think(self, state: ReplyState) -> None:
        """The brain/tool loop for one caller turn; clauses are spoken as soon as they are complete."""
        conv = self.conversation
        for _round in range(self.config.max_tool_rounds + 1):
            agent = conv.agent
            voice = agent_voice(agent)
            splitter = ClauseSplitter()
            calls: list[ToolCall] = []
            asked = time.monotonic()
            request = ChatRequest(
                messages=conv.messages(),
                tools=list(conv.catalog().values()),
                model=agent.model,
                agent=agent.name,
                call_id=self.call_id,
                scratch=conv.scratch_for_agent(),
            )
            try:
                async for event in self._providers.llm.stream(request):
                    if state.llm_first_token_ms is None and isinstance(event, TextDelta | ToolCall):
                        state.llm_first_token_ms = (time.monotonic() - asked) * 1000
                    if isinstance(event, TextDelta):
                        for clause in splitter.feed(event.text):
                            state.utterance.add(clause, voice)
                    elif isinstance(event, ToolCall):
                        calls.append(event)
                    elif isinstance(event, ChatDone):
                        break
                if tail := splitter.flush():
                    state.utterance.add(tail, voice)
            finally:
                state.llm_ms += before_first_clause(state, asked, time.monotonic())
            if not calls:
                return
            conv.history().append(tool_calls_message(calls))
            if not await self._run_tools(state, calls):
                return  # a handoff or an end of call: nothing more to say in this turn
        log.warning("tool round limit reached", extra={"rounds": self.config.max_tool_rounds})
        state.utterance.add(
            "Sorry, that is taking too long. Could you ask me again?", agent_voice(conv.agent)
        )

    async def _run_tools(self, state: ReplyState, calls: list[ToolCall]) -> bool:
        """Run one round of tool calls. True: ask the brain again; False: this turn's talking is done."""
        conv = self.conversation
        agent = conv.agent.name
        catalog = conv.catalog()
        history = conv.history()
        ctx = conv.tool_context()
        started = time.monotonic()
        # Tools run in tasks the cascade owns, not the reply: a barge-in cancels the reply, but a tool
        # that already started completes and its result still lands in the agent's history.
        tasks = []
        for call in calls:
            task = asyncio.create_task(
                run_tool_call(catalog, call, ctx, history, agent=agent, timeout_s=self.config.tool_timeout_s),
                name=f"tool:{call.name}:{self.call_id}",
            )
            self._pending_tools.add(task)
            task.add_done_callback(self._pending_tools.discard)
            tasks.append(task)
        gathered = asyncio.gather(*tasks)
        try:
            done, _ = await asyncio.wait({gathered}, timeout=self.config.holding_after_s)
            if not done and not self._speaker_busy(state):
                state.utterance.add(self.config.holding_phrase, agent_voice(conv.agent))
            results: list[tuple[ToolCall, ToolResult]] = await asyncio.shield(gathered)
        except asyncio.CancelledError:
            # Barged in while tools ran: they finish on their own; a handoff they asked for still happens.
            self._interrupted_rounds.append((gathered, ctx, catalog))
            raise
        finally:
            state.tools_ms += before_first_clause(state, started, time.monotonic())
        for call, result in results:
            state.tool_records.append(tool_record(call, result))
            conv.tools_called.append(call.name)
        again = True
        for action in ctx.actions:
            if action.kind == "handoff" and action.target:
                edge = handoff_edge(catalog, action.target)
                await self._hand_off(state, edge, action.detail)
                again = edge.type == "discrete"
            elif action.kind in ("hang_up", "transfer"):
                state.after.append((action.kind, action.detail))
                again = False
        if not again:
            # The brain is not asked again, so say what the tools prepared for the caller themselves
            # (a goodbye, "connecting you now"); a handoff's words come from the new agent's greeting.
            for _call, result in results:
                spec = catalog.get(result.name)
                if result.spoken and not (spec is not None and spec.handoff is not None):
                    state.utterance.add(result.spoken, agent_voice(conv.agent))
        return again

    def _late_actions(self, ctx: ToolContext, catalog: ToolCatalog) -> None:
        """Actions of tools that completed after the caller interrupted their turn.

        A handoff still moves the call (quietly: the caller is talking, so no greeting). Hang-up and transfer
        are dropped: the caller interrupted them, and would be cut off mid-sentence.
        """
        conv = self.conversation
        for action in ctx.actions:
            if action.kind == "handoff" and action.target and action.target != conv.agent.name:
                previous = conv.agent.name
                conv.hand_off(handoff_edge(catalog, action.target), action.detail)
                self._turns.set_policy(agent_turn_policy(conv.agent))
                log.info("handoff after barge-in", extra={"from": previous, "to": action.target})
                if self._observer is not None:
                    self._own(asyncio.create_task(self._observer.on_agent_changed(previous, action.target)))
            elif action.kind in ("hang_up", "transfer"):
                log.info("tool action dropped: the caller interrupted it", extra={"action": action.kind})

    def _speaker_busy(self, state: ReplyState) -> bool:
        """Is something still being said in this turn (then no holding phrase is needed)?"""
        return self._speaker is not None and self._speaker.speaking and bool(state.utterance.clauses)

    async def _settle_pending_tools(self) -> None:
        """Before asking the brain again, let tools from an interrupted turn finish (their results are
        part of the history the brain must see, and every tool call needs its tool message)."""
        if self._pending_tools:
            await asyncio.gather(*list(self._pending_tools), return_exceptions=True)
        rounds, self._interrupted_rounds = self._interrupted_rounds, []
        for gathered, ctx, catalog in rounds:
            with contextlib.suppress(Exception):
                await gathered
            self._late_actions(ctx, catalog)

    async def _hand_off(self, state: ReplyState, handoff: HandoffTarget, reason: str) -> None:
        conv = self.conversation
        previous = conv.agent.name
        target = handoff.agent
        returning = conv.hand_off(handoff, reason)
        state.agent = target  # the rest of this turn is the new agent's
        self._turns.set_policy(agent_turn_policy(conv.agent))
        log.info("handoff", extra={"from": previous, "to": target, "type": handoff.type})
        if self._observer is not None:
            with contextlib.suppress(Exception):
                await self._observer.on_agent_changed(previous, target)
        if handoff.type == "announced":
            # Close the previous agent's part of the turn, then let the new agent greet in its own voice.
            try:
                greeting = conv.greeting(returning=returning)
            except Exception:
                log.exception("greeting template failed; using a plain greeting")
                greeting = "Hello, how can I help?"
            state.utterance.add(greeting, agent_voice(conv.agent))

    async def _carry_out(self, action: str, reason: str) -> None:
        if action == "hang_up":
            self._end_reason = "agent ended the call"
            await self._call_control.hang_up(reason)
        elif action == "transfer":
            ok = await self._call_control.transfer_to_human(reason)
            if ok:
                self._end_reason = "transferred to a human"
            else:
                await self._say_only(self.config.transfer_failed, kind="apology")

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

    # --- idle --------------------------------------------------------------------------------------
    async def _idle_watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            if self._agent_active or self._turns.in_speech or self._dtmf_digits or self._pushing:
                self._last_activity = time.monotonic()
                continue
            idle = time.monotonic() - self._last_activity
            if idle >= self.config.idle_hang_up_s:
                self._end_reason = "idle timeout"
                await self._run_in_reply(self._say_only(self.config.goodbye, kind="goodbye"))
                await self._call_control.hang_up("caller silent")
                return
            if idle >= self.config.idle_reprompt_s and not self._reprompted:
                self._reprompted = True
                self._start_reply(self._say_only(self.config.reprompt, kind="reprompt"))

    async def _run_in_reply(self, work: Coroutine[Any, Any, None]) -> None:
        self._start_reply(work)
        if self._reply is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._reply)

    # --- providers ---------------------------------------------------------------------------------
    async def _open_stt(self) -> None:
        conv = self.conversation
        try:
            self._stt = await self._providers.stt.open_session(
                SttConfig(
                    sample_rate=self._sample_rate,
                    languages=conv.agent.speech.languages,
                    phrases=self._phrases,
                    call_id=self.call_id,
                )
            )
        except Exception as exc:
            log.error("no speech recognition for this call", extra={"error": _describe(exc)})
            self._stt = None

    async def _reopen_stt(self) -> None:
        if self._stt is not None:
            with contextlib.suppress(Exception):
                await self._stt.aclose()
        await self._open_stt()

    # --- transcript ----------------------------------------------------------------------------------
    def _record_caller(self, turn: CallerTurn) -> None:
        self._record(
            caller_turn(turn, call_id=self.call_id, seq=next(self._seq), agent=self.conversation.agent.name)
        )

    def _record(self, turn: TranscriptTurn) -> None:
        self._recorder.add(turn)


def _describe(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ProviderError) else f"{type(exc).__name__}"
