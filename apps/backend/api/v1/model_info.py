"""`GET /api/v1/model-info`: configured providers and chains, their reachability, the price table in force."""

from __future__ import annotations

from fastapi import APIRouter

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.model_info import ModelInfo, model_info

router = APIRouter(tags=["model-info"])


@router.get("/model-info", dependencies=[AdminDep])
async def get_model_info(runtime: RuntimeDep, check: bool = True) -> ModelInfo:
    """Providers in chain order (STT, LLM, TTS, realtime) with models, deployments, voices and API versions;
    `check=true` (default) tries a TCP connect to each remote endpoint, all at once, within 2 s. No secrets:
    keys are reported as `key_configured` only."""
    return await model_info(runtime.settings, runtime.calls.prices, check=check)
