"""`CallControl` for one call over ACS Call Automation: what the agent's end-call and transfer tools do."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.storage.call_store import CallNotFound, CallRecord, CallStatus, RedisCallStore

log = logging.getLogger(__name__)


class AcsCallControl:
    def __init__(
        self,
        *,
        call_id: str,
        store: RedisCallStore,
        acs: AcsCallAutomation,
        hang_up: Callable[[str], Awaitable[object]],
        transfer_target: str | None,
    ) -> None:
        self._call_id = call_id
        self._store = store
        self._acs = acs
        self._hang_up = hang_up
        self._transfer_target = transfer_target

    async def hang_up(self, reason: str) -> None:
        log.info("agent ends the call", extra={"reason": reason})
        try:
            await self._hang_up(self._call_id)
        except (CallNotFound, AcsCommandError) as exc:
            log.warning("hang-up failed", extra={"error": str(exc)})

    async def transfer_to_human(self, reason: str) -> bool:
        if not self._transfer_target:
            log.warning("transfer requested but TRANSFER_TARGET_NUMBER is not set")
            return False
        try:
            record = await self._store.get(self._call_id)
        except CallNotFound:
            return False
        if not record.call_connection_id:
            return False
        try:
            await self._acs.transfer_to_number(
                record.call_connection_id, self._transfer_target, call_id=self._call_id
            )
        except AcsCommandError as exc:
            log.error("transfer refused by ACS", extra={"status": exc.status})
            return False

        def mark(r: CallRecord) -> None:
            if not r.status.is_final:
                r.status = CallStatus.TRANSFERRING
            r.add_event("transfer_requested", reason[:200])

        await self._store.update(self._call_id, mark)
        log.info("call transferred to the human queue")
        return True
