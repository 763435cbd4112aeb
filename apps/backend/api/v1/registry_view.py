"""GET /api/v1/registry (admin): the whole registry as this replica serves it, in one read, for the console's
Agents page: every agent with its prompt template, every scenario with its handoff graph, every tool with its
JSON schema. (The per-kind endpoints in `agents.py` stay the API for scripts.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from apps.backend.api.deps import AdminDep, RuntimeDep
from registries.agentstore.schema import AgentSpec

router = APIRouter(tags=["registry"], dependencies=[AdminDep])


class AgentView(BaseModel):
    name: str
    description: str
    greeting: str
    prompt: str
    """The prompt's Jinja source (inline, or the text of its prompt_file)."""
    tools: list[str]
    handoff_trigger: str | None
    source: str | None
    """The YAML file's name."""

    @classmethod
    def of(cls, agent: AgentSpec) -> AgentView:
        return cls(
            name=agent.name,
            description=agent.description,
            greeting=agent.greeting,
            prompt=agent.prompt_template,
            tools=list(agent.tools),
            handoff_trigger=agent.handoff.trigger if agent.handoff else None,
            source=agent.source.name if agent.source else None,
        )


class RegistryView(BaseModel):
    version: str
    loaded_at: datetime
    agents: list[AgentView]
    scenarios: list[dict[str, Any]]
    """As in the scenario YAML (`handoffs` are the graph's edges: from, to, tool, type, condition)."""
    tools: list[dict[str, Any]]
    """name, description, parameters (JSON schema), examples."""


@router.get("/registry")
async def registry_view(runtime: RuntimeDep) -> RegistryView:
    snapshot = runtime.registry.current
    return RegistryView(
        version=snapshot.version,
        loaded_at=snapshot.loaded_at,
        agents=[AgentView.of(agent) for agent in snapshot.agents.values()],
        scenarios=[scenario.model_dump(mode="json") for scenario in snapshot.scenarios.values()],
        tools=[
            {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
                "examples": list(tool.examples),
            }
            for tool in snapshot.tools.values()
        ],
    )
