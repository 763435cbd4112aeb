"""What guidance reads and produces: a transcript's turns in, checklist status, the caller's tone and coaching
lines out. The same shapes for the stateless API, the live event and every engine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Tone = Literal["calm", "confused", "frustrated", "angry", "distressed"]
TONES: tuple[Tone, ...] = ("calm", "confused", "frustrated", "angry", "distressed")
ItemStatus = Literal["done", "missing", "not_applicable"]

MAX_TURNS = 200
MAX_TURN_CHARS = 2000


class GuidanceTurn(BaseModel):
    """One turn of the transcript as guidance reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: Literal["caller", "agent"]
    text: str = Field(max_length=MAX_TURN_CHARS)
    seq: int | None = Field(default=None, ge=0, description="Position in the call; default: list order.")
    tools: tuple[str, ...] = Field(
        default=(), max_length=20, description="Tools the agent called successfully in this turn."
    )


class ChecklistStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    status: ItemStatus
    turn: int | None = None
    """The turn (seq) that satisfied it, or that made it not applicable."""


class ToneReading(BaseModel):
    model_config = ConfigDict(frozen=True)

    tone: Tone
    confidence: float = Field(ge=0, le=1)


class GuidanceReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: str
    engine: str
    """Which engine produced it: "embedded", or "azure-openai" (the model answered; on failure: embedded)."""
    checklist: tuple[ChecklistStatus, ...] = ()
    tone: ToneReading
    coaching: tuple[str, ...] = Field(default=(), max_length=2)
    turns_read: int = 0
