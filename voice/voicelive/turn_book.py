"""TurnBook: the call's record of realtime responses and of the caller speech they answer.

It turns the server's response and transcript events into transcript turns: which of our `response.create`s a
response answers (by a metadata tag), its audio into the playout, its words, the caller turn it replies to,
whether it was heard to the end or cut, and writing each turn down exactly once. Deciding to interrupt is the
orchestrator's; the book only marks what the caller stopped hearing.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from voice.session.conversation import CallConversation, ConversationState
from voice.session.recorder import ReplyDraft, TurnRecorder
from voice.transcript import ToolCallRecord, TurnKind, utcnow
from voice.transports.playout import PacedPlayout
from voice.voicelive.bridge import InboundAudio, OutboundAudio
from voice.voicelive.responses import (
    TAG_KEY,
    CallerSpeech,
    ResponseRequest,
    ResponseTurn,
    record_caller,
    record_response,
)

log = logging.getLogger(__name__)


class TurnBook:
    def __init__(
        self,
        conversation: CallConversation,
        *,
        recorder: TurnRecorder,
        own: Callable[[Awaitable[Any]], asyncio.Task[Any]],
        save_state: Callable[[ConversationState], None] | None = None,
    ) -> None:
        self._conv = conversation
        self._recorder = recorder
        self._own = own
        self._save_state = save_state
        self._inbound: InboundAudio | None = None
        self._outbound: OutboundAudio | None = None
        self._playout: PacedPlayout | None = None
        self._tags = itertools.count(1)
        self._requests: deque[ResponseRequest] = deque()
        self._response: ResponseTurn | None = None  # being generated (response.created .. response.done)
        self._open_turns: list[ResponseTurn] = []  # not yet written to the transcript
        self._pending_caller: CallerSpeech | None = None  # the caller turn the next response answers
        self._speech: dict[str, CallerSpeech] = {}  # by input item id, until its transcription arrives
        self._carried: ResponseTurn | None = None
        """A silent function-call response: its tool records and caller turn go to the response that
        speaks the result, so the transcript has one agent turn per caller turn, like the cascade's."""
        self.caller_speaking = False
        """Between the server's speech_started and speech_stopped."""

    def attach(self, inbound: InboundAudio, outbound: OutboundAudio, playout: PacedPlayout) -> None:
        """The call's audio (media started)."""
        self._inbound, self._outbound, self._playout = inbound, outbound, playout

    @property
    def generating(self) -> bool:
        """A response is being generated (created and not yet done)."""
        return self._response is not None and not self._response.done

    @property
    def _agent(self) -> str:
        return self._conv.agent.name

    # --- our response.create requests --------------------------------------------------------------
    def expect(self, kind: TurnKind, text: str | None = None) -> ResponseRequest:
        """A response we are about to ask for; its `tag` goes into the request's metadata."""
        request = ResponseRequest(tag=f"r{next(self._tags)}", kind=kind, text=text)
        self._requests.append(request)
        return request

    def withdraw(self, request: ResponseRequest) -> None:
        """The request never reached the server."""
        if request in self._requests:
            self._requests.remove(request)
        request.resolve(False)

    def _match_request(self, response: Any) -> ResponseRequest | None:
        tag = (response.get("metadata") or {}).get(TAG_KEY)
        for request in self._requests:
            if request.tag == tag:
                self._requests.remove(request)
                return request
        if tag is None and self._requests:  # a server that does not echo metadata: first come, first served
            return self._requests.popleft()
        return None

    # --- response events ----------------------------------------------------------------------------
    def _current(self, event: Any) -> ResponseTurn:
        """The response being generated (made up if the server skipped `response.created`)."""
        if self._response is None:
            self.on_response_created({"id": event.get("response_id")}, made_up=True)
        assert self._response is not None
        return self._response

    def on_response_created(self, response: Any, *, made_up: bool = False) -> None:
        if self._response is not None and not self._response.done:  # superseded without a done
            self._response.done = True
            self.settle(self._response)
        request = None if made_up else self._match_request(response)
        state = ResponseTurn(response_id=response.get("id"), agent=self._agent, request=request)
        if request is not None:
            state.kind = request.kind
        if state.kind == "reply":
            state.caller, self._pending_caller = self._pending_caller, None
        carried, self._carried = self._carried, None
        if carried is not None:
            state.tool_records[:0] = carried.tool_records
            state.caller = state.caller or carried.caller
        self._response = state
        self._open_turns.append(state)

    def on_audio_delta(self, event: Any) -> None:
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

    def on_audio_done(self) -> None:
        if self._outbound is not None:
            self._outbound.end()

    def on_transcript_delta(self, event: Any) -> None:
        state = self._current(event)
        state.transcript.append(str(event.get("delta") or ""))
        self._recorder.partial("agent", "".join(state.transcript), agent=state.agent)

    def on_transcript_done(self, event: Any) -> None:
        self._current(event).final_transcript = str(event.get("transcript") or "")

    def on_function_call(self, event: Any, call: Any = None) -> None:
        """`response.function_call_arguments.done` (the event is the call) or an output item's call."""
        call = event if call is None else call
        self._current(event).add_call(call.get("call_id"), call.get("name"), call.get("arguments"))

    def on_output_item_done(self, event: Any) -> None:
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            self.on_function_call(event, item)

    def on_response_done(self, response: Any) -> ResponseTurn | None:
        """The response is complete. Returns it if it asked for function calls (the caller runs them, then
        `tools_ran`); otherwise it is settled here."""
        state = self._response or ResponseTurn(response_id=response.get("id"), agent=self._agent)
        self._response = None
        if state not in self._open_turns:
            self._open_turns.append(state)
        state.done = True
        if response.get("status") == "failed":
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
            return state
        self.settle(state)
        return None

    def tools_ran(self, state: ResponseTurn, records: list[ToolCallRecord], *, answered_next: bool) -> None:
        """The response's tools ran. If the next response speaks their result (`answered_next`) and this one
        said nothing, the records travel to that response; either way this one is settled."""
        state.tool_records.extend(records)
        if answered_next and not state.text:
            self._carried = _silent_copy(state)
            state.tool_records.clear()
            state.caller = None
        self.settle(state)

    # --- the caller ---------------------------------------------------------------------------------
    def on_speech_started(self, event: Any) -> float:
        """The server heard the caller start; returns the monotonic time that audio reached us."""
        assert self._inbound is not None
        arrived = self._inbound.arrival(event.get("audio_start_ms"))
        speech = CallerSpeech(started_at=utcnow() - timedelta(seconds=max(0.0, time.monotonic() - arrived)))
        if item_id := event.get("item_id"):
            self._speech[str(item_id)] = speech
        self.caller_speaking = True
        return arrived

    def on_speech_stopped(self, event: Any) -> None:
        assert self._inbound is not None
        self.caller_speaking = False
        last_voiced_at = self._inbound.arrival(event.get("audio_end_ms"))
        now = time.monotonic()
        item_id = str(event.get("item_id") or "")
        speech = self._speech.get(item_id) or CallerSpeech(started_at=utcnow())
        speech.ended_at = utcnow() - timedelta(seconds=max(0.0, now - last_voiced_at))
        speech.last_voiced_at = last_voiced_at
        speech.end_of_turn_ms = max(0.0, (now - last_voiced_at) * 1000)
        self._speech[item_id] = speech
        self._pending_caller = speech

    def on_caller_transcript(self, event: Any) -> None:
        text = str(event.get("transcript") or "").strip()
        speech = self._speech.pop(str(event.get("item_id") or ""), None)
        if not text:
            return
        record_caller(self._recorder, text, speech, agent=self._agent)
        self._conv.add_caller_text(text)

    def caller_keyed(self, text: str) -> None:
        """The caller's keyed digits (as the message the model gets); the next reply answers them."""
        record_caller(self._recorder, text, None, agent=self._agent, kind="dtmf")
        self._conv.add_caller_text(text)
        self._pending_caller = CallerSpeech(started_at=utcnow(), last_voiced_at=time.monotonic())

    def reply_draft(self) -> ReplyDraft | None:
        """The response the caller is hearing (or whose tools ran) and not yet written down."""
        for state in self._open_turns:
            if not state.recorded and (state.has_audio or state.tool_records):
                return ReplyDraft(
                    kind=state.kind,
                    agent=state.agent,
                    text=state.text,
                    started_at=state.started_at,
                    tool_calls=tuple(state.tool_records),
                )
        return None

    # --- cut, lost, closed ----------------------------------------------------------------------------
    def cut(self, heard_ms: int, item_id: str | None, *, stopped: bool) -> None:
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

    def abandon(self) -> None:
        """The socket dropped: whatever was being generated is over (its audio already queued still plays)."""
        state, self._response = self._response, None
        if state is not None:
            state.done = True
            self.settle(state)
        while self._requests:
            self._requests.popleft().resolve(False)
        self.caller_speaking = False

    def close(self, *, heard_ms: int, item_id: str | None, audible: bool) -> None:
        """The call is over (tasks already cancelled): write down everything still open."""
        if audible:  # hung up mid-sentence: keep what was heard
            self.cut(heard_ms, item_id, stopped=True)
        for state in list(self._open_turns):
            self.complete(state)
        for request in self._requests:
            request.resolve(False)
        carried, self._carried = self._carried, None
        if carried is not None:  # the call ended before the result was spoken: the tool calls on their own
            carried.recorded = False
            self.complete(carried)

    # --- finishing turns ---------------------------------------------------------------------------
    def settle(self, state: ResponseTurn) -> None:
        """The response is complete: write it down once the caller has heard it (or it was cut)."""
        self._own(self._finish_when_played(state))

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
            self._conv.add_agent_text(heard, agent=state.agent)
        if state.text or state.tool_records:
            record_response(self._recorder, state)
        if self._save_state is not None:
            try:
                self._save_state(self._conv.snapshot_state())
            except Exception:
                log.exception("saving the conversation state failed")
        if state.request is not None:
            state.request.resolve(not state.interrupted)


def _silent_copy(state: ResponseTurn) -> ResponseTurn:
    return ResponseTurn(
        response_id=state.response_id,
        agent=state.agent,
        kind=state.kind,
        caller=state.caller,
        started_at=state.started_at,
        tool_records=list(state.tool_records),
        done=True,
    )
