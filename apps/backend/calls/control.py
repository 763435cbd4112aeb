"""`CallControl` for one call over ACS Call Automation: what the agent's end-call and transfer tools do.

Both run on the call's turn path, so neither waits on Redis when it can help it: the ACS call connection id is
known from the start of the media, and the record learns of a transfer through the call's write-behind writer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.calls.record_writer import Mutation
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
        call_connection_id: str | None = None,
        record: Callable[[Mutation], None] | None = None,
    ) -> None:
        self._call_id = call_id
        self._store = store
        self._acs = acs
        self._hang_up = hang_up
        self._transfer_target = transfer_target
        self._call_connection_id = call_connection_id
        self._record = record  # the call's write-behind record updates

    async def hang_up(self, reason: str) -> None:
        log.info("agent ends the call", extra={"reason": reason})
        try:
            await self._hang_up(self._call_id)
        except (CallNotFound, AcsCommandError) as exc:
            log.warning("hang-up failed", extra={"error": str(exc)})
        except (RedisError, OSError) as exc:
            # The record could not be read: hang up through ACS all the same (CallDisconnected follows).
            log.warning("hang-up without the call record", extra={"error_type": type(exc).__name__})
            if self._call_connection_id:
                try:
                    await self._acs.hang_up(self._call_connection_id, for_everyone=True)
                except AcsCommandError as acs_exc:
                    log.warning("hang-up failed", extra={"error": str(acs_exc)})

    async def transfer_to_human(self, reason: str) -> bool:
        if not self._transfer_target:
            log.warning(
                "transfer requested but no queue number (scenario transfer_target, TRANSFER_TARGET_NUMBER)"
            )
            return False
        connection_id = self._call_connection_id or await self._connection_id_from_record()
        if not connection_id:
            return False
        try:
            await self._acs.transfer_to_number(connection_id, self._transfer_target, call_id=self._call_id)
        except AcsCommandError as exc:
            log.error("transfer refused by ACS", extra={"status": exc.status})
            return False

        def mark(r: CallRecord) -> None:
            if not r.status.is_final:
                r.status = CallStatus.TRANSFERRING
            r.add_event("transfer_requested", reason[:200])

        if self._record is not None:
            self._record(mark)
        else:
            await self._store.update(self._call_id, mark)
        log.info("call transferred to the human queue")
        return True

    async def _connection_id_from_record(self) -> str | None:
        try:
            return (await self._store.get(self._call_id)).call_connection_id
        except CallNotFound:
            return None
        except (RedisError, OSError) as exc:
            log.warning("transfer without the call record", extra={"error_type": type(exc).__name__})
            return None
