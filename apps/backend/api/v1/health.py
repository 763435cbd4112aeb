"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apps.backend.api.deps import RuntimeDep

router = APIRouter(tags=["health"])

LIVENESS_PING_TIMEOUT_S = 0.25
"""Well inside a liveness probe's usual 1 s timeout: a hung Redis must not get the process restarted."""


@router.get("/health")
async def health(runtime: RuntimeDep) -> dict[str, str | list[str]]:
    """Liveness: 200 whenever the process serves (restarting it would not bring Redis back); the body says
    `degraded` and what is down when a dependency is unreachable (readiness is then 503)."""
    problems = await runtime.dependency_problems(timeout_s=LIVENESS_PING_TIMEOUT_S)
    if problems:
        return {"status": "degraded", "problems": problems}
    return {"status": "ok"}


@router.get("/readiness", response_model=None)
async def readiness(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: Redis reachable, registry loaded, providers ready (each in `dependencies`). 503 with the
    reasons otherwise."""
    checks = await runtime.readiness_checks()
    problems = [check.detail for check in checks if not check.ok]
    body = {
        "status": "ready" if not problems else "not_ready",
        "problems": problems,
        "dependencies": [check.model_dump() for check in checks],
        "live_calls": runtime.calls.live_calls,
        "acs": "simulator" if runtime.settings.uses_acs_simulator else "azure",
        "redis": "embedded" if runtime.embedded_redis else "external",
    }
    return JSONResponse(body, status_code=200 if not problems else 503)
