"""Scenario definitions: which agents take part in a call and which one answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    start_agent: str
    agents: list[str] = Field(min_length=1)
