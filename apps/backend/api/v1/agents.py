"""Registry API: read agents, scenarios and tool schemas; reload them safely (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.backend.registry.sync import RefreshAck
from registries.loader import RegistryError

router = APIRouter(tags=["registry"], dependencies=[AdminDep])


def _tool_view(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "parameters": spec.parameters,
        "examples": list(spec.examples),
        "reply": spec.reply,
    }


@router.get("/agents")
async def list_agents(runtime: RuntimeDep) -> dict[str, Any]:
    snapshot = runtime.registry.current
    return {
        "version": snapshot.version,
        "agents": [
            {"name": a.name, "description": a.description, "tools": list(a.tools), "handoff": a.handoff}
            for a in snapshot.agents.values()
        ],
    }


@router.get("/agents/{name}")
async def get_agent(name: str, runtime: RuntimeDep) -> dict[str, Any]:
    snapshot = runtime.registry.current
    agent = snapshot.agents.get(name)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent named {name!r}")
    return {"version": snapshot.version, "agent": agent.model_dump(mode="json")}


@router.get("/scenarios")
async def list_scenarios(runtime: RuntimeDep) -> dict[str, Any]:
    snapshot = runtime.registry.current
    return {
        "version": snapshot.version,
        "scenarios": [s.model_dump(mode="json") for s in snapshot.scenarios.values()],
    }


@router.get("/tools")
async def list_tools(runtime: RuntimeDep) -> dict[str, Any]:
    snapshot = runtime.registry.current
    return {"version": snapshot.version, "tools": [_tool_view(t) for t in snapshot.tools.values()]}


@router.post("/agents/refresh", response_model=None)
async def refresh_agents(runtime: RuntimeDep) -> JSONResponse | dict[str, Any]:
    """Reload agents, scenarios and tools on every replica. 422 with every problem; nothing changes then."""
    try:
        outcome = await runtime.registry.refresh()
    except RegistryError as exc:
        return JSONResponse(
            {"detail": "registry is invalid; the previous version stays live", "errors": exc.to_json()},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    own = RefreshAck(replica=runtime.registry_sync.replica_id, ok=True, version=outcome.version)
    replicas = await runtime.registry_sync.broadcast(own)
    return {**outcome.model_dump(), "replicas": replicas.model_dump()}
