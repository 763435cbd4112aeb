"""`RealtimeSession`: one per WebSocket connection, speaking the beta dialect.

It owns every task it starts (the recogniser opening, transcriptions, the response in progress) and cancels
them on close. Events go out through `emit`, a non-blocking hand-off to the connection's single writer, so a
cancelled response can still close its items and report `response.done`. Bad input never ends the session:
each problem becomes one `error` event and nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from apps.realtime_server.conversation import Item, RealtimeConversation
from apps.realtime_server.end_of_turn import remove_fillers
from apps.realtime_server.engine import RealtimeEngine
from apps.realtime_server.input_audio import InputAudio, SpeechStart, SpeechStop
from apps.realtime_server.protocol import (
    AudioAppend,
    AudioClear,
    AudioCommit,
    ClientEvent,
    ItemCreate,
    ItemDelete,
    ItemTruncate,
    ProtocolError,
    RealtimeSessionConfig,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    error_event,
    new_id,
    parse_client_event,
    server_event,
    validation_problem,
)
from apps.realtime_server.responder import Emit, ResponsePlan, ResponseRun, VoiceChoice
from registries.toolstore.decorator import ToolSpec
from voice.stt.base import SttConfig, SttSession

log = logging.getLogger(__name__)


class RealtimeSession:
    def __init__(
        self,
        engine: RealtimeEngine,
        emit: Emit,
        config: RealtimeSessionConfig | None = None,
        *,
        model: str = "",
        translate: Callable[[Any], Any] | None = None,
    ) -> None:
        """`translate` maps a decoded client event of another dialect (GA) to beta terms first."""
        self.id = new_id("sess")
        self._translate = translate
        self.model = model
        self._engine = engine
        self._emit = emit
        self.config = config or RealtimeSessionConfig()
        self.conversation = RealtimeConversation()
        self._input = InputAudio(engine.vad, self.config, engine.turn_model)
        self._voices = VoiceChoice(engine.default_voice)
        self._scratch: dict[str, Any] = {}
        self._specs: list[ToolSpec] = []
        self._stt: asyncio.Task[SttSession | None] | None = None
        self._stt_phrases: tuple[str, ...] | None = None
        self._speech_item: str | None = None
        self._transcriptions: dict[str, asyncio.Task[str]] = {}
        self._last_transcription: asyncio.Task[str] | None = None
        self._response: asyncio.Task[None] | None = None
        self._run: ResponseRun | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._apply_tools()
        self._emit(server_event("session.created", session=self._session_wire()))

    async def aclose(self) -> None:
        self._closed = True
        tasks = [t for t in (self._response, *self._tasks, *self._transcriptions.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._input.aclose()
        if self._stt is not None:
            stt = await asyncio.gather(self._stt, return_exceptions=True)
            if isinstance(stt[0], SttSession):
                with contextlib.suppress(Exception):
                    await stt[0].aclose()

    def _own(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=f"{name}:{self.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _session_wire(self) -> dict[str, Any]:
        return {"id": self.id, "object": "realtime.session", "model": self.model, **self.config.wire()}

    # --- inbound ----------------------------------------------------------------------------------------
    async def handle_text(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError as exc:
            self._emit(error_event(ProtocolError("invalid_json", f"the message is not valid JSON: {exc}")))
            return
        try:
            if self._translate is not None:
                data = self._translate(data)
            await self.handle(parse_client_event(data))
        except ProtocolError as problem:
            if problem.event_id is None and isinstance(data, dict) and isinstance(data.get("event_id"), str):
                problem.event_id = data["event_id"]
            self._emit(error_event(problem))

    def handle_binary(self) -> None:
        self._emit(
            error_event(ProtocolError("invalid_frame", "binary frames are not accepted: send JSON text"))
        )

    async def handle(self, event: ClientEvent) -> None:
        if isinstance(event, AudioAppend):
            await self._append(event.audio)
        elif isinstance(event, SessionUpdate):
            self._update_session(event)
        elif isinstance(event, AudioCommit):
            self._commit()
        elif isinstance(event, AudioClear):
            self._clear()
        elif isinstance(event, ItemCreate):
            item = Item.from_param(event.item)
            previous = self.conversation.add(item, event.previous_item_id)
            self._emit(server_event("conversation.item.created", previous_item_id=previous, item=item.wire()))
        elif isinstance(event, ItemTruncate):
            self.conversation.truncate(event.item_id, event.content_index, event.audio_end_ms)
            self._emit(
                server_event(
                    "conversation.item.truncated",
                    item_id=event.item_id,
                    content_index=event.content_index,
                    audio_end_ms=event.audio_end_ms,
                )
            )
        elif isinstance(event, ItemDelete):
            self.conversation.delete(event.item_id)
            self._emit(server_event("conversation.item.deleted", item_id=event.item_id))
        elif isinstance(event, ResponseCreate):
            self._create_response(event)
        elif isinstance(event, ResponseCancel):
            self._cancel_response(event)

    # --- session ------------------------------------------------------------------------------------------
    def _update_session(self, event: SessionUpdate) -> None:
        try:
            config, ignored = self.config.merged_with(event.session)
        except ValidationError as exc:
            raise validation_problem(exc, event.event_id, "session") from None
        if ignored:
            log.debug("session fields ignored", extra={"fields": ignored})
        self.config = config
        self._input.configure(config)
        self._apply_tools()
        self._emit(server_event("session.updated", session=self._session_wire()))

    def _apply_tools(self) -> None:
        self._specs = [self._engine.tools.resolve(tool) for tool in self.config.tools]
        phrases = self._engine.tools.phrases(self._specs)
        if phrases != self._stt_phrases:
            self._stt_phrases = phrases
            self._reopen_stt(phrases)

    def _reopen_stt(self, phrases: tuple[str, ...]) -> None:
        previous = self._stt
        after = self._last_transcription

        async def open_new() -> SttSession | None:
            try:
                session = await self._engine.stt.open_session(
                    SttConfig(
                        sample_rate=16000, phrases=phrases, call_id=self.id, on_partial=self._input.heard
                    )
                )
            except Exception as exc:
                log.error("no speech recognition for this session", extra={"error": type(exc).__name__})
                session = None
            if previous is not None:  # retire the old recogniser once its last turn is transcribed
                if after is not None:
                    await asyncio.gather(after, return_exceptions=True)
                old = (await asyncio.gather(previous, return_exceptions=True))[0]
                if isinstance(old, SttSession):
                    with contextlib.suppress(Exception):
                        await old.aclose()
            return session

        self._stt = self._own(open_new(), "stt")

    # --- input audio ----------------------------------------------------------------------------------------
    async def _append(self, audio: str) -> None:
        pcm = self._input.decode(audio)
        for event in await self._input.feed(pcm):
            if isinstance(event, SpeechStart):
                self._speech_started(event.at_ms)
            elif isinstance(event, SpeechStop):
                self._speech_stopped(event.at_ms)

    def _speech_started(self, at_ms: int) -> None:
        item_id = self._speech_item = new_id("item")
        self._emit(server_event("input_audio_buffer.speech_started", audio_start_ms=at_ms, item_id=item_id))
        detection = self.config.turn_detection
        if (
            self._response is not None
            and not self._response.done()
            and detection
            and detection.interrupt_response
        ):
            self._response.cancel()
        stt = self._ready_stt()
        if stt is not None and (self._last_transcription is None or self._last_transcription.done()):
            stt.push(self._input.turn_audio())  # the pre-roll and the onset, then live
            self._input.live_sink = stt.push

    def _speech_stopped(self, at_ms: int) -> None:
        item_id = self._speech_item or new_id("item")
        self._speech_item = None
        self._emit(server_event("input_audio_buffer.speech_stopped", audio_end_ms=at_ms, item_id=item_id))
        self._commit_turn(item_id)
        detection = self.config.turn_detection
        if detection is not None and detection.create_response:
            self._start_response(self._plan(None), wait_for_active=True)

    def _commit(self) -> None:
        if self._input.detecting and self._input.in_speech:
            self._speech_stopped(int(self._input.input_ms))
            return
        if not self._input.turn_audio():
            raise ProtocolError("input_audio_buffer_commit_empty", "the input audio buffer is empty")
        self._commit_turn(new_id("item"))

    def _commit_turn(self, item_id: str) -> None:
        live = self._input.live_sink is not None
        self._input.live_sink = None
        audio = self._input.take_turn_audio()
        item = Item(item_id, "message", role="user", content=[{"type": "input_audio", "transcript": None}])
        previous = self.conversation.add(item)
        self._emit(server_event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id))
        self._emit(server_event("conversation.item.created", previous_item_id=previous, item=item.wire()))
        stt = self._ready_stt() if live else None
        ending = asyncio.ensure_future(stt.end_of_turn()) if stt is not None else None
        task = asyncio.create_task(self._transcribe(item, audio, ending, self._last_transcription))
        self._transcriptions[item_id] = self._last_transcription = task
        task.add_done_callback(lambda _: self._transcriptions.pop(item_id, None))

    def _clear(self) -> None:
        if self._input.live_sink is not None:
            stt = self._ready_stt()
            if stt is not None:
                stt.discard_turn()
        self._input.clear()
        self._speech_item = None
        self._emit(server_event("input_audio_buffer.cleared"))

    def _ready_stt(self) -> SttSession | None:
        task = self._stt
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def _transcribe(
        self, item: Item, audio: bytes, ending: Awaitable[Any] | None, before: asyncio.Task[str] | None
    ) -> str:
        text = ""
        try:
            if ending is None:
                if before is not None:  # one turn at a time through the recogniser (never cancelling it)
                    await asyncio.wait([before])
                stt = await self._stt if self._stt is not None else None
                if stt is not None:
                    stt.push(audio)
                    ending = stt.end_of_turn()
            if ending is not None:
                text = (await ending).text.strip()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("recognition failed", extra={"error": type(exc).__name__})
            if self._stt_phrases is not None and not self._closed:
                self._reopen_stt(self._stt_phrases)
        detection = self.config.turn_detection
        if detection is not None and detection.remove_filler_words and detection.type != "server_vad":
            text = remove_fillers(text)
        item.content[0]["transcript"] = text
        if self.config.input_audio_transcription is not None:
            self._emit(
                server_event(
                    "conversation.item.input_audio_transcription.completed",
                    item_id=item.id,
                    content_index=0,
                    transcript=text,
                    usage={"type": "duration", "seconds": round(len(audio) / 32000, 3)},
                )
            )
        return text

    # --- responses ----------------------------------------------------------------------------------------
    def _plan(self, event: ResponseCreate | None) -> ResponsePlan:
        params = event.response if event is not None else None
        config = self.config
        pre: str | None = None
        if params is not None and params.pre_generated_assistant_message is not None:
            pre = " ".join(
                p.spoken_text() or "" for p in params.pre_generated_assistant_message.content
            ).strip()
        return ResponsePlan(
            config=config,
            instructions=(
                params.instructions if params and params.instructions is not None else config.instructions
            ),
            modalities=(params.modalities if params and params.modalities else config.modalities),
            voice=(params.voice if params and params.voice else config.voice),
            tools=list(self._specs),
            pre_generated=pre,
            metadata=params.metadata if params else None,
        )

    def _create_response(self, event: ResponseCreate) -> None:
        if self._response is not None and not self._response.done():
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"response {self._run.id if self._run else ''} is in progress; cancel it or wait for response.done",
                event_id=event.event_id,
            )
        self._start_response(self._plan(event))

    def _start_response(self, plan: ResponsePlan, *, wait_for_active: bool = False) -> None:
        if self._closed:
            return
        previous = self._response if wait_for_active else None
        run = ResponseRun(
            self._engine,
            self.conversation,
            plan,
            self._emit,
            scratch=self._scratch,
            voices=self._voices,
            session_id=self.id,
        )

        async def respond() -> None:
            if previous is not None and not previous.done():
                await asyncio.gather(previous, return_exceptions=True)
            self._run = run
            await run.run(prelude=self._transcripts_done)

        self._response = asyncio.create_task(respond(), name=f"response:{self.id}")

    async def _transcripts_done(self) -> None:
        """A response's prelude: wait for the input items' pending transcriptions. `asyncio.wait`, not
        `gather`: a response cancelled here (the caller went on, `response.cancel`) must not cancel them, or
        the item's words would never reach the client nor the next response."""
        pending = list(self._transcriptions.values())
        if pending:
            await asyncio.wait(pending)

    def _cancel_response(self, event: ResponseCancel) -> None:
        task = self._response
        if task is None or task.done():
            raise ProtocolError(
                "response_cancel_not_active",
                "there is no response in progress to cancel",
                event_id=event.event_id,
            )
        if event.response_id and self._run is not None and event.response_id != self._run.id:
            raise ProtocolError(
                "invalid_value", f"response {event.response_id!r} is not in progress", param="response_id"
            )
        if self._run is not None:
            self._run.cancel_reason = "client_cancelled"
        task.cancel()


SessionFactory = Callable[[Emit], RealtimeSession]
