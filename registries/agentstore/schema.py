"""Agent definitions as ops teams write them in YAML.

This is the walking-skeleton subset (name, description, greeting, voice); tools, prompts, models and
handoffs arrive with the full registry. Unknown keys are errors, so a typo never passes silently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VoiceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="TTS voice; None uses the provider's default.")


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    greeting: str = Field(min_length=1, description="Jinja template spoken when the agent answers.")
    voice: VoiceSpec = Field(default_factory=VoiceSpec)
