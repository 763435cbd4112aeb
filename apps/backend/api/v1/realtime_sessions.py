"""Minting short-lived client secrets for the embedded realtime server (admin).

`POST /api/v1/realtime/sessions` returns a secret a browser or device can open `/v1/realtime` (GA) or
`/voice-live/realtime` (VoiceLive) with, without ever seeing an API key. With an agent and/or scenario the
secret carries that agent's session (rendered instructions, voice, tools), so the session starts as it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from apps.backend.api.deps import AdminDep, RuntimeDep
from apps.realtime_server.protocol import FunctionTool, RealtimeSessionConfig, TurnDetection
from registries.snapshot import RegistrySnapshot
from registries.templates import render_prompt
from registries.toolstore.clock import BusinessClock

router = APIRouter(tags=["realtime"], dependencies=[AdminDep])


class MintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str | None = None
    agent: str | None = None
    ttl_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    voice: str | None = None


class ClientSecret(BaseModel):
    value: str
    expires_at: int


class MintResponse(BaseModel):
    client_secret: ClientSecret
    expires_at: int
    url: str
    voicelive_url: str
    session: dict[str, Any]


def agent_session(
    snapshot: RegistrySnapshot, agent_name: str, scenario_name: str, clock: BusinessClock
) -> RealtimeSessionConfig:
    """The realtime session an agent of a scenario starts with (its prompt ends with today's date)."""
    agent = snapshot.agents[agent_name]
    scenario = snapshot.scenarios[scenario_name]
    tools = [
        FunctionTool(name=t.name, description=t.description, parameters=t.parameters)
        for t in snapshot.tools_for(agent_name, scenario_name)
    ]
    detection = agent.voicelive.turn_detection
    return RealtimeSessionConfig(
        instructions=clock.with_prompt_line(render_prompt(agent, {}, scenario)),
        voice=agent.voicelive.voice or agent.voice.name,
        tools=tools,
        turn_detection=TurnDetection(**detection.model_dump()) if detection is not None else TurnDetection(),
    )


def _resolve(snapshot: RegistrySnapshot, body: MintRequest, default_scenario: str) -> tuple[str, str] | None:
    if body.scenario is None and body.agent is None:
        return None
    scenario = body.scenario
    if scenario is None:  # an agent alone: the default scenario if it has it, else the first that does
        candidates = [default_scenario, *snapshot.scenarios]
        scenario = next(
            (s for s in candidates if s in snapshot.scenarios and body.agent in snapshot.scenarios[s].agents),
            None,
        )
        if body.agent not in snapshot.agents:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent named {body.agent!r}")
        if scenario is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {body.agent!r} is in no scenario")
    if scenario not in snapshot.scenarios:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no scenario named {scenario!r}")
    agent = body.agent or snapshot.scenarios[scenario].start_agent
    if agent not in snapshot.agents:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent named {agent!r}")
    if agent not in snapshot.scenarios[scenario].agents:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"agent {agent!r} is not part of scenario {scenario!r}"
        )
    return agent, scenario


@router.post("/realtime/sessions", status_code=status.HTTP_201_CREATED, response_model=MintResponse)
async def mint_realtime_session(body: MintRequest, runtime: RuntimeDep) -> MintResponse:
    snapshot = runtime.registry.current
    target = _resolve(snapshot, body, runtime.settings.default_scenario)
    clock = runtime.settings.business_clock
    session = agent_session(snapshot, *target, clock) if target is not None else RealtimeSessionConfig()
    if body.voice is not None:
        session = session.model_copy(update={"voice": body.voice})
    value, expires_at = runtime.realtime.secrets.issue(body.ttl_seconds, session)
    base = runtime.settings.websocket_base_url.rstrip("/")
    return MintResponse(
        client_secret=ClientSecret(value=value, expires_at=expires_at),
        expires_at=expires_at,
        url=f"{base}/v1/realtime",
        voicelive_url=f"{base}/voice-live/realtime",
        session=session.wire(),
    )
