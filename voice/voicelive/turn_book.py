"""TurnBook: the call's record of realtime responses and of the caller speech they answer.

It turns the server's response and transcript events into transcript turns: which of our `response.create`s a
response answers (by a metadata tag), its audio into the playout, its words, the caller turn it replies to
(`CallerTurns`), whether it was heard to the end, cut, or dropped unheard because the caller went on, and
writing each turn down exactly once. Deciding to interrupt is the orchestrator's; the book only marks what the
caller stopped hearing.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from voice.session.conversation import CallConversation, ConversationState
from voice.session.recorder import ReplyDraft, TurnRecorder
from voice.transcript import ToolCallRecord, TurnKind, utcnow
from voice.transports.playout import PacedPlayout
from voice.voicelive.bridge import InboundAudio, OutboundAudio
from voice.voicelive.caller_turns import CallerTurns
from voice.voicelive.continuation import COMMIT_AFTER_MS, goes_on_with
from voice.voicelive.responses import (
    TAG_KEY,
    ResponseRequest,
    ResponseTurn,
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
        forget: Callable[[Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        """`forget` deletes conversation items on the server (those of a reply dropped unheard)."""
        self._conv = conversation
        self._recorder = recorder
        self._own = own
        self._save_state = save_state
        self._forget = forget
        self._inbound: InboundAudio | None = None
        self._outbound: OutboundAudio | None = None
        self._playout: PacedPlayout | None = None
        self._tags = itertools.count(1)
        self._requests: deque[ResponseRequest] = deque()
        self._response: ResponseTurn | None = None  # being generated (response.created .. response.done)
        self._open_turns: list[ResponseTurn] = []  # not yet written to the transcript
        self.callers = CallerTurns(conversation, recorder, agent=lambda: self._agent)
        self._settling: asyncio.Task[Any] | None = None  # the last settled response's wait to be written
        self._carried: ResponseTurn | None = None
        """A silent function-call response: its tool records and caller turn go to the response that
        speaks the result, so the transcript has one agent turn per caller turn, like the cascade's."""

    def attach(self, inbound: InboundAudio, outbound: OutboundAudio, playout: PacedPlayout) -> None:
        """The call's audio (media started)."""
        self._inbound, self._outbound, self._playout = inbound, outbound, playout

    @property
    def generating(self) -> bool:
        """A response is being generated (created and not yet done, nor dropped)."""
        return self._response is not None and not self._response.done and not self._response.dropped

    @property
    def caller_speaking(self) -> bool:
        """Between the server's speech_started and speech_stopped."""
        return self.callers.speaking

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
            self._forget_dropped(self._response)
            self.settle(self._response)
        request = None if made_up else self._match_request(response)
        state = ResponseTurn(response_id=response.get("id"), agent=self._agent, request=request)
        if request is not None:
            state.kind = request.kind
        if state.kind == "reply":
            state.caller, self.callers.pending = self.callers.pending, None
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
        if state.audible_at is None:
            state.audible_at = self._outbound.item_audible_at or time.monotonic()
            if state.caller is not None and not state.caller.committed:
                self._own(self._commit_when_heard(state))
        state.has_audio = True

    async def _commit_when_heard(self, state: ResponseTurn) -> None:
        """The caller is hearing the reply: once they can no longer be going on with their turn, its words
        are final."""
        assert state.audible_at is not None
        await asyncio.sleep(max(0.0, state.audible_at + COMMIT_AFTER_MS / 1000 - time.monotonic()))
        if not state.dropped:
            self.callers.commit(state.caller)

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

    def on_output_item_added(self, event: Any) -> None:
        self._current(event).add_output_item((event.get("item") or {}).get("id"))

    def on_output_item_done(self, event: Any) -> None:
        item = event.get("item") or {}
        self._current(event).add_output_item(item.get("id"))
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
            state.add_output_item(item.get("id"))
            if item.get("type") == "function_call":
                state.add_call(item.get("call_id"), item.get("name"), item.get("arguments"))
        if state.dropped:  # the caller went on: no tools, no turn, and the model forgets it
            self._forget_dropped(state)
            self.complete(state)
            return None
        if self._outbound is not None and state.has_audio and not state.interrupted:
            self._outbound.end()
        if state.calls:
            state.tools_started = True
            self.callers.commit(state.caller)  # tools act on the caller's words: they are final
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
    def speech_onset(self, event: Any) -> float:
        """The monotonic time the caller audio of a `speech_started` reached us."""
        assert self._inbound is not None
        return self._inbound.arrival(event.get("audio_start_ms"))

    def on_speech_started(self, event: Any, arrived: float) -> None:
        """The server heard the caller start (their audio reached us at monotonic `arrived`)."""
        started_at = utcnow() - timedelta(seconds=max(0.0, time.monotonic() - arrived))
        item_id = event.get("item_id")
        self.callers.started(str(item_id) if item_id else None, started_at=started_at)

    def on_speech_stopped(self, event: Any) -> None:
        assert self._inbound is not None
        last_voiced_at = self._inbound.arrival(event.get("audio_end_ms"))
        now = time.monotonic()
        item_id = event.get("item_id")
        self.callers.stopped(
            str(item_id) if item_id else None,
            ended_at=utcnow() - timedelta(seconds=max(0.0, now - last_voiced_at)),
            last_voiced_at=last_voiced_at,
            end_of_turn_ms=max(0.0, (now - last_voiced_at) * 1000),
        )

    def on_caller_transcript(self, event: Any, *, failed: bool = False) -> None:
        text = "" if failed else str(event.get("transcript") or "").strip()
        self.callers.transcribed(str(event.get("item_id") or ""), text)

    def caller_keyed(self, text: str) -> None:
        """The caller's keyed digits (as the message the model gets); the next reply answers them."""
        self.callers.keyed(text)

    # --- the caller went on ---------------------------------------------------------------------------
    def unheard_reply(self, onset_at: float) -> ResponseTurn | None:
        """The latest reply, if caller speech starting at monotonic `onset_at` goes on with the turn it
        answers (`continuation`): the reply is to be dropped."""
        latest = self._open_turns[-1] if self._open_turns else None
        return latest if goes_on_with(latest, onset_at) else None

    def drop(self, state: ResponseTurn) -> None:
        """The caller went on before hearing `state`: it is never written down nor added to the history, its
        items go from the server's conversation (now, or at its `response.done`), and the caller's next input
        item joins the turn it answered."""
        state.dropped = state.interrupted = True
        if state.caller is not None:
            self.callers.going_on(state.caller)
        if state.done:
            self._forget_dropped(state)
            self.complete(state)

    def _forget_dropped(self, state: ResponseTurn) -> None:
        if state.dropped and state.output_items and self._forget is not None:
            items, state.output_items = list(state.output_items), []
            self._own(self._forget(items))

    def reply_draft(self) -> ReplyDraft | None:
        """The response the caller is hearing (or whose tools ran) and not yet written down."""
        for state in self._open_turns:
            if not state.recorded and not state.dropped and (state.has_audio or state.tool_records):
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
        self.callers.speaking = False
        self.callers.close()

    def close(self, *, heard_ms: int, item_id: str | None, audible: bool) -> None:
        """The call is over (tasks already cancelled): write down everything still open."""
        if audible:  # hung up mid-sentence: keep what was heard
            self.cut(heard_ms, item_id, stopped=True)
        for state in list(self._open_turns):
            self.complete(state)
        self.callers.close()
        for request in self._requests:
            request.resolve(False)
        carried, self._carried = self._carried, None
        if carried is not None:  # the call ended before the result was spoken: the tool calls on their own
            carried.recorded = False
            self.complete(carried)

    # --- finishing turns ---------------------------------------------------------------------------
    def settle(self, state: ResponseTurn) -> None:
        """The response is complete: write it down once the caller has heard it (or it was cut), after the
        responses settled before it."""
        self._settling = self._own(self._finish_when_played(state, self._settling))

    async def _finish_when_played(self, state: ResponseTurn, after: asyncio.Task[Any] | None) -> None:
        # Two responses can wait for the same end of playout (a spoken tool call and the answer that follows
        # it): without the chain, whichever wait woke first would be written first.
        if after is not None and not after.done():
            await asyncio.wait([after])
        if self._playout is not None and state.has_audio and not state.interrupted:
            await self._playout.wait_idle()
        self.complete(state)

    def complete(self, state: ResponseTurn) -> None:
        if state.recorded:
            return
        state.recorded = True
        if state in self._open_turns:
            self._open_turns.remove(state)
        if state.dropped:
            if state.request is not None:
                state.request.resolve(False)
            return
        self.callers.commit(state.caller)  # the reply is over: the words it answered are final
        if state.audio_ms is None and self._outbound is not None and state.has_audio:
            state.audio_ms = self._outbound.item_ms
        # Written after the caller turn it answers, whose transcript may still be on its way.
        self.callers.write_agent(lambda: self._write(state), answers=state.caller)
        if state.request is not None:
            state.request.resolve(not state.interrupted)

    def _write(self, state: ResponseTurn) -> None:
        """Record a finished agent turn as heard, add it to the history, and save the conversation."""
        if state.kind in ("reply", "greeting"):
            self._conv.add_agent_text(state.heard_text, agent=state.agent)
        if state.text or state.tool_records:
            record_response(self._recorder, state)
        if self._save_state is not None:
            try:
                self._save_state(self._conv.snapshot_state())
            except Exception:
                log.exception("saving the conversation state failed")


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
