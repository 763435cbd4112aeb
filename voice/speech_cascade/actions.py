"""What a reply's tools asked for once it has played out: hang up, or transfer (warm when the scenario has a
transfer line: hold, brief a person, hand over; otherwise cold through call control)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from voice.audio.turns import TurnTracker
from voice.session.call_control import CallControl
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.session.warm_transfer import TransferLine, handover_summary, run_warm_transfer
from voice.transcript import TurnKind


class ReplyActions:
    def __init__(
        self,
        *,
        conversation: CallConversation,
        config: CallConfig,
        call_control: CallControl,
        transfer_line: TransferLine | None,
        turns: TurnTracker,
        say: Callable[[str, TurnKind], Awaitable[None]],
        ended: Callable[[str], None],
    ) -> None:
        self._conversation = conversation
        self._config = config
        self._call_control = call_control
        self._transfer_line = transfer_line
        self._turns = turns
        self._say = say
        self._ended = ended  # the call's end reason, as the transcript will give it

    async def carry_out(self, action: str, reason: str) -> None:
        if action == "hang_up":
            self._ended("agent ended the call")
            await self._call_control.hang_up(reason)
        elif action == "transfer":
            if self._transfer_line is not None and await self._warm_transfer(self._transfer_line, reason):
                return
            ok = await self._call_control.transfer_to_human(reason)
            if ok:
                self._ended("transferred to a human")
            else:
                await self._say(self._config.transfer_failed, "apology")

    async def _warm_transfer(self, line: TransferLine, reason: str) -> bool:
        """Hold, brief a person, hand over (or come back and offer a callback). False: the caller could not
        be put on hold, so the cold transfer is tried instead."""
        policy = self._turns.policy
        # The person answering says "hello" over the briefing: it must not cut it short.
        self._turns.set_policy(dataclasses.replace(policy, barge_in=False))
        try:
            outcome = await run_warm_transfer(
                line,
                summary=handover_summary(self._conversation, reason),
                reason=reason,
                say_to_human=lambda text: self._say(text, "handover"),
                say_to_caller=lambda text: self._say(text, "reply"),
                no_answer_text=self._config.transfer_no_answer,
            )
        finally:
            self._turns.set_policy(policy)
        if outcome == "transferred":
            self._ended("transferred to a human")
        return outcome != "failed"
