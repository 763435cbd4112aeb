"""Running an agent's tool calls and recording them in its history, the same way for every orchestrator: the
assistant message with the calls, then one `tool` message per result (every call needs its result message);
and what the transcript keeps of each call."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import ToolContext
from voice.llm.base import Message, ToolCall
from voice.transcript import ToolCallRecord

log = logging.getLogger(__name__)


def tool_calls_message(calls: Sequence[ToolCall]) -> Message:
    """The assistant turn that asked for `calls` (its spoken text is added once, as heard, when the turn ends)."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


async def run_tool_call(
    catalog: ToolCatalog,
    call: ToolCall,
    ctx: ToolContext,
    history: list[Message],
    *,
    agent: str,
    timeout_s: float,
) -> tuple[ToolCall, ToolResult]:
    """Invoke one call (a tool's failure is a result, never an exception) and append its result message."""
    result = await catalog.invoke(call.name, call.arguments, ctx, timeout=timeout_s)
    history.append({"role": "tool", "tool_call_id": call.id, "content": result.to_message()})
    log.info(
        "tool ran",
        extra={
            "tool": call.name,
            "agent": agent,
            "ok": result.ok,
            "duration_ms": round(result.duration_ms, 1),
        },
    )
    return call, result


def tool_record(call: ToolCall, result: ToolResult) -> ToolCallRecord:
    """The transcript's record of one call: arguments parsed when they are a JSON object, else kept as text."""
    try:
        arguments: dict[str, Any] | str = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError:
        arguments = call.arguments
    if not isinstance(arguments, dict):
        arguments = call.arguments
    return ToolCallRecord(
        id=call.id,
        name=call.name,
        arguments=arguments,
        ok=result.ok,
        output=result.output,
        error=result.error.message if result.error else None,
        duration_ms=round(result.duration_ms, 1),
    )
