"""A warm transfer: the caller waits on hold while the agent rings a person, briefs them, and hands over.

The telephony side is a `TransferLine` (the app implements it over ACS: hold, add participant, unhold, leave).
The orchestrator supplies the voice: `say_to_human` speaks while the caller is on hold (only the person who
answered hears it), `say_to_caller` speaks to the caller again. If nobody picks up in time the caller comes
off hold, hears that nobody could take the call, and the call records that a callback is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from voice.session.conversation import CallConversation

TransferOutcome = Literal["transferred", "callback_needed", "failed"]
MAX_REASON_CHARS = 200


class TransferLine(Protocol):
    async def hold_caller(self) -> bool:
        """Put the caller on hold (hold music or message); False if that was refused."""
        ...

    async def dial_human(self) -> bool:
        """Ring the human queue; True once someone answered, False when nobody did in time (or refused)."""
        ...

    async def return_to_caller(self) -> None:
        """Take the caller off hold (nobody answered, or the transfer is abandoned)."""
        ...

    async def complete(self) -> bool:
        """Join the caller to the person who answered and leave the call; False if that was refused."""
        ...

    def outcome(self, outcome: TransferOutcome, detail: str) -> None:
        """Record how the transfer ended (never blocks)."""
        ...


def _last_caller_words(conversation: CallConversation) -> str:
    for message in reversed(conversation.history()):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str) and content.strip():
            return content.strip()
    return ""


def handover_summary(conversation: CallConversation, reason: str) -> str:
    """What the agent tells the person taking the call: who it is, whether they are verified, what they need."""
    session, context = conversation.session, conversation.context
    name = session.get("customer_first_name") or context.get("caller_display_name")
    who = f"I have {name} on the line" if name else "I have a caller on the line"
    verified = (
        "They have been verified." if session.get("customer_id") else "They have not been verified yet."
    )
    need = (reason.strip() or _last_caller_words(conversation))[:MAX_REASON_CHARS].rstrip(". ")
    why = f" They need help with: {need}." if need else ""
    return f"Hello, this is the virtual agent with a transfer. {who}. {verified}{why} Connecting you now."


async def run_warm_transfer(
    line: TransferLine,
    *,
    summary: str,
    reason: str,
    say_to_human: Callable[[str], Awaitable[None]],
    say_to_caller: Callable[[str], Awaitable[None]],
    no_answer_text: str,
) -> TransferOutcome:
    """Hold, ring, brief, hand over; or come back to the caller and offer a callback. "failed": the caller
    could not be put on hold (nothing changed; the caller can still be transferred cold)."""
    if not await line.hold_caller():
        return "failed"
    on_hold = True
    try:
        if await line.dial_human():
            await say_to_human(summary)
            if await line.complete():
                on_hold = False
                line.outcome("transferred", reason[:MAX_REASON_CHARS])
                return "transferred"
        await line.return_to_caller()
        on_hold = False
        await say_to_caller(no_answer_text)
        line.outcome("callback_needed", reason[:MAX_REASON_CHARS])
        return "callback_needed"
    finally:
        if on_hold:  # cancelled part-way (the call is ending): never leave the caller on hold
            await asyncio.shield(line.return_to_caller())
