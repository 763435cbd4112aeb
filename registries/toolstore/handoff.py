"""Handoff tools, generated from a scenario's handoff edges (nobody writes them by hand).

Calling one records a `handoff` action on the call's `ToolContext`; the orchestrator moves the conversation to the
target agent once the turn ends (announced: the new agent greets; discrete: it just carries on).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from registries.toolstore.context import HandoffTarget, ToolContext
from registries.toolstore.decorator import ToolSpec
from registries.toolstore.signature import llm_schema


class HandoffArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(description="Why the caller needs this, in one short sentence.")]


# Each generated tool gets its own copy of the schema; a JSON round trip is several times cheaper than
# deepcopy, and a registry load generates one tool per handoff edge.
_PARAMETERS_JSON = json.dumps(llm_schema(HandoffArguments))


def default_handoff_tool(target: str, trigger: str | None) -> str:
    """An edge's tool name when it names none: the target's `handoff.trigger`, else `handoff_to_<target>`."""
    return trigger or f"handoff_to_{target}"


def handoff_tool(
    name: str,
    target: str,
    *,
    description: str,
    examples: tuple[str, ...] = (),
    type: Literal["announced", "discrete"] = "announced",
    share_context: bool = True,
    routing_values: tuple[tuple[str, ...], ...] = (),
    routing_texts: tuple[str, ...] = (),
) -> ToolSpec:
    """A generated tool that hands the call to agent `target`."""
    handoff = HandoffTarget(agent=target, type=type, share_context=share_context)

    async def hand_off(ctx: ToolContext, reason: str) -> dict[str, Any]:
        ctx.request_handoff(target, reason)
        return {"handoff_to": target, "type": type, "share_context": share_context}

    hand_off.__name__ = hand_off.__qualname__ = name
    return ToolSpec(
        name=name,
        description=description or f"Transfer the conversation to the {target.replace('_', ' ')} agent.",
        parameters=json.loads(_PARAMETERS_JSON),
        examples=examples,
        reply=None,
        is_async=True,
        function=hand_off,
        arguments=HandoffArguments,
        context_param="ctx",
        handoff=handoff,
        routing_values=routing_values,
        routing_texts=routing_texts,
    )
