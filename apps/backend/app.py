"""FastAPI app factory. The lifespan owns the Runtime: started before the first request, stopped after
the last (and on a failed start-up, whatever had started is stopped again)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.backend.api import metrics
from apps.backend.api.console import add_console
from apps.backend.api.v1 import (
    agents,
    call_events,
    calls,
    conversation,
    costs,
    guidance,
    health,
    hold_audio,
    intake,
    live_calls,
    media,
    model_info,
    realtime_sessions,
    recordings,
    registry_view,
    relay,
    sessions,
    twilio,
    webrtc,
)
from apps.backend.api.voice_page import voice_page
from apps.backend.gc_tuning import freeze_long_lived_objects
from apps.backend.providers import ProviderFactory, build_providers
from apps.backend.runtime import Runtime
from apps.backend.settings import Settings
from apps.realtime_server.app import add_realtime_routes
from apps.realtime_server.auth import RealtimeAuth
from apps.realtime_server.engine import RealtimeEngine

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
REDIS_RETRY_AFTER_S = 5


async def redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "request failed: redis unavailable",
        extra={"path": request.url.path, "error_type": type(exc).__name__},
    )
    return JSONResponse(
        {"detail": f"redis unavailable: {type(exc).__name__}"},
        status_code=503,
        headers={"Retry-After": str(REDIS_RETRY_AFTER_S)},
    )


def create_app(settings: Settings | None = None, *, providers: ProviderFactory = build_providers) -> FastAPI:
    """`providers` is for benchmarks that run the real service on fixed-latency fake providers."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, providers)
        app.state.runtime = runtime
        freeze_long_lived_objects()
        try:
            yield
        finally:
            await runtime.stop()

    # /docs is served from vendored files by add_console (FastAPI's default loads Swagger UI from a CDN);
    # ReDoc has no offline copy, so it is off.
    app = FastAPI(title="Switchboard", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    # Redis down or hung is the service being unavailable for a moment, not a bug: 503 (clients and Event Grid
    # retry), never a 500.
    app.add_exception_handler(RedisConnectionError, redis_unavailable)
    app.add_exception_handler(RedisTimeoutError, redis_unavailable)
    routers = (
        health.router,
        calls.router,
        call_events.router,
        media.router,
        agents.router,
        realtime_sessions.router,
        sessions.router,
        webrtc.router,
        conversation.router,
        intake.router,
        guidance.router,
        live_calls.router,
        registry_view.router,
        recordings.router,
        twilio.router,
        hold_audio.router,
        costs.router,
        model_info.router,
        relay.router,
    )
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    app.mount("/voice", voice_page(), name="voice")
    add_console(app)

    def realtime_engine() -> tuple[RealtimeEngine, RealtimeAuth]:
        realtime = app.state.runtime.realtime
        return realtime.engine, realtime.auth

    # The embedded realtime server: VoiceLive calls' default endpoint, and minted browser sessions'.
    add_realtime_routes(app, realtime_engine)
    return app
