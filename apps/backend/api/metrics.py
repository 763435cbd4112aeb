"""GET /metrics: Prometheus text exposition of this process's metrics (at the root, where scrapers look).

Unauthenticated like the health probes: it carries counts and latencies, never call content or numbers.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from apps.backend.api.deps import RuntimeDep

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.observability.metrics.render(), media_type=CONTENT_TYPE_LATEST)
