"""Folding parsed stream chunks into `ChatEvent`s: text deltas at once; tool calls, assembled from their
per-index fragments, and usage at the end, followed by exactly one `ChatDone`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from voice.llm.base import ChatDone, ChatEvent, TextDelta, ToolCall, Usage
from voice.llm.openai_wire import Chunk, ToolCallDelta


@dataclass(slots=True)
class _PendingCall:
    """One tool call while its fragments arrive: id and name come once, the arguments in pieces."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReplyAssembler:
    """Folds chunks into events: text at once; tool calls (assembled by index) and usage at the end."""

    started: bool = False
    """Some output (text, a tool-call fragment or a finish reason) arrived: the first-token deadline is met."""
    finish_reason: str | None = None
    usage: Usage | None = None
    calls: dict[int, _PendingCall] = field(default_factory=dict)

    def feed(self, chunk: Chunk) -> Iterator[TextDelta]:
        if chunk.usage is not None:
            details = chunk.usage.prompt_tokens_details
            self.usage = Usage(
                prompt_tokens=chunk.usage.prompt_tokens or 0,
                completion_tokens=chunk.usage.completion_tokens or 0,
                cached_tokens=(details.cached_tokens or 0) if details is not None else 0,
            )
        for choice in chunk.choices or ():
            if choice.index:
                continue  # we never ask for n > 1
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
                self.started = True
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                self.started = True
                yield TextDelta(delta.content)
            for fragment in delta.tool_calls or ():
                self.started = True
                self._add_fragment(fragment)

    def _add_fragment(self, fragment: ToolCallDelta) -> None:
        index = fragment.index
        if index is None:  # some compatible servers omit it: a new id starts a new call
            last = max(self.calls, default=-1)
            new_call = last < 0 or (fragment.id is not None and fragment.id != self.calls[last].id)
            index = last + 1 if new_call else last
        call = self.calls.setdefault(index, _PendingCall())
        if fragment.id and not call.id:
            call.id = fragment.id
        if fragment.function is None:
            return
        if fragment.function.name and not call.name:
            call.name = fragment.function.name
        if fragment.function.arguments:
            call.arguments.append(fragment.function.arguments)

    def finish(self) -> Iterator[ChatEvent]:
        for index in sorted(self.calls):
            call = self.calls[index]
            yield ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                name=call.name,
                arguments="".join(call.arguments) or "{}",  # a no-argument call may arrive with ""
            )
        if self.usage is not None:
            yield self.usage
        reason = self.finish_reason
        if self.calls and reason in (None, "stop"):
            reason = "tool_calls"  # a forced tool_choice answers "stop"; the cascade keys on this
        yield ChatDone(reason or "stop")
