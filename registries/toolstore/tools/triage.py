"""The nurse line's hand-over to a person: what a red-flag symptom (or a caller asking for a nurse) leads to."""

from __future__ import annotations

import logging
from typing import Any

from registries.toolstore import ToolContext, tool

log = logging.getLogger(__name__)


@tool(
    examples=[
        "I want to talk to a nurse",
        "can I speak with a nurse please",
        "put me through to a nurse",
        "I need to speak to the nurse on call",
        "is there a nurse I can talk to",
    ],
    reply="I'm connecting you with a nurse right now. Please stay on the line.",
)
async def transfer_to_nurse(ctx: ToolContext, reason: str) -> dict[str, Any]:
    """Transfer the call to a nurse at once: for red-flag symptoms, or when the caller asks for a nurse.

    Args:
        reason: What the nurse needs to know first, like "red flag: chest pain".
    """
    ctx.request_transfer(reason)
    # The reason may name a symptom (health data): log only that a transfer was asked for.
    log.info("transfer to a nurse requested", extra={"call_id": ctx.call_id, "agent": ctx.agent})
    return {"transferring": True, "reason": reason}
