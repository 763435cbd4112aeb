"""A realtime session's conversation items, and how the brain sees them as chat messages.

Items are kept in the beta wire shape's vocabulary (content part types `input_text`, `input_audio`, `text`,
`audio`); the GA dialect renames them on the way out. Assistant audio items remember how much audio was
produced, so `conversation.item.truncate` can cut the transcript to the share the caller actually heard.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.realtime_server.protocol import (
    FunctionCallItem,
    FunctionCallOutputItem,
    MessageItem,
    ProtocolError,
    new_id,
)
from voice.llm.base import Message

_TEXT_TYPES = {"input_text": "input_text", "text": "text", "output_text": "text"}
_AUDIO_TYPES = {"input_audio": "input_audio", "audio": "audio", "output_audio": "audio"}


@dataclass
class Item:
    id: str
    type: str  # message | function_call | function_call_output
    role: str | None = None
    content: list[dict[str, Any]] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""
    output: str = ""
    status: str = "completed"
    audio_ms: float = 0.0
    """Assistant audio produced for this item (for truncation)."""

    def wire(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": self.id,
            "object": "realtime.item",
            "type": self.type,
            "status": self.status,
        }
        if self.type == "message":
            return {**base, "role": self.role, "content": [dict(p) for p in self.content]}
        if self.type == "function_call":
            return {**base, "call_id": self.call_id, "name": self.name, "arguments": self.arguments}
        return {**base, "call_id": self.call_id, "output": self.output}

    def text(self) -> str:
        parts = []
        for part in self.content:
            value = part.get("text") if part.get("type") in ("input_text", "text") else part.get("transcript")
            if value:
                parts.append(str(value))
        return " ".join(parts)

    @classmethod
    def from_param(cls, param: MessageItem | FunctionCallItem | FunctionCallOutputItem) -> Item:
        item_id = param.id or new_id("item")
        if isinstance(param, MessageItem):
            content: list[dict[str, Any]] = []
            for part in param.content:
                if part.type in _TEXT_TYPES:
                    content.append({"type": _TEXT_TYPES[part.type], "text": part.text or ""})
                else:  # audio sent as an item is not decoded: its transcript (if any) is what counts
                    content.append({"type": _AUDIO_TYPES[part.type], "transcript": part.transcript})
            return cls(item_id, "message", role=param.role, content=content)
        if isinstance(param, FunctionCallItem):
            return cls(
                item_id, "function_call", call_id=param.call_id, name=param.name, arguments=param.arguments
            )
        return cls(item_id, "function_call_output", call_id=param.call_id, output=param.output)


def truncated_transcript(transcript: str, audio_end_ms: float, total_ms: float) -> str:
    """The part of `transcript` spoken in the first `audio_end_ms` of `total_ms` of audio.

    Speech is assumed to spread evenly over the audio; the cut moves back to a word boundary so the brain
    never sees half a word (what the caller heard of a cut word carries no meaning anyway)."""
    if total_ms <= 0 or audio_end_ms >= total_ms:
        return transcript
    if audio_end_ms <= 0:
        return ""
    cut = int(len(transcript) * audio_end_ms / total_ms)
    if cut < len(transcript) and not transcript[cut].isspace():
        space = transcript.rfind(" ", 0, cut + 1)
        cut = space if space >= 0 else 0
    return transcript[:cut].rstrip()


class RealtimeConversation:
    """The ordered items of one session. Not shared."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[Item]:
        return list(self._items.values())

    def last_id(self) -> str | None:
        return next(reversed(self._items), None) if self._items else None

    def add(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Append (or insert after `previous_item_id`); returns the id of the item before it."""
        if item.id in self._items:
            raise ProtocolError(
                "item_id_exists", f"an item with id {item.id!r} already exists", param="item.id"
            )
        if previous_item_id is None or previous_item_id == self.last_id():
            before = self.last_id()
            self._items[item.id] = item
            return before
        if previous_item_id == "root":
            self._items = {item.id: item, **self._items}
            return None
        if previous_item_id not in self._items:
            raise ProtocolError(
                "item_not_found",
                f"previous_item_id {previous_item_id!r} does not exist",
                param="previous_item_id",
            )
        rebuilt: dict[str, Item] = {}
        for key, value in self._items.items():
            rebuilt[key] = value
            if key == previous_item_id:
                rebuilt[item.id] = item
        self._items = rebuilt
        return previous_item_id

    def get(self, item_id: str) -> Item:
        try:
            return self._items[item_id]
        except KeyError:
            raise ProtocolError("item_not_found", f"no item with id {item_id!r}", param="item_id") from None

    def delete(self, item_id: str) -> None:
        self.get(item_id)
        del self._items[item_id]

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        item = self.get(item_id)
        if item.type != "message" or item.role != "assistant":
            raise ProtocolError(
                "invalid_item", "only assistant message items can be truncated", param="item_id"
            )
        if content_index >= len(item.content) or item.content[content_index].get("type") != "audio":
            raise ProtocolError(
                "invalid_value", f"content {content_index} is not audio", param="content_index"
            )
        part = item.content[content_index]
        part["transcript"] = truncated_transcript(part.get("transcript") or "", audio_end_ms, item.audio_ms)
        item.audio_ms = min(item.audio_ms, float(audio_end_ms))

    # --- the brain's view -------------------------------------------------------------------------------
    def messages(self, instructions: str, is_handoff: Callable[[str, str], bool]) -> list[Message]:
        """OpenAI chat messages: the system prompt, then the items (function calls as `tool_calls`; user items
        in a row as one message).

        A handoff result at the very end (the client handed over and now asks the new agent) is dropped with
        its call, so the brain answers the caller's last words as the new agent: the local brain would read
        a trailing handoff result as "say nothing, the new agent greets" (see `local_brain.turn.Turn`)."""
        items = _without_trailing_handoff(self.items, is_handoff)
        messages: list[Message] = [{"role": "system", "content": instructions}] if instructions else []
        for item in items:
            if item.type == "message":
                text = item.text()
                if item.role == "system":
                    messages.append({"role": "system", "content": text})
                elif item.role == "user":
                    if text:
                        _add_user_text(messages, text)
                elif text:
                    messages.append({"role": "assistant", "content": text})
            elif item.type == "function_call":
                call = {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments or "{}"},
                }
                last = messages[-1] if messages else None
                if (
                    last is not None
                    and last.get("role") == "assistant"
                    and last.get("tool_calls") is not None
                ):
                    last["tool_calls"].append(call)
                else:
                    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            else:
                messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        return messages


def _add_user_text(messages: list[Message], text: str) -> None:
    """A user item right after another (the client deleted the reply between them: the caller went on) is
    the same request: a realtime model reads both together; the brain, which answers the last user message,
    gets them as one."""
    last = messages[-1] if messages else None
    if last is not None and last.get("role") == "user" and isinstance(last.get("content"), str):
        last["content"] = f"{last['content']} {text}"
    else:
        messages.append({"role": "user", "content": text})


def _without_trailing_handoff(items: Sequence[Item], is_handoff: Callable[[str, str], bool]) -> list[Item]:
    calls = {i.call_id: i for i in items if i.type == "function_call"}
    end = len(items)
    dropped: set[str] = set()
    while end > 0 and items[end - 1].type == "function_call_output":
        output = items[end - 1]
        call = calls.get(output.call_id)
        if call is None or not is_handoff(call.name or "", output.output):
            return list(items)
        dropped.add(output.call_id or "")
        end -= 1
    if not dropped:
        return list(items)
    if not any(i.type == "message" and i.role == "user" for i in items[:end]):
        return list(items)
    return [i for i in items[:end] if not (i.type == "function_call" and i.call_id in dropped)]


def output_says_handoff(output: str) -> bool:
    """Whether a tool output looks like a handoff result (`{"handoff_to": ...}`)."""
    try:
        body = json.loads(output)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("handoff_to"))
