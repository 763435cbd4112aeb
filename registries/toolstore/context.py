"""What a tool sees of the call it runs in, and how it asks the call to do something (transfer, hang up).

A tool declares a parameter annotated `ToolContext` to receive it; that parameter is injected by the catalog and
never appears in the schema the LLM sees. The context belongs to one call: tools may keep per-call state in
`session` (slots, verified identity) and never in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from registries.toolstore.clock import BusinessClock

ActionKind = Literal["transfer", "hang_up", "handoff"]


@dataclass(frozen=True)
class ToolAction:
    """Something a tool asked the call to do once the tool returns. `detail` is the (caller-safe) reason;
    `target` is the agent a handoff goes to."""

    kind: ActionKind
    detail: str
    target: str | None = None


@dataclass(frozen=True)
class HandoffTarget:
    """What a generated handoff tool does: move the call to `agent`."""

    agent: str
    type: Literal["announced", "discrete"] = "announced"
    share_context: bool = True


@dataclass
class ToolContext:
    call_id: str
    caller: str
    scenario: str
    agent: str
    session: dict[str, Any] = field(default_factory=dict)
    redis: Any = None  # a redis.asyncio.Redis, or None when the tool runs without storage
    actions: list[ToolAction] = field(default_factory=list)
    clock: BusinessClock = field(default_factory=BusinessClock)
    """What "today" is for this call (the business's zone, or a pinned demo date); tools never read the server's
    clock themselves."""

    def request_transfer(self, reason: str) -> None:
        """Ask for the call to be transferred to a human once this turn ends."""
        self.actions.append(ToolAction("transfer", reason))

    def request_hang_up(self, reason: str) -> None:
        """Ask for the call to end once the agent has finished speaking."""
        self.actions.append(ToolAction("hang_up", reason))

    def request_handoff(self, agent: str, reason: str) -> None:
        """Ask for the conversation to move to another agent (generated handoff tools do this)."""
        self.actions.append(ToolAction("handoff", reason, target=agent))


class ToolError(Exception):
    """Raise from a tool to fail with a message that is safe to tell the caller ("That card is already locked.").

    Any other exception fails the tool with a generic message; its details go to the log only.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
