"""Call control shared by every scenario: hand the caller to a person, or end the call politely."""

from __future__ import annotations

import logging
from typing import Any

from registries.toolstore import ToolContext, tool

log = logging.getLogger(__name__)


@tool(
    examples=[
        "can I talk to a real person",
        "transfer me to an agent please",
        "I want to speak with a representative",
        "operator",
        "this isn't working, get me a human",
        "can you connect me to someone in the fraud department",
    ],
    reply="Of course. I'm connecting you with a member of our team now. Please stay on the line.",
)
async def transfer_to_human(ctx: ToolContext, reason: str) -> dict[str, Any]:
    """Transfer the call to a human agent, when the caller asks for one or the request is beyond the tools.

    Args:
        reason: A short summary of what the caller needs, passed to the human agent.
    """
    ctx.request_transfer(reason)
    log.info("transfer to human requested", extra={"call_id": ctx.call_id, "agent": ctx.agent})
    return {"transferring": True, "reason": reason}


@tool(
    examples=[
        "that's all, thanks",
        "no, that's everything, goodbye",
        "I'm all set, you can hang up",
        "thanks for your help, bye",
        "nothing else today",
        "okay great, have a good day",
    ],
    reply="Thank you for calling. Goodbye.",
)
async def end_call(ctx: ToolContext, reason: str = "caller is done") -> dict[str, Any]:
    """End the call once the caller has nothing else they need. Say goodbye first.

    Args:
        reason: Why the call is ending, for the call record.
    """
    ctx.request_hang_up(reason)
    log.info("hang up requested", extra={"call_id": ctx.call_id, "agent": ctx.agent})
    return {"ending": True, "reason": reason}
