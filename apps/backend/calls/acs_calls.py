"""Answering and placing ACS calls: the call record, then Call Automation's answer / create-call with our callback
URL and the call's media URL (a per-call token in it). `CallService` inherits this; the attributes below are its."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote

import redis.asyncio as aioredis

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.acs.events import IncomingCallData
from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.logging_setup import bound_call_id
from apps.backend.registry.holder import RegistryHolder
from apps.backend.settings import Settings
from apps.backend.storage.call_store import (
    CallDirection,
    CallRecord,
    CallStatus,
    RedisCallStore,
    utcnow,
)
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot

log = logging.getLogger(__name__)

MEDIA_PATH = "/api/v1/media/stream"
CALLBACK_PATH = "/api/v1/calls/callbacks"
INCOMING_DEDUP_SECONDS = 600


class AcsCallSetup:
    _settings: Settings
    _redis: aioredis.Redis
    _acs: AcsCallAutomation
    _tokens: MediaTokenSigner
    store: RedisCallStore
    registry: RegistryHolder

    # --- URLs handed to ACS ----------------------------------------------------------------------
    def callback_url(self) -> str:
        return self._settings.effective_public_base_url + CALLBACK_PATH

    def transport_url(self, call_id: str) -> str:
        token = self._tokens.issue(call_id)
        return f"{self._settings.websocket_base_url}{MEDIA_PATH}?token={quote(token)}"

    # --- inbound ---------------------------------------------------------------------------------
    async def handle_incoming_call(self, event_id: str, data: IncomingCallData) -> str | None:
        """Answer an IncomingCall. Returns our call id, or None for a duplicate delivery."""
        # Event Grid delivers at least once: answer each incoming call context once.
        dedup_key = f"sb:incoming:{event_id or data.incoming_call_context[-64:]}"
        if not await self._redis.set(dedup_key, "1", nx=True, ex=INCOMING_DEDUP_SECONDS):
            log.info("duplicate IncomingCall delivery ignored", extra={"event_id": event_id})
            return None
        call_id = uuid.uuid4().hex
        snapshot = self.registry.pin(call_id)
        scenario = self._scenario_for(snapshot, data.to.display)
        with bound_call_id(call_id):
            record = CallRecord(
                call_id=call_id,
                direction=CallDirection.INBOUND,
                registry_version=snapshot.version,
                server_call_id=data.server_call_id or None,
                correlation_id=data.correlation_id or None,
                caller=data.from_.display,
                callee=data.to.display,
                caller_display_name=data.caller_display_name,
                scenario=scenario.name,
                status=CallStatus.ANSWERING,
            )
            record.add_event("incoming_call")
            await self.store.create(record)
            log.info("answering incoming call", extra={"scenario": record.scenario})
            try:
                answered = await self._acs.answer(
                    incoming_call_context=data.incoming_call_context,
                    callback_url=self.callback_url(),
                    transport_url=self.transport_url(call_id),
                    audio_format=self._settings.acs_audio_format.wire_name,
                    call_id=call_id,
                )
            except AcsCommandError as exc:
                log.error("answer failed", extra={"error": str(exc), "status": exc.status})
                await self._fail_call(call_id, f"answer failed: {exc}")
                return call_id

            def mark_answered(r: CallRecord) -> None:
                r.call_connection_id = answered.call_connection_id
                r.answered_at = utcnow()
                r.add_event("answered")

            await self.store.update(call_id, mark_answered)
            log.info("call answered", extra={"call_connection_id": answered.call_connection_id})
            return call_id

    def scenario_for(self, snapshot: RegistrySnapshot, dialed: str) -> ScenarioSpec:
        """The scenario a call to `dialed` runs (any carrier)."""
        return self._scenario_for(snapshot, dialed)

    def _scenario_for(self, snapshot: RegistrySnapshot, dialed: str) -> ScenarioSpec:
        """SCENARIO_NUMBERS first, then the scenarios' own phone_numbers, then DEFAULT_SCENARIO."""
        mapped = self._settings.scenario_numbers.get(dialed)
        if mapped is not None:
            if mapped in snapshot.scenarios:
                return snapshot.scenarios[mapped]
            log.warning("SCENARIO_NUMBERS maps to an unknown scenario", extra={"scenario": mapped})
        return snapshot.scenario_for_number(dialed, self._settings.default_scenario)

    async def _fail_call(self, call_id: str, reason: str) -> None:
        """ACS refused the call: mark the record failed and let go of its registry snapshot."""
        await self.store.update(call_id, lambda r: r.end(reason, failed=True))
        self.registry.release(call_id)

    # --- outbound --------------------------------------------------------------------------------
    async def place_call(self, *, target: str, source: str | None, scenario: str | None) -> CallRecord:
        scenario = scenario or self._settings.default_scenario
        if scenario not in self.registry.current.scenarios:
            raise ValueError(f"unknown scenario {scenario!r}")
        call_id = uuid.uuid4().hex
        snapshot = self.registry.pin(call_id)
        with bound_call_id(call_id):
            record = CallRecord(
                call_id=call_id,
                direction=CallDirection.OUTBOUND,
                registry_version=snapshot.version,
                caller=source or "",
                callee=target,
                scenario=scenario,
                status=CallStatus.DIALING,
            )
            record.add_event("dialing")
            await self.store.create(record)
            try:
                placed = await self._acs.create_call(
                    target_number=target,
                    source_number=source,
                    callback_url=self.callback_url(),
                    transport_url=self.transport_url(call_id),
                    audio_format=self._settings.acs_audio_format.wire_name,
                    call_id=call_id,
                )
            except AcsCommandError as exc:
                await self._fail_call(call_id, f"create_call failed: {exc}")
                raise

            def mark_placed(r: CallRecord) -> None:
                r.call_connection_id = placed.call_connection_id
                r.add_event("call_created")

            return await self.store.update(call_id, mark_placed)
