"""Everything the service owns for its lifetime, started and stopped in one place (the app lifespan).

Start order: Redis (embedded if REDIS_URL is unset) -> registry -> models (VAD, TTS) -> ACS client ->
call service. Stop runs in reverse through an AsyncExitStack, so a failure half-way through start-up
still stops what had started (no orphaned valkey-server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import redis.asyncio as aioredis

from apps.backend.acs.call_automation import AcsCallAutomation
from apps.backend.acs.connection_string import AcsConnectionString
from apps.backend.acs.event_grid_auth import EventGridAuthenticator, build_event_grid_auth
from apps.backend.acs.jwt_auth import AcsJwtVerifier
from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.orchestrators import OrchestratorFactory
from apps.backend.calls.recovery import close_abandoned_calls
from apps.backend.calls.routing import CallRouter
from apps.backend.calls.service import CallService
from apps.backend.guidance.service import guidance_engine
from apps.backend.observability.histogram import VadBatchCounters
from apps.backend.observability.hub import Observability
from apps.backend.observability.loop_lag import LoopLagMonitor
from apps.backend.observability.tracing import otlp_tracer
from apps.backend.providers import ProviderFactory, build_providers
from apps.backend.readiness import DependencyCheck
from apps.backend.realtime import BackendRealtime, build_realtime
from apps.backend.recordings.service import RecordingService
from apps.backend.registry.holder import RegistryHolder
from apps.backend.registry.loader_process import RegistryLoaderProcess
from apps.backend.registry.sync import RegistrySync
from apps.backend.runtime_connections import (
    OwnedTranscriptStore,
    build_acs_verifier,
    connect_redis,
    open_transcript_store,
)
from apps.backend.sessions.service import SessionService
from apps.backend.sessions.tokens import derive_key
from apps.backend.sessions.webrtc import WebRtcSessions
from apps.backend.settings import Settings
from apps.backend.storage.call_store import RedisCallStore
from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.session_store import RedisSessionStore
from apps.backend.summaries.service import SummaryService, build_summariser
from apps.backend.warm_up import QUIET_S, ProviderWarmUp, wait_quiet
from registries.toolstore.demo.store import seed_demo_data
from voice.audio.turn_batcher import shared_turn_batcher
from voice.audio.vad import SileroVadModel, get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.tts.local import EspeakTts

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    redis: aioredis.Redis
    registry: RegistryHolder
    registry_sync: RegistrySync
    calls: CallService
    voice_sessions: SessionService
    webrtc: WebRtcSessions
    acs_auth: AcsJwtVerifier | None
    event_grid_auth: EventGridAuthenticator
    media_tokens: MediaTokenSigner
    tts: EspeakTts | None
    vad_model: SileroVadModel
    transcripts: OwnedTranscriptStore
    observability: Observability
    realtime: BackendRealtime
    guidance: GuidanceEngine = field(default_factory=EmbeddedGuidance)
    embedded_redis: EmbeddedRedis | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @classmethod
    async def start(cls, settings: Settings, providers: ProviderFactory = build_providers) -> Runtime:
        """`providers` builds the provider chains; only benchmarks pass anything but the default."""
        stack = contextlib.AsyncExitStack()
        try:
            return await cls._start(settings, stack, providers)
        except BaseException:
            await stack.aclose()
            raise

    @classmethod
    async def _start(
        cls, settings: Settings, stack: contextlib.AsyncExitStack, build: ProviderFactory
    ) -> Runtime:
        # First, before anything starts: settings that leave the webhook open refuse to start the service.
        http = httpx.AsyncClient()
        stack.push_async_callback(http.aclose)
        event_grid_auth = build_event_grid_auth(settings, http)
        # The ACS SDK client takes ~130 ms of Python to build: on a thread, while the loop waits for Redis.
        acs_client = asyncio.create_task(
            asyncio.to_thread(
                AcsCallAutomation, AcsConnectionString.parse(settings.effective_acs_connection_string)
            ),
            name="acs-client",
        )
        stack.push_async_callback(_close_acs, acs_client)

        embedded: EmbeddedRedis | None = None
        redis_url = settings.redis_url
        if not redis_url:
            embedded = EmbeddedRedis()
            await embedded.start()
            stack.push_async_callback(embedded.stop)
            redis_url = embedded.url
        redis = connect_redis(
            redis_url,
            socket_timeout_s=settings.redis_socket_timeout_seconds,
            max_connections=settings.redis_max_connections,
        )
        stack.push_async_callback(redis.aclose)
        observability = Observability()
        CallEventPublisher.shared(redis).on_drop = observability.metrics.live_event_dropped

        extra_dirs = [settings.agents_dir] if settings.agents_dir else []
        registry = await asyncio.to_thread(RegistryHolder.from_dirs, extra_dirs)
        loader_process: RegistryLoaderProcess | None = None
        if settings.registry_load_worker:
            loader_process = RegistryLoaderProcess(extra_dirs)
            registry.load_in(loader_process)
            stack.push_async_callback(loader_process.close)
        snapshot = registry.current
        log.info(
            "registry loaded",
            extra={
                "agents": len(snapshot.agents),
                "scenarios": len(snapshot.scenarios),
                "version": snapshot.version,
            },
        )
        if settings.default_scenario not in snapshot.scenarios:
            raise ValueError(f"DEFAULT_SCENARIO {settings.default_scenario!r} is not a known scenario")
        if await seed_demo_data(redis):
            log.info("demo data seeded")
        if embedded is not None:

            async def reseed() -> None:
                if await seed_demo_data(redis):
                    log.info("demo data seeded again after the embedded redis restarted")

            embedded.supervise(on_restart=reseed)  # stopped with it (embedded.stop is on the stack)
        registry_sync = RegistrySync(redis, registry)
        await registry_sync.start()
        stack.push_async_callback(registry_sync.stop)

        # Models are loaded once per process and shared read-only by every call; load off the loop.
        vad_model = await asyncio.to_thread(get_shared_model)
        providers = build(settings)
        for close in providers.closers:
            stack.push_async_callback(close)
        tts = providers.embedded_tts
        if tts is not None:
            await tts.warm_up()
        warm_up = ProviderWarmUp(providers.cascade.stt, providers.local_brain, settings.default_scenario)
        registry.add_preparer(warm_up.prepare)  # a refresh: everything, before the new registry goes live
        # Start-up: what the first call needs, beside the rest of start-up; everything else once ready.
        essentials = asyncio.create_task(warm_up.essentials(snapshot), name="warm-up-essentials")
        stack.push_async_callback(_cancel, essentials)
        # The end-of-turn model every call uses: loading on its own thread; ready waits for it below.
        turn_model = shared_turn_batcher() if settings.turn_end_model == "auto" else None

        transcripts = await open_transcript_store(settings)
        stack.push_async_callback(transcripts.close)

        if settings.otel_exporter_otlp_endpoint:
            # Off the loop: the exporter's import (gRPC's C core for grpc) runs beside the warm-up tasks.
            tracer = await asyncio.to_thread(
                otlp_tracer, settings.otel_exporter_otlp_endpoint, settings.otel_service_name, os.environ
            )
            if tracer is not None:
                observability.tracer = tracer
                stack.push_async_callback(tracer.aclose)
        loop_lag = LoopLagMonitor(observability.metrics.loop_lag)
        loop_lag.start()
        stack.push_async_callback(loop_lag.stop)

        acs = await acs_client

        acs_auth = build_acs_verifier(settings, http)

        secret = settings.media_token_secret
        token_secret = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
        media_tokens = MediaTokenSigner(token_secret, settings.media_token_ttl_seconds)
        store = RedisCallStore(redis, ttl_seconds=settings.call_record_ttl_seconds)
        sessions = RedisSessionStore(redis, ttl_seconds=settings.call_record_ttl_seconds)
        sessions.start()
        stack.push_async_callback(sessions.stop)
        guidance = guidance_engine(settings)  # one per replica: its calls and POST /guidance share it
        stack.push_async_callback(guidance.aclose)
        # One batcher: cascade calls and realtime sessions share its runs.
        vad = VadBatcher(vad_model, sample_rate=settings.vad_sample_rate)
        observability.metrics.registry.register(VadBatchCounters(vad))
        realtime = build_realtime(settings, providers.cascade, vad, registry, turn_model)
        recordings = RecordingService.from_settings(settings)
        await recordings.start()  # sweeps recordings past retention first
        stack.push_async_callback(recordings.stop)
        summaries = None
        if settings.call_summary_enabled:
            summaries = SummaryService(
                transcripts,
                CallEventPublisher.shared(redis),
                model=build_summariser(settings),
                timeout_s=settings.call_summary_timeout_seconds,
            )
            stack.push_async_callback(summaries.aclose)
        orchestrators = OrchestratorFactory(
            default=settings.orchestrator, providers=providers.cascade, voicelive=realtime.voicelive
        )
        calls = CallService(
            settings=settings,
            store=store,
            redis=redis,
            acs=acs,
            media_tokens=media_tokens,
            registry=registry,
            orchestrators=orchestrators,
            transcripts=transcripts,
            vad=vad,
            sessions=sessions,
            observability=observability,
            recordings=recordings,
            summaries=summaries,
            guidance=guidance,
        )
        stack.push_async_callback(calls.after_call.drain)  # after close_all: the ended calls' recordings
        stack.push_async_callback(calls.close_all)
        router = CallRouter(
            redis,
            replica_id=registry_sync.replica_id,
            handle=calls.handle_command,
            on_lost=calls.media_claim_lost,
        )
        await router.start()
        stack.push_async_callback(router.stop)
        calls.router = router
        voice_sessions = SessionService(
            settings=settings, calls=calls, redis=redis, key=derive_key(token_secret)
        )
        stack.push_async_callback(voice_sessions.aclose)
        if settings.webrtc_loopback_candidates:
            from voice.transports.webrtc_ice import offer_loopback_candidates

            offer_loopback_candidates()
        webrtc = WebRtcSessions(settings=settings, sessions=voice_sessions, calls=calls)
        calls.ice_candidates = webrtc.candidate_from_another_replica
        stack.push_async_callback(webrtc.aclose)  # before the router stops: peers end their sessions first
        # Before this replica serves: close what a killed worker left open (calls no replica holds).
        await close_abandoned_calls(transcripts, store, router)
        # What a call may need that is not imported at start-up: VoiceLive's SDK when a scenario runs on it.
        if orchestrators.needs_voicelive(snapshot):
            await orchestrators.prepare()
        await essentials
        if turn_model is not None:
            await turn_model.wait_loaded()
        # The rest of the providers' warm-up (it was ~4 s of a ~5 s cold start) waits for quiet: it never
        # takes CPU from a live call, and a call that needs a piece first builds it (never twice).
        rest = asyncio.create_task(
            _after_ready(
                lambda: warm_up.rest_when_quiet(snapshot, busy=lambda: calls.live_calls > 0),
                webrtc.preload,
                _when_quiet(orchestrators.prepare, busy=lambda: calls.live_calls > 0),
                _when_quiet(_import_relay, busy=lambda: calls.live_calls > 0),
                *(
                    [_when_quiet(_fit_tone_model, busy=lambda: calls.live_calls > 0)]
                    if settings.guidance_enabled
                    else []
                ),
            ),
            name="warm-up-rest",
        )
        stack.push_async_callback(_cancel, rest)
        if loader_process is not None:  # a child process: none of this process's CPU or GIL
            loader_process.warm_up_in_background()
        return cls(
            settings=settings,
            redis=redis,
            registry=registry,
            registry_sync=registry_sync,
            calls=calls,
            voice_sessions=voice_sessions,
            webrtc=webrtc,
            acs_auth=acs_auth,
            event_grid_auth=event_grid_auth,
            media_tokens=media_tokens,
            tts=tts,
            vad_model=vad_model,
            transcripts=transcripts,
            observability=observability,
            realtime=realtime,
            guidance=guidance,
            embedded_redis=embedded,
            _stack=stack,
        )

    async def stop(self) -> None:
        await self._stack.aclose()

    async def dependency_problems(self, timeout_s: float = 1.0) -> list[str]:
        """What the service depends on and cannot reach right now (Redis), each with the reason."""
        if self.embedded_redis is not None and self.embedded_redis.down_reason is not None:
            return [self.embedded_redis.down_reason]
        try:
            await asyncio.wait_for(self.redis.ping(), timeout=timeout_s)
        except (TimeoutError, OSError, aioredis.RedisError) as exc:
            return [f"redis unreachable: {exc.__class__.__name__}"]
        return []

    async def readiness_checks(self) -> list[DependencyCheck]:
        """Each thing readiness depends on, ready or not, with what it is or why not (the console lists them)."""
        redis_down = await self.dependency_problems()
        redis_kind = "embedded" if self.embedded_redis is not None else "external"
        scenarios = len(self.registry.current.scenarios)
        checks = [
            DependencyCheck(name="redis", ok=not redis_down, detail="; ".join(redis_down) or redis_kind),
            DependencyCheck(
                name="registry",
                ok=scenarios > 0,
                detail=f"{scenarios} scenarios, version {self.registry.current.version}"
                if scenarios
                else "registry has no scenarios",
            ),
        ]
        if self.tts is not None:
            ready = self.tts.ready
            checks.append(
                DependencyCheck(name="tts", ok=ready, detail=self.tts.name if ready else "tts not ready")
            )
        return checks


async def _after_ready(*warm_ups: Callable[[], Awaitable[None]]) -> None:
    """Each warm-up in turn; one that fails is logged and the next still runs."""
    for warm_up in warm_ups:
        try:
            await warm_up()
        except Exception:
            log.exception("a warm-up failed; what it warms is built on first use")


def _when_quiet(
    warm_up: Callable[[], Awaitable[None]], busy: Callable[[], bool]
) -> Callable[[], Awaitable[None]]:
    """`warm_up` once no call has been live for QUIET_S (an import holds the GIL: not beside a call)."""

    async def run() -> None:
        await wait_quiet(busy, QUIET_S)
        await warm_up()

    return run


async def _import_relay() -> None:
    """The realtime relay's modules, in a thread, so that its first session does not wait for them."""
    from apps.backend.api.v1.relay import relay_runner

    await relay_runner()


async def _fit_tone_model() -> None:
    """The guidance tone reader's model (~2 s of CPU, numpy holding the GIL between steps), fitted while no call
    is live rather than at a call's first guidance report."""
    from voice.guidance.tone_model import shared_model

    await asyncio.to_thread(shared_model)


async def _close_acs(client: asyncio.Task[AcsCallAutomation]) -> None:
    """Close the ACS client once it is built (start-up may have stopped before it was awaited)."""
    try:
        acs = await client
    except Exception:  # its failure was raised where start-up awaited it
        return
    await acs.close()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
