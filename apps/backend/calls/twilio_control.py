"""`CallControl` for a Twilio call: hang-up as for any call (closing the media stream ends `<Connect><Stream>`,
and Twilio hangs up), and a cold transfer that redirects the live call to `<Dial>` the queue through Twilio's
REST API. Without TWILIO_ACCOUNT_SID (no REST client) the transfer is refused, so the agent says it cannot.
Warm transfers are not offered on Twilio: a warm-transfer scenario transfers cold there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apps.backend.acs.call_automation import AcsCallAutomation
from apps.backend.calls.control import AcsCallControl
from apps.backend.calls.record_writer import Mutation
from apps.backend.storage.call_store import CallRecord, CallStatus, RedisCallStore
from apps.backend.twilio.rest import TwilioRest, TwilioRestError
from apps.backend.twilio.twiml import dial

log = logging.getLogger(__name__)

TRANSFERRED = "transferred to a human"


class TwilioCallControl(AcsCallControl):
    def __init__(
        self,
        *,
        call_id: str,
        call_sid: str | None,
        rest: TwilioRest | None,
        store: RedisCallStore,
        acs: AcsCallAutomation,
        hang_up: Callable[[str], Awaitable[object]],
        transfer_target: str | None,
        record: Callable[[Mutation], None] | None = None,
    ) -> None:
        super().__init__(
            call_id=call_id,
            store=store,
            acs=acs,
            hang_up=hang_up,
            transfer_target=transfer_target,
            record=record,
        )
        self._call_sid = call_sid
        self._rest = rest

    async def transfer_to_human(self, reason: str) -> bool:
        if self._rest is None or not self._call_sid:
            log.warning(
                "transfer requested on a Twilio call but TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not set"
            )
            return False
        if not self._transfer_target:
            log.warning(
                "transfer requested but no queue number (scenario transfer_target, TRANSFER_TARGET_NUMBER)"
            )
            return False
        try:
            await self._rest.redirect_call(self._call_sid, dial(self._transfer_target))
        except TwilioRestError as exc:
            log.error("transfer refused by Twilio", extra={"status": exc.status, "error": str(exc)})
            return False

        def mark(r: CallRecord) -> None:
            r.add_event("transfer_requested", reason[:200])
            if r.status.is_final:  # the stream's end may be written first
                r.end_reason = TRANSFERRED
            else:
                r.status = CallStatus.TRANSFERRING

        if self._record is not None:
            self._record(mark)
        else:
            await self._store.update(self._call_id, mark)
        log.info("twilio call redirected to the human queue")
        return True
