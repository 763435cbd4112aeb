"""What a call's orchestrator is built from on this service: a conversation of the call's own (restored when
another worker ran the call before), ACS call control, and where its turns, state and metrics go."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from apps.backend.acs.call_automation import AcsCallAutomation
from apps.backend.calls.control import AcsCallControl
from apps.backend.calls.cost import CallUsageMeter
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.media_listener import CallRecordMediaListener
from apps.backend.calls.start_agent import start_agent
from apps.backend.calls.twilio_control import TwilioCallControl
from apps.backend.calls.warm_transfer import AcsTransferLine
from apps.backend.guidance.service import live_guidance
from apps.backend.hold_audio import hold_audio_url
from apps.backend.observability.usage_metrics import UsageMetrics
from apps.backend.settings import Settings
from apps.backend.storage.call_store import (
    CallCarrier,
    CallChannel,
    CallDirection,
    CallRecord,
    RedisCallStore,
)
from apps.backend.storage.session_store import RedisSessionStore
from apps.backend.twilio.rest import TwilioRest
from registries.scenariostore.schema import E164_PATTERN, ScenarioSpec, normalize_number
from registries.snapshot import RegistrySnapshot
from voice.audio.turn_batcher import TurnScorer, shared_turn_batcher
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation, ConversationState
from voice.session.orchestrator import CallDeps
from voice.session.redaction import RedactionPolicy
from voice.telemetry import CallTelemetry
from voice.transcript import TranscriptStore, TranscriptTurn
from voice.usage.prices import PriceTable, load_price_table

log = logging.getLogger(__name__)


@dataclass
class CallDepsBuilder:
    settings: Settings
    store: RedisCallStore
    redis: aioredis.Redis
    acs: AcsCallAutomation
    transcripts: TranscriptStore | None
    sessions: RedisSessionStore | None
    telemetry: CallTelemetry
    usage_metrics: UsageMetrics | None = None
    guidance: GuidanceEngine = field(default_factory=EmbeddedGuidance)
    """The replica's guidance engine, shared by its calls (stateless per report)."""
    config: CallConfig = field(init=False)
    turn_model: TurnScorer | None = field(init=False)
    """The process's end-of-turn model (batched across calls), None when not installed or turned off."""
    prices: PriceTable = field(init=False)
    twilio_rest: TwilioRest | None = field(init=False)
    """Twilio's REST API for transfers, when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are both set."""

    def __post_init__(self) -> None:
        self.twilio_rest = twilio_rest(self.settings)
        self.prices = load_price_table(self.settings.price_table_file)  # a bad file stops startup, named
        self.config = CallConfig(
            idle_reprompt_s=self.settings.idle_reprompt_seconds,
            idle_hang_up_s=self.settings.idle_hang_up_seconds,
            turn_end_mode=self.settings.turn_end_mode,
            turn_end_min_silence_ms=self.settings.turn_end_min_silence_ms,
            turn_end_after_number_ms=self.settings.turn_end_after_number_ms,
            turn_end_speculate_ms=self.settings.turn_end_speculate_ms,
        )
        # Agents may choose semantic mode when the service default is fixed: the model loads unless it is off
        # (in its own thread: calls placed before it is ready judge by the words alone).
        self.turn_model = shared_turn_batcher() if self.settings.turn_end_model == "auto" else None
        if self.settings.turn_end_model == "auto" and self.turn_model is None:
            log.info("end-of-turn model not installed: semantic turn ends use the recognised words alone")

    async def saved_state(self, call_id: str, snapshot: RegistrySnapshot) -> ConversationState | None:
        """The conversation so far if another worker (or this one, before a restart) ran this call."""
        if self.sessions is None:
            return None
        try:
            state = await self.sessions.load(call_id)
        except Exception as exc:  # Redis away: start afresh rather than keep the caller waiting
            log.warning("could not read the saved conversation", extra={"error_type": type(exc).__name__})
            return None
        if state is not None and state.registry_version != snapshot.version:
            log.info("saved conversation is from another registry version; resuming it anyway")
        return state

    def listener(
        self,
        record: CallRecord,
        snapshot: RegistrySnapshot,
        *,
        on_turn: Callable[[TranscriptTurn], None],
        on_dropped_update: Callable[[], None],
    ) -> CallRecordMediaListener:
        """Where the call's record events, live events and (if its scenario declares it) guidance go."""
        guidance = live_guidance(
            self.settings,
            snapshot.scenarios[record.scenario],
            record.call_id,
            CallEventPublisher.shared(self.redis),
            self.guidance,
        )
        listener = CallRecordMediaListener(
            self.store,
            record.call_id,
            on_turn=on_turn,
            on_dropped_update=on_dropped_update,
            guidance=guidance,
        )
        listener.usage = CallUsageMeter(
            record.call_id,
            record.channel,
            self.prices,
            listener.writer,
            CallEventPublisher.shared(self.redis),
            self.usage_metrics,
        )
        listener.usage.resume(record.usage)  # a call resumed here goes on from its totals
        return listener

    def transfer_line(
        self, record: CallRecord, scenario: ScenarioSpec, observer: CallRecordMediaListener
    ) -> AcsTransferLine | None:
        """A warm transfer for phone calls whose scenario asks for one (and has a queue to ring)."""
        target = scenario.transfer_target or self.settings.transfer_target_number
        if scenario.transfer != "warm" or not target or record.channel is not CallChannel.PHONE:
            return None
        if record.carrier is CallCarrier.TWILIO:
            return None  # no hold/add-participant over Twilio here: the transfer goes cold
        inbound = record.direction is CallDirection.INBOUND
        person, ours = (record.caller, record.callee) if inbound else (record.callee, record.caller)
        person, ours = normalize_number(person), normalize_number(ours)
        if not record.call_connection_id or not re.fullmatch(E164_PATTERN, person):
            return None  # no phone number to hold: the cold transfer still works
        return AcsTransferLine(
            call_id=record.call_id,
            acs=self.acs,
            call_connection_id=record.call_connection_id,
            caller_number=person,
            our_number=ours if re.fullmatch(E164_PATTERN, ours) else None,
            target_number=target,
            answer_timeout_s=scenario.transfer_answer_timeout_s
            or self.settings.warm_transfer_answer_timeout_seconds,
            hold_music_url=self.settings.hold_music_url
            or hold_audio_url(self.settings.effective_public_base_url),
            record=observer.writer.submit,
        )

    def build(
        self,
        record: CallRecord,
        snapshot: RegistrySnapshot,
        observer: CallRecordMediaListener,
        saved: ConversationState | None,
        *,
        hang_up: Callable[[str], Awaitable[object]],
    ) -> CallDeps:
        conversation = CallConversation(
            call_id=record.call_id,
            caller=record.caller,
            snapshot=snapshot,
            scenario=snapshot.scenarios[record.scenario],
            agent=start_agent(snapshot, record),
            context={"caller_display_name": record.caller_display_name, "caller": record.caller},
            redis=self.redis,
            clock=self.settings.business_clock,
        )
        if saved is not None:
            conversation.restore(saved)
        # The scenario's own queue wins for cold transfers too (and for a warm one that falls back to cold).
        transfer_target = conversation.scenario.transfer_target or self.settings.transfer_target_number
        control: AcsCallControl
        if record.carrier is CallCarrier.TWILIO:
            control = TwilioCallControl(
                call_id=record.call_id,
                call_sid=record.carrier_call_id,
                rest=self.twilio_rest,
                store=self.store,
                acs=self.acs,
                hang_up=hang_up,
                transfer_target=transfer_target,
                record=observer.writer.submit,
            )
        else:
            control = AcsCallControl(
                call_id=record.call_id,
                store=self.store,
                acs=self.acs,
                hang_up=hang_up,
                transfer_target=transfer_target,
                call_connection_id=record.call_connection_id,
                record=observer.writer.submit,
            )
        return CallDeps(
            conversation=conversation,
            call_control=control,
            transfer_line=self.transfer_line(record, conversation.scenario, observer),
            transcripts=self.transcripts,
            observer=observer,
            config=self.config,
            save_state=self.sessions.save if self.sessions is not None else None,
            resumed=saved is not None,
            telemetry=self.telemetry,
            redaction=RedactionPolicy(enabled=self.settings.redact_transcripts),
            turn_model=self.turn_model,
        )


def twilio_rest(settings: Settings) -> TwilioRest | None:
    if settings.twilio_account_sid is None or settings.twilio_auth_token is None:
        return None
    return TwilioRest(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        api_base=settings.twilio_api_base,
    )
