"""One response: the brain's stream -> clauses -> TTS -> audio and transcript deltas, or function calls.

Audio goes out as fast as TTS produces it (the client buffers and paces playback), in ~80 ms chunks. A
cancelled response (barge-in, `response.cancel`) still closes its open item as `incomplete` and ends with
`response.done` status `cancelled`; whatever audio was sent is counted, so truncation can be exact.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.realtime_server.conversation import Item, RealtimeConversation
from apps.realtime_server.engine import RealtimeEngine
from apps.realtime_server.protocol import RealtimeSessionConfig, new_id, server_event
from registries.toolstore.decorator import ToolSpec
from voice.audio.codecs import alaw_encode, mulaw_encode
from voice.llm.base import ChatDone, ChatRequest, TextDelta, ToolCall
from voice.tts.clauses import ClauseSplitter

log = logging.getLogger(__name__)

CHUNK_MS = 80
Emit = Callable[[dict[str, Any]], None]


@dataclass
class VoiceChoice:
    """The session's TTS voice, falling back once (and for good) when the TTS does not know the name:
    an Azure or OpenAI voice name reaching espeak-ng, say."""

    fallback: str | None
    unknown: set[str] = field(default_factory=set)

    def pick(self, wanted: str | None) -> str | None:
        return self.fallback if wanted is None or wanted in self.unknown else wanted

    def reject(self, name: str) -> None:
        if name not in self.unknown:
            self.unknown.add(name)
            log.info("tts does not know the session voice; using the default", extra={"voice": name})


@dataclass
class ResponsePlan:
    config: RealtimeSessionConfig
    instructions: str
    modalities: Sequence[str]
    voice: str | None
    tools: Sequence[ToolSpec]
    pre_generated: str | None = None
    metadata: dict[str, str] | None = None


class ResponseRun:
    def __init__(
        self,
        engine: RealtimeEngine,
        conversation: RealtimeConversation,
        plan: ResponsePlan,
        emit: Emit,
        *,
        scratch: dict[str, Any],
        voices: VoiceChoice,
        session_id: str,
    ) -> None:
        self.id = new_id("resp")
        self._engine = engine
        self._conversation = conversation
        self._plan = plan
        self._emit = emit
        self._scratch = scratch
        self._voices = voices
        self._session_id = session_id
        self._audio = plan.config.audio_out and "audio" in plan.modalities
        self._rate = plan.config.output_rate
        self._format = plan.config.output_audio_format
        self._output: list[Item] = []
        self._message: Item | None = None
        self._spoken: list[str] = []
        self.status = "in_progress"
        self.cancel_reason = "turn_detected"
        """What `response.done` names if the task is cancelled ("client_cancelled" for response.cancel)."""

    # --- lifecycle -------------------------------------------------------------------------------------
    async def run(self, prelude: Callable[[], Awaitable[None]] | None = None) -> None:
        """`prelude` runs after `response.created` (the session waits there for pending transcriptions)."""
        self._emit(server_event("response.created", response=self._response()))
        details: dict[str, Any] | None = None
        try:
            if prelude is not None:
                await prelude()
            if self._plan.pre_generated is not None:
                await self._speak_verbatim(self._plan.pre_generated)
            else:
                await self._generate()
            self._close_message("completed")
            self.status = "completed"
        except asyncio.CancelledError:
            self.status = "cancelled"
            details = {"type": "cancelled", "reason": self.cancel_reason}
            self._close_message("incomplete")
            self._emit(server_event("response.done", response=self._response(details)))
            raise
        except Exception as exc:  # a failing provider ends this response, never the session
            log.exception("response failed")
            self.status = "failed"
            details = {"type": "failed", "error": {"type": "server_error", "code": type(exc).__name__}}
            self._close_message("incomplete")
        self._emit(server_event("response.done", response=self._response(details)))

    def _response(self, details: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": self.status,
            "status_details": details,
            "output": [item.wire() for item in self._output],
            "modalities": list(self._plan.modalities),
            "voice": self._plan.voice,
            "output_audio_format": self._format,
            "usage": None,
            "metadata": self._plan.metadata,
        }

    # --- the brain ---------------------------------------------------------------------------------------
    async def _generate(self) -> None:
        choice = self._plan.config.tool_choice
        tools = () if choice == "none" else self._plan.tools
        request = ChatRequest(
            messages=self._conversation.messages(self._plan.instructions, self._engine.tools.is_handoff),
            tools=tools,
            call_id=self._session_id,
            scratch=self._scratch,
        )
        splitter = ClauseSplitter()
        calls: list[ToolCall] = []
        stream = self._engine.brain.stream(request)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, TextDelta):
                    for clause in splitter.feed(event.text):
                        await self._say(clause)
                elif isinstance(event, ToolCall):
                    calls.append(event)
                elif isinstance(event, ChatDone):
                    break
        tail = splitter.flush()
        if tail:
            await self._say(tail)
        if calls:
            self._close_message("completed")
        for call in calls:
            self._function_call(call)

    async def _speak_verbatim(self, text: str) -> None:
        splitter = ClauseSplitter()
        for clause in splitter.feed(text + " "):
            await self._say(clause)
        tail = splitter.flush()
        if tail:
            await self._say(tail)

    def _function_call(self, call: ToolCall) -> None:
        item = Item(
            new_id("item"),
            "function_call",
            call_id=call.id,
            name=call.name,
            arguments="",
            status="in_progress",
        )
        index = self._add_output(item)
        ids = {"response_id": self.id, "item_id": item.id, "output_index": index, "call_id": call.id}
        self._emit(server_event("response.function_call_arguments.delta", **ids, delta=call.arguments))
        item.arguments, item.status = call.arguments, "completed"
        self._emit(
            server_event(
                "response.function_call_arguments.done", **ids, name=call.name, arguments=call.arguments
            )
        )
        self._emit(
            server_event(
                "response.output_item.done", response_id=self.id, output_index=index, item=item.wire()
            )
        )

    def _add_output(self, item: Item) -> int:
        previous = self._conversation.add(item)
        index = len(self._output)
        self._output.append(item)
        self._emit(
            server_event(
                "response.output_item.added", response_id=self.id, output_index=index, item=item.wire()
            )
        )
        self._emit(server_event("conversation.item.created", previous_item_id=previous, item=item.wire()))
        return index

    # --- speaking ----------------------------------------------------------------------------------------
    def _open_message(self) -> Item:
        if self._message is not None:
            return self._message
        part: dict[str, Any] = (
            {"type": "audio", "transcript": ""} if self._audio else {"type": "text", "text": ""}
        )
        item = Item(new_id("item"), "message", role="assistant", content=[part], status="in_progress")
        index = self._add_output(item)
        self._message = item
        self._emit(
            server_event("response.content_part.added", **self._part_ids(item, index), part=dict(part))
        )
        return item

    def _part_ids(self, item: Item, index: int) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": item.id, "output_index": index, "content_index": 0}

    async def _say(self, clause: str) -> None:
        clause = clause.strip()
        if not clause:
            return
        item = self._open_message()
        ids = self._part_ids(item, self._output.index(item))
        delta = clause if not self._spoken else f" {clause}"
        self._spoken.append(clause)
        part = item.content[0]
        if not self._audio:
            part["text"] = " ".join(self._spoken)
            self._emit(server_event("response.text.delta", **ids, delta=delta))
            return
        part["transcript"] = " ".join(self._spoken)
        self._emit(server_event("response.audio_transcript.delta", **ids, delta=delta))
        await self._synthesize(clause, item, ids)

    async def _synthesize(self, text: str, item: Item, ids: dict[str, Any]) -> None:
        voice = self._voices.pick(self._plan.voice)
        chunk_bytes = self._rate * 2 * CHUNK_MS // 1000
        pending = bytearray()
        produced = False
        try:
            stream = self._engine.tts.stream(text, sample_rate=self._rate, voice=voice)
            async with contextlib.aclosing(stream):
                async for pcm in stream:
                    produced = True
                    pending += pcm
                    while len(pending) >= chunk_bytes:
                        self._send_audio(bytes(pending[:chunk_bytes]), item, ids)
                        del pending[:chunk_bytes]
        except ValueError:
            if produced or voice is None or voice == self._voices.fallback:
                raise
            self._voices.reject(voice)
            await self._synthesize(text, item, ids)
            return
        if pending:
            self._send_audio(bytes(pending), item, ids)

    def _send_audio(self, pcm: bytes, item: Item, ids: dict[str, Any]) -> None:
        item.audio_ms += len(pcm) * 1000 / (2 * self._rate)
        if self._format == "g711_ulaw":
            payload = mulaw_encode(pcm)
        elif self._format == "g711_alaw":
            payload = alaw_encode(pcm)
        else:
            payload = pcm
        self._emit(
            server_event("response.audio.delta", **ids, delta=base64.b64encode(payload).decode("ascii"))
        )

    def _close_message(self, status: str) -> None:
        item, self._message = self._message, None
        if item is None:
            return
        item.status = status
        ids = self._part_ids(item, self._output.index(item))
        part = dict(item.content[0])
        if self._audio:
            self._emit(server_event("response.audio.done", **ids))
            self._emit(
                server_event("response.audio_transcript.done", **ids, transcript=part.get("transcript", ""))
            )
        else:
            self._emit(server_event("response.text.done", **ids, text=part.get("text", "")))
        self._emit(server_event("response.content_part.done", **ids, part=part))
        self._emit(
            server_event(
                "response.output_item.done",
                response_id=self.id,
                output_index=ids["output_index"],
                item=item.wire(),
            )
        )
