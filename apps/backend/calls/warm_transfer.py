"""A warm transfer over ACS Call Automation: hold the caller, add the human queue's number as a participant,
and once the agent has briefed whoever answered, unhold the caller and leave the call (hang up for the bot
only: the call goes on between the caller and the person).

ACS answers add-participant by callback (AddParticipantSucceeded / AddParticipantFailed, carrying our
operationContext); the callback can reach any replica, so `CallService` routes it to the replica holding the
call's media, which hands it to `deliver`. The call record learns of each step through the call's write-behind
writer, never awaited here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Callable

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.calls.record_writer import Mutation
from apps.backend.storage.call_store import CallRecord, CallStatus, TransferOutcome
from voice.session.warm_transfer import TransferOutcome as SessionOutcome

log = logging.getLogger(__name__)

CALLBACK_GRACE_S = 10.0
"""How much longer than the invitation timeout we wait for ACS' verdict before giving up on the human."""
ADD_PARTICIPANT_SUCCEEDED = "AddParticipantSucceeded"
ADD_PARTICIPANT_FAILED = "AddParticipantFailed"


class AcsTransferLine:
    def __init__(
        self,
        *,
        call_id: str,
        acs: AcsCallAutomation,
        call_connection_id: str,
        caller_number: str,
        our_number: str | None,
        target_number: str,
        answer_timeout_s: float,
        hold_music_url: str | None,
        record: Callable[[Mutation], None],
    ) -> None:
        self._call_id = call_id
        self._acs = acs
        self._connection_id = call_connection_id
        self._caller = caller_number
        self._our_number = our_number
        self._target = target_number
        self._timeout_s = answer_timeout_s
        self._music_url = hold_music_url
        self._record = record
        self._operation_context: str | None = None
        self._answered: asyncio.Future[bool] | None = None

    async def hold_caller(self) -> bool:
        try:
            await self._acs.hold(self._connection_id, self._caller, music_url=self._music_url)
        except AcsCommandError as exc:
            log.error("hold refused by ACS; transferring cold instead", extra={"status": exc.status})
            return False
        self._event("transfer_hold", None)
        return True

    async def dial_human(self) -> bool:
        context = f"{self._call_id}/warm-transfer/{uuid.uuid4().hex[:8]}"
        self._operation_context = context
        self._answered = asyncio.get_running_loop().create_future()
        try:
            invitation = await self._acs.add_participant(
                self._connection_id,
                self._target,
                source_number=self._our_number,
                timeout_s=max(1, math.ceil(self._timeout_s)),
                operation_context=context,
            )
        except AcsCommandError as exc:
            log.error("add participant refused by ACS", extra={"status": exc.status})
            return False
        self._event("transfer_dialing", None)
        try:
            return await asyncio.wait_for(asyncio.shield(self._answered), self._timeout_s + CALLBACK_GRACE_S)
        except TimeoutError:
            log.warning("no add-participant verdict from ACS in time; cancelling the invitation")
            await self._cancel_invitation(invitation)
            return False
        except asyncio.CancelledError:  # the call is ending while the queue rings: stop ringing the human
            await asyncio.shield(self._cancel_invitation(invitation))
            raise
        finally:
            self._answered = None

    async def _cancel_invitation(self, invitation: str | None) -> None:
        if invitation:
            with contextlib.suppress(AcsCommandError):
                await self._acs.cancel_add_participant(self._connection_id, invitation)

    def deliver(self, event_type: str, operation_context: str | None) -> None:
        """An AddParticipantSucceeded/Failed callback for this call (routed here by CallService)."""
        answered = self._answered
        if answered is None or answered.done() or operation_context != self._operation_context:
            return
        answered.set_result(event_type == ADD_PARTICIPANT_SUCCEEDED)

    async def return_to_caller(self) -> None:
        try:
            await self._acs.unhold(self._connection_id, self._caller)
        except AcsCommandError as exc:
            log.error("unhold refused by ACS", extra={"status": exc.status})

    async def complete(self) -> bool:
        try:
            await self._acs.unhold(self._connection_id, self._caller)
            await self._acs.hang_up(self._connection_id, for_everyone=False)
        except AcsCommandError as exc:
            log.error("handing the caller over failed", extra={"status": exc.status})
            return False
        return True

    def outcome(self, outcome: SessionOutcome, detail: str) -> None:
        if outcome == "failed":
            return
        result = TransferOutcome(outcome)

        def mark(r: CallRecord) -> None:
            r.transfer_outcome = result
            r.add_event(f"transfer_{outcome}", detail or None)
            if result is TransferOutcome.TRANSFERRED:
                if r.status.is_final:  # CallDisconnected for our leg may be written first
                    r.end_reason = "transferred to a human"
                else:
                    r.status = CallStatus.TRANSFERRING
                    r.end("transferred to a human")

        self._record(mark)
        log.info("warm transfer finished", extra={"outcome": outcome})

    def _event(self, kind: str, detail: str | None) -> None:
        self._record(lambda r: r.add_event(kind, detail))
