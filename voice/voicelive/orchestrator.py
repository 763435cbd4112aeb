"""VoiceLiveOrchestrator: the call's audio bridged to a realtime speech-to-speech session (Azure AI VoiceLive,
OpenAI realtime beta events) through the azure-ai-voicelive async SDK; tools and handoffs run on our side.

One instance per call, driven by `MediaSession` like the SpeechCascade and reusing its multi-agent
`Conversation`. It owns every task it starts: the session task (connect, receive loop, one reconnect), tool
runs, the wait for each response to finish playing, and the transcript writer. Caller turn-taking is the
server's VAD; barge-in is ours (StopAudio at once, then `response.cancel` and `conversation.item.truncate`).
A realtime socket that cannot be kept ends the call with a reason, never in dead air.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from azure.ai.voicelive.aio import ConnectionClosed, VoiceLiveConnection
from azure.ai.voicelive.aio import ConnectionError as VoiceLiveConnectionError
from azure.ai.voicelive.models import AssistantMessageItem, OutputTextContentPart, ResponseCreateParams

from voice.call_control import CallControl
from voice.llm.base import dtmf_message
from voice.speech_cascade.config import CascadeConfig, CascadeObserver
from voice.speech_cascade.conversation import Conversation, ConversationState
from voice.telemetry import NO_TELEMETRY, CallTelemetry
from voice.transcript import CallOutcome, TranscriptStore, TranscriptTurn, TurnKind, utcnow
from voice.transcript_writer import TranscriptWriter
from voice.transports.playout import PacedPlayout
from voice.voicelive.bridge import InboundAudio, OutboundAudio
from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.followups import ToolFollowUps
from voice.voicelive.link import DEFAULT_CONNECT, ConnectFactory, RealtimeLink, RealtimeUnavailable, open_link
from voice.voicelive.responses import (
    CallerSpeech,
    ResponseRequest,
    ResponseTurn,
    agent_turn,
    caller_turn,
)
from voice.voicelive.session_config import build_session, output_rate
from voice.voicelive.tool_runner import replay_items, user_text_item

log = logging.getLogger(__name__)

DEFAULT_END_REASON = "caller hung up"
SESSION_LOST = "realtime session lost"
TAG_KEY = "switchboard_request"  # response metadata that tells our own responses from the server's


class VoiceLiveOrchestrator:
    def __init__(
        self,
        *,
        conversation: Conversation,
        settings: VoiceLiveSettings,
        call_control: CallControl,
        transcripts: TranscriptStore | None = None,
        observer: CascadeObserver | None = None,
        config: CascadeConfig | None = None,
        save_state: Callable[[ConversationState], None] | None = None,
        resumed: bool = False,
        telemetry: CallTelemetry = NO_TELEMETRY,
        connect: ConnectFactory = DEFAULT_CONNECT,
    ) -> None:
        self.conversation = conversation
        self.call_id = conversation.call_id
        self.settings = settings
        self.config = config or CascadeConfig()
        self.call_control = call_control
        self._transcripts = transcripts
        self.observer = observer
        self._save_state = save_state
        self._resumed = resumed
        self._telemetry = telemetry
        self._connect = connect
        self._rate = 16000
        self._playout: PacedPlayout | None = None
        self._inbound: InboundAudio | None = None
        self._outbound: OutboundAudio | None = None
        self._link: RealtimeLink | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writer: TranscriptWriter | None = None
        self._seq = itertools.count()
        self._tags = itertools.count(1)
        self._requests: deque[ResponseRequest] = deque()
        self._response: ResponseTurn | None = None  # being generated (response.created .. response.done)
        self._open_turns: list[ResponseTurn] = []  # not yet written to the transcript
        self._pending_caller: CallerSpeech | None = None  # the caller turn the next response answers
        self._speech: dict[str, CallerSpeech] = {}  # by input item id, until its transcription arrives
        self.epoch = 0
        """Bumped whenever the caller takes the floor: follow-ups of an interrupted turn are void."""
        self._followups = ToolFollowUps(self)
        self._dtmf_digits: list[str] = []
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.end_reason = DEFAULT_END_REASON
        self._started_at = utcnow()

    # --- lifecycle (called by MediaSession) --------------------------------------------------------
    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        """Media is flowing: connect in the background (frames are dropped until the session is ready)."""
        self._rate = sample_rate
        self._playout = playout
        self._inbound = InboundAudio(sample_rate)
        self._outbound = OutboundAudio(playout, sample_rate)
        if self._transcripts is not None:
            conv = self.conversation
            self._writer = TranscriptWriter(
                self._transcripts,
                call_id=self.call_id,
                caller=conv.caller,
                scenario=conv.scenario.name,
                started_at=self._started_at,
            )
            self._writer.start()
        self._session_task = asyncio.create_task(self._run_session(), name=f"voicelive:{self.call_id}")

    async def aclose(self, reason: str | None = None) -> None:
        """The call is over: stop every task, close the socket, keep what was heard, flush the transcript."""
        if self._closed:
            return
        self._closed = True
        if reason and self.end_reason == DEFAULT_END_REASON:
            self.end_reason = reason
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        now = time.monotonic()
        heard = self._outbound.heard_ms(now) if self._outbound is not None else 0
        audible = self._playout is not None and self._playout.is_audible
        tasks = [t for t in (self._session_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        link, self._link = self._link, None
        if link is not None:
            await link.close()
        if audible:  # hung up mid-sentence: keep what was heard
            self._cut(heard, self._outbound.item_id if self._outbound is not None else None, stopped=True)
        for state in list(self._open_turns):
            self.complete(state)
        for request in self._requests:
            request.resolve(False)
        self._followups.flush_carried()
        if self._writer is not None:
            conv = self.conversation
            await self._writer.close(
                CallOutcome(
                    reason=self.end_reason,
                    agents_visited=tuple(dict.fromkeys(conv.visited)),
                    tools_called=tuple(conv.tools_called),
                )
            )

    # --- inbound media ---------------------------------------------------------------------------
    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One 20 ms frame at the call's rate. Dropped while (re)connecting: nothing queues unboundedly."""
        link, inbound = self._link, self._inbound
        if link is None or inbound is None:
            return
        batch = inbound.add(pcm, time.monotonic())
        if batch is not None:
            audio = base64.b64encode(batch).decode("ascii")
            try:
                await link.connection.input_audio_buffer.append(audio=audio)
            except Exception:  # a dead socket: the receive loop notices and reconnects
                pass

    async def on_dtmf(self, digit: str) -> None:
        if self.agent_active:  # a key press interrupts, as on any IVR
            await self.interrupt("dtmf")
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        if digit == "#":
            self._flush_dtmf()
            return
        self._dtmf_digits.append(digit)
        self._dtmf_timer = asyncio.get_running_loop().call_later(self.config.dtmf_timeout_s, self._flush_dtmf)

    def _flush_dtmf(self) -> None:
        self._dtmf_timer = None
        if not self._dtmf_digits or self._closed:
            return
        digits, self._dtmf_digits = "".join(self._dtmf_digits), []
        self.own(self._send_dtmf(digits))

    async def _send_dtmf(self, digits: str) -> None:
        text = dtmf_message(digits)
        self.epoch += 1
        self._record(
            caller_turn(text, None, call_id=self.call_id, seq=next(self._seq), agent=self._agent, kind="dtmf")
        )
        self.conversation.add_caller_text(text)
        self._pending_caller = CallerSpeech(started_at=utcnow(), last_voiced_at=time.monotonic())
        if await self.send(
            "conversation.item.create", lambda c: c.conversation.item.create(item=user_text_item(text))
        ):
            await self.request_response("reply")

    # --- the session -------------------------------------------------------------------------------
    async def _run_session(self) -> None:
        try:
            await self._session()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug of ours must not leave the caller in dead air
            log.exception("realtime bridge failed; ending the call")
            await self.end_call(SESSION_LOST, SESSION_LOST)

    async def _session(self) -> None:
        try:
            await self._open(replay=False)
        except RealtimeUnavailable as exc:
            log.error("realtime session could not be opened; ending the call", extra={"error_type": str(exc)})
            await self.end_call(SESSION_LOST, "realtime session unavailable")
            return
        await self.greet()
        reconnects = self.settings.reconnect_attempts
        while True:
            link = self._link
            if link is not None:
                await self._pump(link.connection)
            if self._closed:
                return
            await self._lose_link()
            if reconnects <= 0:
                log.error("realtime session lost again; ending the call")
                await self.end_call(SESSION_LOST, SESSION_LOST)
                return
            reconnects -= 1
            log.warning("realtime session dropped; reconnecting")
            try:
                await self._open(replay=True)
            except RealtimeUnavailable as exc:
                log.error("realtime reconnect failed; ending the call", extra={"error_type": str(exc)})
                await self.end_call(SESSION_LOST, SESSION_LOST)
                return

    async def _open(self, *, replay: bool) -> None:
        link = await open_link(self._connect, self.settings, self.session_config())
        assert self._inbound is not None and self._outbound is not None
        self._inbound.reset()
        self._outbound.configure(output_rate(link.output_format, self._rate))
        self._link = link
        if replay:  # the new session starts empty: give the model the conversation so far
            for item in replay_items(self.conversation.history()):
                await self.send(
                    "conversation.item.create", lambda c, item=item: c.conversation.item.create(item=item)
                )
        log.info("realtime session ready", extra={"agent": self._agent, "replayed": replay})

    def session_config(self) -> Any:
        return build_session(self.conversation, self.settings, call_rate=self._rate)

    async def _lose_link(self) -> None:
        """The socket dropped: whatever was being generated is over (its audio already queued still plays)."""
        link, self._link = self._link, None
        if link is not None:
            await link.close()
        state, self._response = self._response, None
        if state is not None:
            state.done = True
            self.settle(state)
        while self._requests:
            self._requests.popleft().resolve(False)

    async def _pump(self, connection: VoiceLiveConnection) -> None:
        """Handle server events until the socket drops. A bad event is logged and skipped, never fatal."""
        while True:
            try:
                event = await connection.recv()
            except ConnectionClosed:
                return
            except VoiceLiveConnectionError as exc:
                if isinstance(exc.__cause__, ValueError | TypeError):
                    log.warning("malformed realtime event dropped")
                    continue
                return
            except (OSError, RuntimeError):
                return
            except Exception as exc:  # the SDK chokes on JSON that is not an event object
                log.warning("malformed realtime event dropped", extra={"error_type": type(exc).__name__})
                continue
            kind = event.get("type")
            try:
                await self._dispatch(kind, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("realtime event could not be handled", extra={"event": str(kind)})

    async def _dispatch(self, kind: Any, event: Any) -> None:
        if kind == "response.audio.delta":
            self._on_audio_delta(event)
        elif kind == "input_audio_buffer.speech_started":
            await self._on_speech_started(event)
        elif kind == "input_audio_buffer.speech_stopped":
            self._on_speech_stopped(event)
        elif kind == "conversation.item.input_audio_transcription.completed":
            self._on_caller_transcript(event)
        elif kind == "response.created":
            self._on_response_created(event.get("response") or {})
        elif kind == "response.audio_transcript.delta":
            self._current(event).transcript.append(str(event.get("delta") or ""))
        elif kind == "response.audio_transcript.done":
            self._current(event).final_transcript = str(event.get("transcript") or "")
        elif kind == "response.audio.done":
            if self._outbound is not None:
                self._outbound.end()
        elif kind == "response.function_call_arguments.done":
            self._current(event).add_call(event.get("call_id"), event.get("name"), event.get("arguments"))
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                self._current(event).add_call(item.get("call_id"), item.get("name"), item.get("arguments"))
        elif kind == "response.done":
            self._on_response_done(event.get("response") or {})
        elif kind == "error":
            error = event.get("error") or {}
            log.warning(
                "realtime server error",
                extra={
                    "code": error.get("code"),
                    "error_type": error.get("type"),
                    "param": error.get("param"),
                },
            )

    # --- server events -----------------------------------------------------------------------------
    def _current(self, event: Any) -> ResponseTurn:
        """The response being generated (made up if the server skipped `response.created`)."""
        if self._response is None:
            self._on_response_created({"id": event.get("response_id")}, made_up=True)
        assert self._response is not None
        return self._response

    def _on_response_created(self, response: Any, *, made_up: bool = False) -> None:
        if self._response is not None and not self._response.done:  # superseded without a done
            self._response.done = True
            self.settle(self._response)
        request = None if made_up else self._match_request(response)
        state = ResponseTurn(response_id=response.get("id"), agent=self._agent, request=request)
        if request is not None:
            state.kind = request.kind
        if state.kind == "reply":
            state.caller, self._pending_caller = self._pending_caller, None
        self._followups.adopt(state)
        self._response = state
        self._open_turns.append(state)

    def _match_request(self, response: Any) -> ResponseRequest | None:
        tag = (response.get("metadata") or {}).get(TAG_KEY)
        for request in self._requests:
            if request.tag == tag:
                self._requests.remove(request)
                return request
        if tag is None and self._requests:  # a server that does not echo metadata: first come, first served
            return self._requests.popleft()
        return None

    def _on_audio_delta(self, event: Any) -> None:
        raw = event.get("delta")
        if not isinstance(raw, str) or self._outbound is None:
            return
        pcm = base64.b64decode(raw)  # lenient, like the SDK: stray characters are skipped
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if not pcm:
            return
        state = self._current(event)
        if state.interrupted:
            return  # audio still in flight after we cut the response
        item_id = event.get("item_id")
        self._outbound.play(item_id, pcm)
        state.audio_items.add(item_id)
        if state.first_audio_at is None:
            state.first_audio_at = time.monotonic()
        state.has_audio = True

    def _on_response_done(self, response: Any) -> None:
        state = self._response or ResponseTurn(response_id=response.get("id"), agent=self._agent)
        self._response = None
        if state not in self._open_turns:
            self._open_turns.append(state)
        state.done = True
        status = response.get("status")
        if status == "failed":
            details = response.get("status_details") or {}
            log.warning(
                "realtime response failed", extra={"error_type": (details.get("error") or {}).get("type")}
            )
        for item in response.get("output") or []:
            if item.get("type") == "function_call":
                state.add_call(item.get("call_id"), item.get("name"), item.get("arguments"))
        if self._outbound is not None and state.has_audio and not state.interrupted:
            self._outbound.end()
        if state.calls:
            self.own(self._followups.run(state, self.epoch))
        else:
            self.settle(state)

    async def _on_speech_started(self, event: Any) -> None:
        assert self._inbound is not None
        onset_ms = event.get("audio_start_ms")
        arrived = self._inbound.arrival(onset_ms)
        speech = CallerSpeech(started_at=utcnow() - timedelta(seconds=max(0.0, time.monotonic() - arrived)))
        if item_id := event.get("item_id"):
            self._speech[str(item_id)] = speech
        if not self.conversation.agent.speech.barge_in:
            return  # this agent may not be interrupted (the server was told so too)
        self.epoch += 1
        if self.agent_active:
            log.info("barge-in", extra={"onset_ms": onset_ms})
            await self.interrupt("barge-in", onset_at=arrived)

    def _on_speech_stopped(self, event: Any) -> None:
        assert self._inbound is not None
        last_voiced_at = self._inbound.arrival(event.get("audio_end_ms"))
        now = time.monotonic()
        item_id = str(event.get("item_id") or "")
        speech = self._speech.get(item_id) or CallerSpeech(started_at=utcnow())
        speech.ended_at = utcnow() - timedelta(seconds=max(0.0, now - last_voiced_at))
        speech.last_voiced_at = last_voiced_at
        speech.end_of_turn_ms = max(0.0, (now - last_voiced_at) * 1000)
        self._speech[item_id] = speech
        self._pending_caller = speech

    def _on_caller_transcript(self, event: Any) -> None:
        text = str(event.get("transcript") or "").strip()
        speech = self._speech.pop(str(event.get("item_id") or ""), None)
        if not text:
            return
        self._record(caller_turn(text, speech, call_id=self.call_id, seq=next(self._seq), agent=self._agent))
        self.conversation.add_caller_text(text)

    # --- interruption ------------------------------------------------------------------------------
    @property
    def agent_active(self) -> bool:
        audible = self._playout is not None and self._playout.is_audible
        return audible or (self._response is not None and not self._response.done)

    async def interrupt(self, why: str, *, onset_at: float | None = None) -> None:
        """Stop the agent now (StopAudio first), then cancel and truncate on the server side."""
        assert self._playout is not None and self._outbound is not None
        now = time.monotonic()
        heard = self._outbound.heard_ms(now)
        item_id = self._outbound.item_id
        stopped = await self._playout.interrupt()
        if stopped and onset_at is not None:  # caller's speech onset -> StopAudio sent
            self._telemetry.barge_in(max(0.0, time.monotonic() - onset_at))
        generating = self._response is not None and not self._response.done
        if generating:
            await self.send("response.cancel", lambda c: c.response.cancel())
        if item_id and (stopped or generating):
            await self.send(
                "conversation.item.truncate",
                lambda c: c.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=heard),
            )
        self._cut(heard, item_id, stopped=stopped)
        self._outbound.forget_item()
        log.info("agent interrupted", extra={"by": why, "stop_audio": stopped})

    def _cut(self, heard_ms: int, item_id: str | None, *, stopped: bool) -> None:
        """Mark the turns the caller stopped hearing: the one whose audio was playing (heard up to
        `heard_ms`) and the one still being generated (nothing of it heard if it had no audio playing)."""
        item_ms = self._outbound.item_ms if self._outbound is not None else None
        for state in self._open_turns:
            if state.interrupted or state.recorded:
                continue
            if stopped and state.has_audio and item_id in state.audio_items:
                state.interrupted, state.heard_ms, state.audio_ms = True, heard_ms, item_ms
            elif state is self._response and not state.done:
                state.interrupted, state.heard_ms = True, 0

    # --- finishing turns ---------------------------------------------------------------------------
    def settle(self, state: ResponseTurn) -> None:
        """The response is complete: write it down once the caller has heard it (or it was cut)."""
        self.own(self._finish_when_played(state))

    async def _finish_when_played(self, state: ResponseTurn) -> None:
        if self._playout is not None and state.has_audio and not state.interrupted:
            await self._playout.wait_idle()
        self.complete(state)

    def complete(self, state: ResponseTurn) -> None:
        if state.recorded:
            return
        state.recorded = True
        if state in self._open_turns:
            self._open_turns.remove(state)
        if state.audio_ms is None and self._outbound is not None and state.has_audio:
            state.audio_ms = self._outbound.item_ms
        heard = state.heard_text
        if state.kind in ("reply", "greeting"):
            self.conversation.add_agent_text(heard, agent=state.agent)
        if state.text or state.tool_records:
            self._record(agent_turn(state, call_id=self.call_id, seq=next(self._seq)))
        if self._save_state is not None:
            try:
                self._save_state(self.conversation.snapshot_state())
            except Exception:
                log.exception("saving the conversation state failed")
        if state.request is not None:
            state.request.resolve(not state.interrupted)

    # --- helpers used by the tool follow-ups ---------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def playout(self) -> PacedPlayout | None:
        return self._playout

    @property
    def _agent(self) -> str:
        return self.conversation.agent.name

    def own(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run `work` in a task this call owns (cancelled by `aclose`)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send(self, op: str, fn: Callable[[VoiceLiveConnection], Awaitable[None]]) -> bool:
        """Send on the current socket; False (logged) if there is none or it failed."""
        link = self._link
        if link is None:
            return False
        try:
            await fn(link.connection)
            return True
        except Exception as exc:
            log.warning("realtime send failed", extra={"op": op, "error_type": type(exc).__name__})
            return False

    async def request_response(self, kind: TurnKind, text: str | None = None) -> ResponseRequest:
        """`response.create`; with `text`, VoiceLive speaks exactly that (pre-generated assistant message)."""
        request = ResponseRequest(tag=f"r{next(self._tags)}", kind=kind, text=text)
        params = ResponseCreateParams(metadata={TAG_KEY: request.tag})
        if text:
            params.pre_generated_assistant_message = AssistantMessageItem(
                content=[OutputTextContentPart(text=text)]
            )
        self._requests.append(request)
        if not await self.send("response.create", lambda c: c.response.create(response=params)):
            self._requests.remove(request)
            request.resolve(False)
        return request

    async def say(self, text: str, kind: TurnKind) -> bool:
        """Speak `text` verbatim and wait (bounded) until the caller heard it. True if heard to the end."""
        request = await self.request_response(kind, text)
        try:
            async with asyncio.timeout(self.settings.response_timeout_s):
                played = await asyncio.shield(request.heard)
        except TimeoutError:
            log.warning("spoken line was not played in time", extra={"kind": kind})
            return False
        return played

    async def greet(self) -> None:
        try:
            text = self.conversation.greeting(returning=self._resumed)
        except Exception:  # a template that only breaks on real call data must not leave dead air
            log.exception("greeting template failed; using a plain greeting")
            text = "Hello, how can I help you today?"
        await self.request_response("greeting", text)

    async def end_call(self, outcome: str, reason: str) -> None:
        self.end_reason = outcome
        try:
            await self.call_control.hang_up(reason)
        except Exception:
            log.exception("hang-up failed")

    def _record(self, turn: TranscriptTurn) -> None:
        if self._writer is not None:
            self._writer.add(turn)
        if self.observer is not None:
            self.own(self.observer.on_turn(turn))
