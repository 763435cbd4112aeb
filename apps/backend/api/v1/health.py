"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apps.backend.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/readiness", response_model=None)
async def readiness(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: Redis reachable, registry loaded, providers ready. 503 with the reasons otherwise."""
    problems = await runtime.readiness_problems()
    body = {
        "status": "ready" if not problems else "not_ready",
        "problems": problems,
        "live_calls": runtime.calls.live_calls,
        "acs": "simulator" if runtime.settings.uses_acs_simulator else "azure",
        "redis": "embedded" if runtime.embedded_redis else "external",
    }
    return JSONResponse(body, status_code=200 if not problems else 503)
