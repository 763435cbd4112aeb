"""The call lifecycle: IncomingCall -> answer -> callbacks -> media -> hang-up.

Holds this replica's live media sessions (so a hang-up or CallDisconnected can end them) and nothing
else in memory: the call record lives in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from apps.backend.acs.call_automation import AcsCallAutomation
from apps.backend.acs.events import CloudEvent
from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.calls.acs_calls import AcsCallSetup
from apps.backend.calls.after_call import AfterCallWork
from apps.backend.calls.answer_outcomes import record_answer_outcome, screens_answer, unanswered_outcome
from apps.backend.calls.call_deps import CallDepsBuilder
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.media_listener import CallRecordMediaListener
from apps.backend.calls.orchestrators import OrchestratorFactory
from apps.backend.calls.routing import (
    AddIceCandidate,
    CallRouter,
    CloseMedia,
    Command,
    ParticipantResult,
    SendDtmf,
)
from apps.backend.calls.warm_transfer import AcsTransferLine
from apps.backend.logging_setup import bound_call_id
from apps.backend.observability.hub import Observability
from apps.backend.recordings.service import RecordingService
from apps.backend.registry.holder import RegistryHolder
from apps.backend.settings import Settings
from apps.backend.storage.call_store import (
    CallNotFound,
    CallRecord,
    CallStatus,
    RedisCallStore,
    utcnow,
)
from apps.backend.storage.session_store import RedisSessionStore
from apps.backend.summaries.service import SummaryService
from registries.snapshot import RegistrySnapshot
from voice.audio.vad_batcher import VadBatcher
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.session.media_session import MediaSession
from voice.transcript import TranscriptStore
from voice.transports.acs import AcsMediaTransport
from voice.transports.base import MediaSocket, MediaTransport
from voice.transports.recording_tap import recording_tap
from voice.usage.ledger import metering
from voice.usage.prices import PriceTable

log = logging.getLogger(__name__)

CALL_START_REDIS_TIMEOUT_S = 5.0
"""Bound on the Redis reads before a call's media starts (a hung Redis must not hold the socket open)."""
UNAVAILABLE = 1013  # WebSocket "try again later"


class CallService(AcsCallSetup):
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
        recordings: RecordingService | None = None,
        summaries: SummaryService | None = None,
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
        self.after_call = AfterCallWork(recordings, summaries)
        self._live: dict[str, MediaTransport] = {}
        self._claimed: set[str] = set()  # media slots taken without a router (no other replica to ask)
        self._media_sessions: dict[str, MediaSession] = {}
        self._transfer_lines: dict[str, AcsTransferLine] = {}  # live calls with a warm transfer
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
            usage_metrics=self.observability.metrics.usage,
            guidance=guidance or EmbeddedGuidance(),
        )

    @property
    def prices(self) -> PriceTable:
        """The price table in force (shipped, or PRICE_TABLE_FILE)."""
        return self._deps.prices

    def call_listener(self, record: CallRecord, snapshot: RegistrySnapshot) -> CallRecordMediaListener:
        """A call's record writer, live events and usage meter, for channels that run no media session (the
        realtime relay)."""
        return self._deps.listener(
            record,
            snapshot,
            on_turn=self.observability.record_turn,
            on_dropped_update=self.observability.metrics.call_record_update_dropped,
        )

    @property
    def transcripts(self) -> TranscriptStore | None:
        return self._deps.transcripts

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
                    if kind == "CreateCallFailed":
                        r.answered_by = unanswered_outcome(data.result_information)
                    r.end(f"{kind}: {detail or 'no detail'}", failed=True)

            record = await self.store.update(call_id, mutate)
            CallEventPublisher.shared(self._redis).callback_applied(record, kind)  # dashboards; never blocks
            if kind in ("CallDisconnected", "AnswerFailed", "CreateCallFailed"):
                await self._route(CloseMedia(call_id=call_id, reason="call disconnected"))
            elif kind in ("AddParticipantSucceeded", "AddParticipantFailed"):
                context = (data.operation_context or "")[:256] or None
                result = {"call_id": call_id, "event": kind, "operation_context": context}
                await self._route(ParticipantResult.model_validate(result))
        return True

    # --- hang-up ---------------------------------------------------------------------------------
    async def hang_up(self, any_id: str, reason: str = "hung up by agent") -> CallRecord:
        """End the call for everyone: `reason` goes on the record and the transcript's outcome."""
        call_id = await self.store.resolve(any_id)
        if call_id is None:
            raise CallNotFound(any_id)
        record = await self.store.get(call_id)
        with bound_call_id(call_id):
            if record.status.is_final:
                return record
            if (session := self._media_sessions.get(call_id)) is not None:
                session.ending(
                    reason
                )  # before ACS drops the media socket, which would read as the caller leaving
            if record.call_connection_id:
                await self._acs.hang_up(record.call_connection_id, for_everyone=True)
            record = await self.store.update(call_id, lambda r: r.end(reason))
            await self._route(CloseMedia(call_id=call_id, reason=reason, outcome=reason))
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
        await self._orchestrators.prepare(
            snapshot.scenarios[record.scenario]
        )  # VoiceLive's import, off the loop
        deps = self._deps.build(record, snapshot, listener, saved, hang_up=self.hang_up)
        orchestrator = self._orchestrators.build(deps)
        if screens_answer(record, self._settings) and saved is None:
            orchestrator = self._orchestrators.screened(
                orchestrator, deps, on_outcome=record_answer_outcome(listener.writer.submit)
            )
        recording = self.after_call.recording(call_id, snapshot.scenarios[record.scenario])
        session = MediaSession(
            call_id=call_id,
            transport=recording_tap(transport, recording) if recording is not None else transport,
            orchestrator=orchestrator,
            listener=listener,
            vad=self._vad,
            telemetry=metrics,
        )
        self._media_sessions[call_id] = session
        if isinstance(deps.transfer_line, AcsTransferLine):
            self._transfer_lines[call_id] = deps.transfer_line
        log.info(
            "media connected",
            extra={
                "agent": orchestrator.conversation.agent.name,
                "orchestrator": type(orchestrator).__name__,
            },
        )
        metrics.call_started()
        usage = listener.usage
        try:
            if usage is None:
                await session.run()
            else:
                usage.ledger.set_agent_source(lambda: orchestrator.conversation.agent.name)
                with metering(usage.ledger):  # every task the session starts reports to this call's ledger
                    await session.run()
        finally:
            listener.cancel()  # normally flushed already by on_media_ended; a cancelled call stops here
            metrics.call_ended()
            self._media_sessions.pop(call_id, None)
            self._transfer_lines.pop(call_id, None)
            self.registry.release(call_id)
            self.after_call.call_ended(call_id, recording)

    async def close_media_anywhere(self, call_id: str, reason: str) -> bool:
        """Close the call's media wherever it runs (this replica or its owner). False if none holds it."""
        return await self._route(CloseMedia(call_id=call_id, reason=reason, outcome=reason))

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
            await self._close_media(command.call_id, command.reason, outcome=command.outcome)
            return
        if isinstance(command, AddIceCandidate):
            if self.ice_candidates is not None:
                await self.ice_candidates(command)
            return
        if isinstance(command, ParticipantResult):
            line = self._transfer_lines.get(command.call_id)
            if line is not None:
                line.deliver(command.event, command.operation_context)
            return
        session = self._media_sessions.get(command.call_id)
        if session is not None:
            for digit in command.digits:
                await session.orchestrator.on_dtmf(digit)

    async def send_dtmf(self, any_id: str, digits: str) -> bool:
        """Key digits into a live call as if the caller pressed them. False if no replica holds its media."""
        call_id = await self.store.resolve(any_id)
        if call_id is None:
            raise CallNotFound(any_id)
        return await self._route(SendDtmf(call_id=call_id, digits=digits))

    async def _close_media(
        self, call_id: str, reason: str, *, code: int = 1000, outcome: str | None = None
    ) -> None:
        session = self._media_sessions.get(call_id)
        if session is not None and outcome is not None:
            session.ending(outcome)
        transport = self._live.get(call_id)
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close(code, reason)

    async def close_all(self) -> None:
        """On shutdown: close every live media socket (going away) so sessions end cleanly."""
        for session in self._media_sessions.values():
            session.ending("server shutting down")
        transports = list(self._live.values())
        await asyncio.gather(
            *(t.close(1001, "server shutting down") for t in transports), return_exceptions=True
        )

    @property
    def live_calls(self) -> int:
        return len(self._live)
