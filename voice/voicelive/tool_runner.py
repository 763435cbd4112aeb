"""Running the function calls of one realtime response through the agent's catalog, keeping the
conversation's history in step (the same shape the SpeechCascade writes), and what the session is told."""

from __future__ import annotations

import asyncio
from typing import Any

from azure.ai.voicelive.models import (
    AssistantMessageItem,
    ConversationRequestItem,
    FunctionCallOutputItem,
    InputTextContentPart,
    OutputTextContentPart,
    SystemMessageItem,
    UserMessageItem,
)

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import ToolContext
from voice.llm.base import Message, ToolCall
from voice.session.tool_runs import run_tool_call, tool_calls_message


async def run_calls(
    catalog: ToolCatalog,
    calls: list[ToolCall],
    ctx: ToolContext,
    history: list[Message],
    *,
    timeout_s: float,
    agent: str,
) -> list[tuple[ToolCall, ToolResult]]:
    """Run the calls concurrently; `invoke` never raises for a tool's failure, and cancellation propagates."""
    history.append(tool_calls_message(calls))
    return list(
        await asyncio.gather(
            *(run_tool_call(catalog, call, ctx, history, agent=agent, timeout_s=timeout_s) for call in calls)
        )
    )


def output_item(call: ToolCall, result: ToolResult) -> FunctionCallOutputItem:
    return FunctionCallOutputItem(call_id=call.id, output=result.to_message())


def replay_items(history: list[Message]) -> list[ConversationRequestItem]:
    """The text of a conversation as items for a fresh session (tool calls are not replayed: their results
    already shaped what the agent said)."""
    items: list[ConversationRequestItem] = []
    for message in history:
        content: Any = message.get("content")
        if not isinstance(content, str) or not content:
            continue
        role = message.get("role")
        if role == "user":
            items.append(UserMessageItem(content=[InputTextContentPart(text=content)]))
        elif role == "assistant":
            items.append(AssistantMessageItem(content=[OutputTextContentPart(text=content)]))
        elif role == "system":
            items.append(SystemMessageItem(content=[InputTextContentPart(text=content)]))
    return items


def user_text_item(text: str) -> UserMessageItem:
    return UserMessageItem(content=[InputTextContentPart(text=text)])
