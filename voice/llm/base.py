"""The streaming chat interface every agent brain (Azure OpenAI / OpenAI, the embedded local brain) implements.

Messages are in the OpenAI chat format (dicts with `role` system/user/assistant/tool; assistant messages may
carry `tool_calls`, tool messages a `tool_call_id`). A provider streams `TextDelta`s as tokens arrive, then
the complete `ToolCall`s it wants run (assembled from the wire's deltas), an optional `Usage`, and always
ends with exactly one `ChatDone`. The cascade runs the tools, appends the `tool` messages and asks again.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, runtime_checkable

from registries.agentstore.schema import ModelSpec
from registries.toolstore.decorator import ToolSpec
from voice.expectation import Expectation

Message = dict[str, Any]
"""One OpenAI-format chat message."""

DTMF_PREFIX = "[dtmf]"
"""Keypad input reaches every brain as a user message `"[dtmf] <keys>"`, keys from "0-9*#" (e.g.
`"[dtmf] 4821#"`): the cascade gathers the tones of one entry, ended by '#' or a pause, into one message.
The local brain fills the slot being asked with them; an LLM reads them from the prompt's convention."""


def dtmf_message(keys: str) -> str:
    """The user-message text for keypad input: `dtmf_message("4821#")` -> `"[dtmf] 4821#"`."""
    return f"{DTMF_PREFIX} {keys}"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """The arguments as the model produced them: a JSON object as text (possibly invalid: the catalog checks)."""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    """Of `prompt_tokens`, how many were served from the provider's prompt cache (billed lower)."""


@dataclass(frozen=True, slots=True)
class ChatDone:
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter"] | str
    expects: Expectation | None = None
    """What the reply asks the caller for, when the brain knows (the local brain's pending slot: "the last four
    digits", "a policy number like AU-482913"); the cascade passes it to the recogniser for the caller's answer.
    A brain that does not know (an LLM) leaves it None."""


ChatEvent = TextDelta | ToolCall | Usage | ChatDone


@dataclass
class ChatRequest:
    """One completion request for one agent of one call."""

    messages: Sequence[Message]
    """System prompt first, then the agent's history (OpenAI format)."""
    tools: Sequence[ToolSpec] = ()
    """Tools the agent may call now; providers send `spec.openai_tool()`, the local brain also reads the
    examples, reply templates and handoff targets."""
    model: ModelSpec = field(default_factory=ModelSpec)
    agent: str = ""
    call_id: str = ""
    scratch: dict[str, Any] = field(default_factory=dict)
    """Per-call, per-agent state a provider may keep between turns (the local brain's pending slots).
    Owned by the call; never shared between calls."""
    today: date | None = None
    """The call's business date (the system prompt says it too); the local brain resolves "yesterday" against
    it. None: the provider's own clock."""


@runtime_checkable
class ChatModel(Protocol):
    name: str
    """Short provider name for logs and metrics, e.g. "azure-openai" or "local-brain"."""

    def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        """Stream one reply. Raises `voice.errors.ProviderError` (or any exception) on failure; cancelling
        the consumer (barge-in) closes the underlying request."""
        ...
