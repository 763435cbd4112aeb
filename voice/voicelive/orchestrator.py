"""VoiceLiveOrchestrator: the call's audio bridged to a realtime speech-to-speech session (Azure AI VoiceLive,
OpenAI realtime beta events) through the azure-ai-voicelive async SDK; tools and handoffs run on our side.

One instance per call, driven by `MediaSession` like the SpeechCascade and reusing its multi-agent
`CallConversation`. It owns every task it starts: the session task (connect, receive loop, one reconnect), the
idle watchdog, tool runs, the wait for each response to finish playing, and the transcript writer. Caller
turn-taking is the server's VAD; barge-in is ours (StopAudio at once, then `response.cancel` and
`conversation.item.truncate`), on the server's `speech_started` or, sooner, on our own VAD over the caller
audio we forward (`LocalOnset`: pause on onset, resume if it was not a barge-in). A caller who goes on after
the turn end before hearing the reply (`continuation`) is not barging in: the reply is dropped unheard
(`response.cancel`, `conversation.item.delete`) and the next response answers the whole turn. The `TurnBook`
keeps the per-response state and the transcript; `ToolFollowUps` continue after function calls. A realtime
socket that cannot be kept, or a caller gone silent, ends the call with a reason, never in dead air.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from voice.audio.turns import BargeIn, PauseAgent, ResumeAgent
from voice.llm.base import dtmf_message
from voice.session.idle import IdleWatchdog
from voice.session.keypad import KeyPad
from voice.session.orchestrator import CallDeps
from voice.session.recorder import TurnRecorder
from voice.transports.playout import PacedPlayout
from voice.voicelive.bridge import InboundAudio, OutboundAudio
from voice.voicelive.channel import SESSION_LOST, RealtimeChannel
from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.continuation import heard_at
from voice.voicelive.followups import ToolFollowUps
from voice.voicelive.link import DEFAULT_CONNECT, ConnectFactory, RealtimeLink, log_server_error
from voice.voicelive.onset import LocalOnset
from voice.voicelive.session_config import build_session, output_rate
from voice.voicelive.speaker import Speaker
from voice.voicelive.tool_runner import replay_items, user_text_item
from voice.voicelive.turn_book import TurnBook
from voice.voicelive.usage import count_response, count_transcription

log = logging.getLogger(__name__)

DEFAULT_END_REASON = "caller hung up"
IDLE_TIMEOUT = "idle timeout"


class VoiceLiveOrchestrator:
    def __init__(
        self, deps: CallDeps, *, settings: VoiceLiveSettings, connect: ConnectFactory = DEFAULT_CONNECT
    ) -> None:
        self.uses_vad = settings.local_barge_in
        """The server detects turns; our VAD only runs for local barge-in."""
        conversation = deps.conversation
        self.conversation = conversation
        self.call_id = conversation.call_id
        self.settings = settings
        self.config = deps.config
        self.call_control = deps.call_control
        self.observer = deps.observer
        self._resumed = deps.resumed
        self._telemetry = deps.telemetry
        self._channel = RealtimeChannel(connect, settings)
        self._rate = 16000
        self._playout: PacedPlayout | None = None
        self._inbound: InboundAudio | None = None
        self._outbound: OutboundAudio | None = None
        self._onset: LocalOnset | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recorder = TurnRecorder(
            conversation, deps.transcripts, deps.observer, own=self.own, redaction=deps.redaction
        )
        self.book = TurnBook(
            conversation,
            recorder=self._recorder,
            own=self.own,
            save_state=deps.save_state,
            forget=self._channel.delete_items,
        )
        self.epoch = 0
        """Bumped whenever the caller takes the floor: follow-ups of an interrupted turn are void."""
        self.speaker = Speaker(
            self._channel, self.book, conversation, response_timeout_s=settings.response_timeout_s
        )
        self._followups = ToolFollowUps(
            self, self.book, self.speaker, tool_timeout_s=self.config.tool_timeout_s
        )
        self._idle = IdleWatchdog(self.config, busy=self._busy, say=self.speaker.say, give_up=self._give_up)
        self._keypad = KeyPad(self.config.dtmf_timeout_s, self._on_keyed)
        self._closed = False
        self.end_reason = DEFAULT_END_REASON

    # --- lifecycle (called by MediaSession) --------------------------------------------------------
    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        """Media is flowing: connect in the background (frames are dropped until the session is ready)."""
        self._rate = sample_rate
        self._playout = playout
        self._inbound = InboundAudio(sample_rate)
        self._outbound = OutboundAudio(playout, sample_rate)
        if self.uses_vad:
            self._onset = LocalOnset(self.conversation.agent, sample_rate)
        self.book.attach(self._inbound, self._outbound, playout)
        self._recorder.start(self.book.reply_draft)
        self._session_task = asyncio.create_task(self._run_session(), name=f"voicelive:{self.call_id}")
        self._idle_task = asyncio.create_task(self._idle.run(), name=f"voicelive-idle:{self.call_id}")

    async def aclose(self, reason: str | None = None) -> None:
        """The call is over: stop every task, close the socket, keep what was heard, flush the transcript."""
        if self._closed:
            return
        self._closed = True
        if reason and self.end_reason == DEFAULT_END_REASON:  # our own reason (idle, session lost) wins
            self.end_reason = reason
        self._keypad.cancel()
        heard = self._outbound.heard_ms(time.monotonic()) if self._outbound is not None else 0
        audible = self._playout is not None and self._playout.is_audible
        tasks = [t for t in (self._session_task, self._idle_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._channel.close()
        item_id = self._outbound.item_id if self._outbound is not None else None
        self.book.close(heard_ms=heard, item_id=item_id, audible=audible)
        await self._recorder.close(self.end_reason)

    # --- inbound media and keys --------------------------------------------------------------------
    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One 20 ms frame at the call's rate. Dropped while (re)connecting: nothing queues unboundedly."""
        now = time.monotonic()
        if self._onset is not None:
            await self._local_onset(self._onset, pcm, probabilities, now)
        inbound = self._inbound
        if not self._channel.ready or inbound is None:
            return
        batch = inbound.add(pcm, now)
        if batch is not None:
            await self._channel.append_audio(batch)

    async def on_dtmf(self, digit: str) -> None:
        self._idle.caller_active()
        if self.agent_active:  # a key press interrupts, as on any IVR
            await self.interrupt("dtmf")
        self._keypad.press(digit)

    def _on_keyed(self, digits: str) -> None:
        if not self._closed:
            self.own(self._send_dtmf(digits))

    async def _send_dtmf(self, digits: str) -> None:
        text = dtmf_message(digits)
        self.epoch += 1
        self.book.caller_keyed(text)
        if await self.speaker.tell(user_text_item(text)):
            await self.speaker.request_response("reply")

    # --- the session -------------------------------------------------------------------------------
    async def _run_session(self) -> None:
        try:
            lost = await self._channel.serve(
                session=self._session_config,
                on_open=self._opened,
                handle=self._handle,
                on_drop=self.book.abandon,
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug of ours must not leave the caller in dead air
            log.exception("realtime bridge failed; ending the call")
            lost = SESSION_LOST
        if lost is not None and not self._closed:
            await self.end_call(SESSION_LOST, lost)

    async def _opened(self, link: RealtimeLink, reconnected: bool) -> None:
        assert self._inbound is not None and self._outbound is not None
        self._inbound.reset()  # the server counts audio time per connection
        self._outbound.configure(output_rate(link.output_format, self._rate))
        if reconnected:  # the new session starts empty: give the model the conversation so far
            for item in replay_items(self.conversation.history()):
                await self.speaker.tell(item)
        log.info(
            "realtime session ready", extra={"agent": self.conversation.agent.name, "replayed": reconnected}
        )
        if not reconnected:
            await self.speaker.greet(returning=self._resumed)

    def _session_config(self) -> Any:
        return build_session(self.conversation, self.settings, call_rate=self._rate)

    async def _handle(self, event: Any) -> None:
        """One server event; one we fail on is logged and skipped, never fatal."""
        kind = event.get("type")
        try:
            await self._dispatch(kind, event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("realtime event could not be handled", extra={"event": str(kind)})

    async def _dispatch(self, kind: Any, event: Any) -> None:
        book = self.book
        if kind == "response.audio.delta":
            book.on_audio_delta(event)
        elif kind == "input_audio_buffer.speech_started":
            await self._on_speech_started(event)
        elif kind == "input_audio_buffer.speech_stopped":
            self._idle.caller_active()
            book.on_speech_stopped(event)
        elif kind == "conversation.item.input_audio_transcription.completed":
            self._idle.caller_active()
            book.on_caller_transcript(event)
            count_transcription(self.settings, event, agent=self.conversation.agent.name)
        elif kind == "conversation.item.input_audio_transcription.failed":
            book.on_caller_transcript(event, failed=True)
        elif kind == "response.created":
            book.on_response_created(event.get("response") or {})
        elif kind == "response.audio_transcript.delta":
            book.on_transcript_delta(event)
        elif kind == "response.audio_transcript.done":
            book.on_transcript_done(event)
        elif kind == "response.audio.done":
            book.on_audio_done()
        elif kind == "response.function_call_arguments.done":
            book.on_function_call(event)
        elif kind == "response.output_item.added":
            book.on_output_item_added(event)
        elif kind == "response.output_item.done":
            book.on_output_item_done(event)
        elif kind == "response.done":
            count_response(self.settings, event.get("response"), agent=self.conversation.agent.name)
            if (state := book.on_response_done(event.get("response") or {})) is not None:
                self.own(self._followups.run(state, self.epoch))
        elif kind == "error":
            log_server_error("realtime server error", event)

    # --- interruption ------------------------------------------------------------------------------
    @property
    def agent_active(self) -> bool:
        audible = self._playout is not None and self._playout.is_audible
        return audible or self.book.generating

    async def _on_speech_started(self, event: Any) -> None:
        self._idle.caller_active()
        arrived = self.book.speech_onset(event)
        if self.conversation.agent.speech.barge_in:  # else: may not be interrupted (the server was told so)
            self.epoch += 1
            if not await self._went_on(arrived) and self.agent_active:
                log.info("barge-in", extra={"onset_ms": event.get("audio_start_ms")})
                await self.interrupt("barge-in", onset_at=arrived)
        self.book.on_speech_started(event, arrived)  # joins the turn the caller went on with, if any

    async def _went_on(self, onset_at: float) -> bool:
        """If the caller's speech (onset at monotonic `onset_at`) goes on with their last turn before they
        heard the reply to it, drop that reply unheard: silence anything of it already queued (the caller had
        heard at most its first `MAX_HEARD_MS` when they went on), cancel it, and have the server forget its items, so the next response answers
        the caller's whole turn. Not once a tool acted on the turn: that is a barge-in."""
        assert self._playout is not None and self._outbound is not None
        reply = self.book.unheard_reply(onset_at)
        if reply is None:
            return False
        stopped = await self._playout.interrupt()
        if stopped:
            self._telemetry.barge_in(max(0.0, time.monotonic() - onset_at))
        if self.book.generating:
            await self._channel.cancel_response()
        if reply.has_audio:
            self._outbound.forget_item()
        self.book.drop(reply)
        self._telemetry.turn_continued()
        log.info(
            "unheard reply dropped: the caller went on after the turn end",
            extra={"heard_ms": round(heard_at(reply, onset_at)), "stop_audio": stopped},
        )
        return True

    async def _local_onset(
        self, onset: LocalOnset, pcm: bytes, probabilities: Sequence[float], now: float
    ) -> None:
        """Our VAD's verdict on the caller's frame: pause the agent on onset, resume it if the sound died
        down short of a barge-in (a `speech_started` from the server would have interrupted it by then),
        interrupt on a barge-in. An agent that may not be interrupted gets none of these (its policy)."""
        assert self._playout is not None
        active = self.agent_active if probabilities else False
        for event in onset.hear(pcm, probabilities, agent_active=active, now=now):
            if isinstance(event, PauseAgent):
                if await self._playout.pause():  # StopAudio went out
                    self._telemetry.barge_in(max(0.0, time.monotonic() - onset.arrival(event.at_ms, now)))
                    log.info("agent paused: caller speech onset", extra={"onset_ms": event.at_ms})
            elif isinstance(event, ResumeAgent):
                if self._playout.paused:
                    self._playout.resume()
                    log.info("agent resumed: the caller's sound was not a barge-in")
            elif isinstance(event, BargeIn) and self.agent_active:
                self.epoch += 1
                if not await self._went_on(onset.arrival(event.at_ms, now)):
                    await self.interrupt("barge-in")

    async def interrupt(self, why: str, *, onset_at: float | None = None) -> None:
        """Stop the agent now (StopAudio first, unless a pause already sent it), then cancel and truncate on
        the server side."""
        assert self._playout is not None and self._outbound is not None
        heard = self._outbound.heard_ms(time.monotonic())
        item_id = self._outbound.item_id
        paused = self._playout.paused  # our local onset already silenced the agent
        stopped = await self._playout.interrupt()
        if stopped and onset_at is not None:  # caller's speech onset -> StopAudio sent
            self._telemetry.barge_in(max(0.0, time.monotonic() - onset_at))
        silenced = stopped or paused
        generating = self.book.generating
        if generating:
            await self._channel.cancel_response()
        if item_id and (silenced or generating):
            await self._channel.truncate(item_id, heard)
        self.book.cut(heard, item_id, stopped=silenced)
        self._outbound.forget_item()
        log.info("agent interrupted", extra={"by": why, "stop_audio": stopped})

    # --- idle ----------------------------------------------------------------------------------------
    def _busy(self) -> bool:
        """Not idle: (re)connecting, the agent audible or generating, the caller talking or keying, tools."""
        return (
            not self._channel.ready
            or self.agent_active
            or self.book.caller_speaking
            or self._keypad.pending
            or self._followups.busy
        )

    async def _give_up(self) -> None:
        self.end_reason = IDLE_TIMEOUT  # first: a caller who hangs up during the goodbye still timed out
        await self.speaker.say(self.config.goodbye, "goodbye")
        await self.end_call(IDLE_TIMEOUT, "caller silent")

    # --- what the follow-ups use (FollowUpHost) and the send helpers ----------------------------------
    def interrupted_since(self, epoch: int) -> bool:
        return self.epoch != epoch or self._closed

    def own(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run `work` in a task this call owns (cancelled by `aclose`)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def agent_changed(self, previous: str) -> None:
        if self.observer is not None:
            with contextlib.suppress(Exception):
                await self.observer.on_agent_changed(previous, self.conversation.agent.name)
        if self._onset is not None:
            self._onset.set_agent(self.conversation.agent)
        await self._channel.update_session(self._session_config())

    async def wait_played(self) -> None:
        if self._playout is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.response_timeout_s):
                    await self._playout.wait_idle()

    async def end_call(self, outcome: str, reason: str) -> None:
        self.end_reason = outcome
        try:
            await self.call_control.hang_up(reason)
        except Exception:
            log.exception("hang-up failed")

    async def transfer_to_human(self, reason: str) -> None:
        try:
            ok = await self.call_control.transfer_to_human(reason)
        except Exception:
            log.exception("transfer failed")
            ok = False
        if ok:
            self.end_reason = "transferred to a human"
        else:
            await self.speaker.say(self.config.transfer_failed, "apology")
