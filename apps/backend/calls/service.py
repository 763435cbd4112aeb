"""The call lifecycle: IncomingCall -> answer -> callbacks -> media -> hang-up.

Holds this replica's live media sessions (so a hang-up or CallDisconnected can end them) and nothing
else in memory: the call record lives in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import redis.asyncio as aioredis

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.acs.events import CloudEvent, IncomingCallData
from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.calls.call_deps import CallDepsBuilder
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.orchestrators import OrchestratorFactory
from apps.backend.calls.routing import AddIceCandidate, CallRouter, CloseMedia, Command, SendDtmf
from apps.backend.logging_setup import bound_call_id
from apps.backend.observability.hub import Observability
from apps.backend.registry.holder import RegistryHolder
from apps.backend.settings import Settings
from apps.backend.storage.call_store import (
    CallDirection,
    CallNotFound,
    CallRecord,
    CallStatus,
    RedisCallStore,
    utcnow,
)
from apps.backend.storage.session_store import RedisSessionStore
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from voice.audio.vad_batcher import VadBatcher
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.session.media_session import MediaSession
from voice.session.orchestrator import Orchestrator
from voice.transcript import TranscriptStore
from voice.transports.acs import AcsMediaTransport
from voice.transports.base import MediaSocket, MediaTransport

log = logging.getLogger(__name__)

MEDIA_PATH = "/api/v1/media/stream"
CALLBACK_PATH = "/api/v1/calls/callbacks"
INCOMING_DEDUP_SECONDS = 600
CALL_START_REDIS_TIMEOUT_S = 5.0
"""Bound on the Redis reads before a call's media starts (a hung Redis must not hold the socket open)."""
UNAVAILABLE = 1013  # WebSocket "try again later"


class CallService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: RedisCallStore,
        redis: aioredis.Redis,
        acs: AcsCallAutomation,
        media_tokens: MediaTokenSigner,
        registry: RegistryHolder,
        orchestrators: OrchestratorFactory,
        transcripts: TranscriptStore | None,
        vad: VadBatcher | None,
        sessions: RedisSessionStore | None = None,
        observability: Observability | None = None,
        guidance: GuidanceEngine | None = None,
    ) -> None:
        self._settings = settings
        self.store = store
        self._redis = redis
        self._acs = acs
        self._tokens = media_tokens
        self.registry = registry
        self._orchestrators = orchestrators
        self._sessions = sessions
        self._vad = vad
        self.observability = observability or Observability()
        self._live: dict[str, MediaTransport] = {}
        self._claimed: set[str] = set()  # media slots taken without a router (no other replica to ask)
        self._orchestrators_live: dict[str, Orchestrator] = {}
        self.router: CallRouter | None = None  # set by the runtime once the call service exists
        self.ice_candidates: Callable[[AddIceCandidate], Awaitable[None]] | None = None
        """Where candidates for this replica's WebRTC peers go (set by the runtime: the WebRTC sessions)."""
        self._deps = CallDepsBuilder(
            settings=settings,
            store=store,
            redis=redis,
            acs=acs,
            transcripts=transcripts,
            sessions=sessions,
            telemetry=self.observability.metrics,
            guidance=guidance or EmbeddedGuidance(),
        )

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

    # --- callbacks -------------------------------------------------------------------------------
    async def handle_callback(self, event: CloudEvent) -> bool:
        """Apply one ACS callback to its call. False if the call is unknown to us."""
        data = event.data
        call_id = None
        if data.operation_context:
            call_id = await self.store.resolve(data.operation_context)
        if call_id is None:
            call_id = await self.store.resolve(data.call_connection_id)
        if call_id is None:
            log.warning("callback for unknown call", extra={"type": event.short_type})
            return False
        kind = event.short_type
        with bound_call_id(call_id):
            log.info("acs callback", extra={"type": kind})

            def mutate(r: CallRecord) -> None:
                r.call_connection_id = r.call_connection_id or data.call_connection_id
                detail = data.result_information.message if data.result_information else None
                r.add_event(kind, detail)
                if kind == "CallConnected" and not r.status.is_final:
                    r.status = CallStatus.CONNECTED
                    r.connected_at = r.connected_at or utcnow()
                elif kind == "CallDisconnected":
                    r.end("disconnected")
                elif kind == "CallTransferAccepted" and not r.status.is_final:
                    r.status = CallStatus.TRANSFERRING
                elif kind in ("AnswerFailed", "CreateCallFailed"):
                    r.end(f"{kind}: {detail or 'no detail'}", failed=True)

            record = await self.store.update(call_id, mutate)
            CallEventPublisher.shared(self._redis).callback_applied(record, kind)  # dashboards; never blocks
            if kind in ("CallDisconnected", "AnswerFailed", "CreateCallFailed"):
                await self._route(CloseMedia(call_id=call_id, reason="call disconnected"))
        return True

    # --- hang-up ---------------------------------------------------------------------------------
    async def hang_up(self, any_id: str) -> CallRecord:
        call_id = await self.store.resolve(any_id)
        if call_id is None:
            raise CallNotFound(any_id)
        record = await self.store.get(call_id)
        with bound_call_id(call_id):
            if record.status.is_final:
                return record
            if record.call_connection_id:
                await self._acs.hang_up(record.call_connection_id, for_everyone=True)
            record = await self.store.update(call_id, lambda r: r.end("hung up by agent"))
            await self._route(CloseMedia(call_id=call_id, reason="hung up"))
            log.info("call hung up")
            return record

    # --- media -----------------------------------------------------------------------------------
    async def claim_media(self, call_id: str) -> bool:
        """Take the call's one media slot, on every replica, before its socket is accepted. False: another
        socket holds the call. Raises (RedisError, OSError) when ownership cannot be checked. A True must be
        paired with `release_media`."""
        if self.router is not None:
            return await self.router.claim(call_id)
        if call_id in self._claimed:
            return False
        self._claimed.add(call_id)
        return True

    async def release_media(self, call_id: str) -> None:
        if self.router is not None:
            await self.router.release(call_id)
        self._claimed.discard(call_id)

    async def media_claim_lost(self, call_id: str) -> None:
        """Another socket took over the call after our claim lapsed: close ours (one media socket per call)."""
        with bound_call_id(call_id):
            await self._close_media(call_id, "call media moved to another socket", code=1008)

    async def run_media(self, call_id: str, socket: MediaSocket, *, call_connection_id: str | None) -> None:
        """Run a call's ACS media session on an accepted, authenticated socket until it closes. The caller
        holds the call's media slot (`claim_media`) for the whole run."""
        transport = AcsMediaTransport(socket, sample_rate=self._settings.acs_audio_format.sample_rate)
        await self.run_transport(call_id, transport, call_connection_id=call_connection_id)

    async def run_transport(
        self, call_id: str, transport: MediaTransport, *, call_connection_id: str | None = None
    ) -> None:
        """Run a call's media session over any channel's transport until it closes (the phone's ACS socket,
        a browser session's WebSocket or WebRTC peer). The caller holds the call's media slot for the whole
        run. The transport is known as live from the first moment, so a hang-up that races the start still
        finds (and closes) it."""
        with bound_call_id(call_id):
            self._live[call_id] = transport
            try:
                await self._run_session(call_id, transport, call_connection_id)
            finally:
                if self._live.get(call_id) is transport:
                    del self._live[call_id]

    async def _run_session(
        self, call_id: str, transport: MediaTransport, call_connection_id: str | None
    ) -> None:
        try:
            async with asyncio.timeout(CALL_START_REDIS_TIMEOUT_S):
                record = await self.store.get(call_id)
                if record.status.is_final:
                    await transport.close(1008, "call has ended")
                    return
                if call_connection_id and not record.call_connection_id:
                    await self.store.link_connection(call_id, call_connection_id)
                snapshot = self.registry.pin(call_id)
                saved = await self._deps.saved_state(call_id, snapshot)
        except (TimeoutError, OSError, aioredis.RedisError) as exc:
            # Before the call starts: fail it clearly rather than keep ACS' socket waiting on Redis.
            log.error("media refused: call state unavailable", extra={"error_type": type(exc).__name__})
            self.registry.release(call_id)
            await transport.close(UNAVAILABLE, "call state unavailable (redis)")
            return
        metrics = self.observability.metrics
        listener = self._deps.listener(
            record,
            snapshot,
            on_turn=self.observability.record_turn,
            on_dropped_update=metrics.call_record_update_dropped,
        )
        if call_connection_id and not record.call_connection_id:
            record.call_connection_id = call_connection_id  # linked above; the agent's tools need it
        deps = self._deps.build(record, snapshot, listener, saved, hang_up=self.hang_up)
        orchestrator = self._orchestrators.build(deps)
        session = MediaSession(
            call_id=call_id,
            transport=transport,
            orchestrator=orchestrator,
            listener=listener,
            vad=self._vad,
            telemetry=metrics,
        )
        self._orchestrators_live[call_id] = orchestrator
        log.info(
            "media connected",
            extra={
                "agent": orchestrator.conversation.agent.name,
                "orchestrator": type(orchestrator).__name__,
            },
        )
        metrics.call_started()
        try:
            await session.run()
        finally:
            listener.cancel()  # normally flushed already by on_media_ended; a cancelled call stops here
            metrics.call_ended()
            self._orchestrators_live.pop(call_id, None)
            self.registry.release(call_id)

    async def close_media_anywhere(self, call_id: str, reason: str) -> bool:
        """Close the call's media wherever it runs (this replica or its owner). False if none holds it."""
        return await self._route(CloseMedia(call_id=call_id, reason=reason))

    # --- commands for the replica holding the media ---------------------------------------------
    async def route_ice_candidate(self, command: AddIceCandidate) -> bool:
        """A browser's ICE candidate to the replica holding its peer connection. False if none holds it."""
        return await self._route(command)

    async def _route(self, command: Command) -> bool:
        """Run a command where the call's media is: here, or on its owner replica over Redis."""
        if self.router is None:
            await self.handle_command(command)
            return command.call_id in self._live
        return await self.router.send(command)

    async def handle_command(self, command: Command) -> None:
        """A command for a call whose media this replica holds (from `_route` or another replica)."""
        if isinstance(command, CloseMedia):
            await self._close_media(command.call_id, command.reason)
            return
        if isinstance(command, AddIceCandidate):
            if self.ice_candidates is not None:
                await self.ice_candidates(command)
            return
        orchestrator = self._orchestrators_live.get(command.call_id)
        if orchestrator is not None:
            for digit in command.digits:
                await orchestrator.on_dtmf(digit)

    async def send_dtmf(self, any_id: str, digits: str) -> bool:
        """Key digits into a live call as if the caller pressed them. False if no replica holds its media."""
        call_id = await self.store.resolve(any_id)
        if call_id is None:
            raise CallNotFound(any_id)
        return await self._route(SendDtmf(call_id=call_id, digits=digits))

    async def _close_media(self, call_id: str, reason: str, *, code: int = 1000) -> None:
        transport = self._live.get(call_id)
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close(code, reason)

    async def close_all(self) -> None:
        """On shutdown: close every live media socket (going away) so sessions end cleanly."""
        transports = list(self._live.values())
        await asyncio.gather(
            *(t.close(1001, "server shutting down") for t in transports), return_exceptions=True
        )

    @property
    def live_calls(self) -> int:
        return len(self._live)
