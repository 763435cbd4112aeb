"""The local brain's per-call dialog state: what it is waiting for between turns.

It lives in `request.scratch["local_brain"]` as plain JSON-able values (pending slots, values the caller gave,
a call waiting for confirmation or for identity verification); the history stays the source of truth for tool
results, so state survives a handoff with shared context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

STATE_KEY = "local_brain"


@dataclass
class Pending:
    """A tool waiting for slots: `slots` are the parameters the last question asked for (any of them fills
    it; empty = retry the call with whatever new values the answer holds)."""

    tool: str
    args: dict[str, Any]
    slots: list[str]
    question: str
    attempts: int = 0
    begun: str = ""  # the start of a number read out, said before a pause ("policy h o seven three")


@dataclass
class DialogState:
    """Everything the brain carries from one turn of a call to the next (`load` / `save` on the scratch)."""

    pending: Pending | None = None
    confirm: dict[str, Any] | None = None  # {"tool", "args"}: waiting for a yes before calling
    deferred: dict[str, Any] | None = None  # {"tool", "args"}: to call once identity is verified
    known: dict[str, Any] = field(default_factory=dict)  # CARRY_PARAMS values of successful calls
    misses: int = 0  # turns in a row that were not understood
    answered: list[str] = field(default_factory=list)  # ids of tool calls whose results were replied to
    adopted: list[str] = field(
        default_factory=list
    )  # ids of handoffs into this agent whose request it took up
    queued: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"tool", "text", "args"}: asked in the same breath
    held: dict[str, Any] | None = (
        None  # {"tool", "text", "used"}: an answer about the next item, said already
    )

    @classmethod
    def load(cls, scratch: Mapping[str, Any]) -> DialogState:
        raw = scratch.get(STATE_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        try:
            pending = Pending(**raw["pending"]) if raw.get("pending") else None
            return cls(
                pending=pending,
                confirm=raw.get("confirm"),
                deferred=raw.get("deferred"),
                known=dict(raw.get("known") or {}),
                misses=int(raw.get("misses", 0)),
                answered=list(raw.get("answered") or []),
                adopted=list(raw.get("adopted") or []),
                queued=[dict(q) for q in raw.get("queued") or [] if isinstance(q, Mapping)],
                held=raw.get("held"),
            )
        except (TypeError, KeyError, ValueError):
            return cls()  # state from an incompatible version: start over rather than fail the turn

    def save(self, scratch: dict[str, Any]) -> None:
        scratch[STATE_KEY] = asdict(self)
