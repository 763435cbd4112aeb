"""FastAPI app factory. The lifespan owns the Runtime: started before the first request, stopped after
the last (and on a failed start-up, whatever had started is stopped again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apps.backend.api import metrics
from apps.backend.api.v1 import agents, call_events, calls, health, media
from apps.backend.gc_tuning import freeze_long_lived_objects
from apps.backend.providers import ProviderFactory, build_providers
from apps.backend.runtime import Runtime
from apps.backend.settings import Settings

API_PREFIX = "/api/v1"


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

    app = FastAPI(title="Switchboard", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    for router in (health.router, calls.router, call_events.router, media.router, agents.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    return app
