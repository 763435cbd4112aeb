"""The chat completions stream as it arrives: server-sent events (`SseDecoder`) carrying JSON chunks, parsed
with our own lenient pydantic models (`parse_chunk`).

Why not the SDK's `AsyncStream`: it builds a full `ChatCompletionChunk` per token (about 200 us of CPU each);
these models validate only the fields we use (about 5 us), which matters at 100 calls per core.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from voice.llm.openai_errors import StreamFailed

# -- wire shapes we read (lenient: unknown fields such as Azure's filter results are ignored) --------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _FunctionDelta(_Wire):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Wire):
    index: int | None = None
    id: str | None = None
    function: _FunctionDelta | None = None


class _Delta(_Wire):
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class _Choice(_Wire):
    index: int | None = 0
    delta: _Delta | None = None  # Azure's content-filter annotation chunks carry no delta
    finish_reason: str | None = None


class _PromptTokensDetails(_Wire):
    cached_tokens: int | None = 0


class _Usage(_Wire):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    prompt_tokens_details: _PromptTokensDetails | None = None


class Chunk(_Wire):
    choices: list[_Choice] | None = None  # empty in Azure's prompt-filter chunk and in the usage chunk
    usage: _Usage | None = None
    error: Any = None  # `{"error": {...}}` inside a 200 stream: the server failed mid-generation


# -- server-sent events ------------------------------------------------------------------------------------


class SseDecoder:
    """Server-sent events reduced to what chat completions use: the `data` of each event.

    Fed raw body bytes as they arrive; lines end in LF or CRLF. Comments (`: keep-alive`) and other fields
    (`event:`, `id:`) are ignored."""

    def __init__(self) -> None:
        self._partial = b""
        self._data: list[bytes] = []

    def feed(self, received: bytes) -> list[bytes]:
        """The data of every event completed by these bytes."""
        *lines, self._partial = (self._partial + received).split(b"\n")
        events: list[bytes] = []
        for line in lines:
            line = line.removesuffix(b"\r")
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def end(self) -> list[bytes]:
        """At the end of the body: an event the server did not close with a blank line."""
        return self.feed(b"\n\n") if self._partial or self._data else []


def parse_chunk(data: bytes) -> Chunk:
    """One event's data as a chunk; raises `ValidationError` if it is not one, `StreamFailed` for an error."""
    chunk = Chunk.model_validate_json(data)
    if chunk.error is not None:
        raise StreamFailed(chunk.error)
    return chunk
