"""transfer_to_human and end_call ask the call to act, by recording an action on the context."""

from __future__ import annotations

from registries.toolstore import ToolAction, ToolContext
from registries.toolstore.tools.call_control import end_call, transfer_to_human
from tests.unit.toolstore.replies import spoken


async def test_transfer_to_human_requests_a_transfer_with_the_reason(ctx: ToolContext) -> None:
    out = await transfer_to_human(ctx, "caller failed verification three times")

    assert ctx.actions == [ToolAction("transfer", "caller failed verification three times")]
    assert spoken(transfer_to_human, out) == (
        "Of course. I'm connecting you with a member of our team now. Please stay on the line."
    )


async def test_end_call_requests_a_hang_up(ctx: ToolContext) -> None:
    out = await end_call(ctx, "caller said goodbye")

    assert ctx.actions == [ToolAction("hang_up", "caller said goodbye")]
    assert spoken(end_call, out) == "Thank you for calling. Goodbye."


async def test_call_control_does_not_need_a_verified_caller(ctx: ToolContext) -> None:
    await transfer_to_human(ctx, "wants a person")
    await end_call(ctx)
    assert [a.kind for a in ctx.actions] == ["transfer", "hang_up"]
