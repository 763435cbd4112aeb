"""A call's post-call summary: what the call was about, how it ended, and what is left to do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Disposition = Literal["resolved", "transferred", "escalated", "callback_needed", "abandoned", "unresolved"]
DISPOSITIONS: tuple[Disposition, ...] = (
    "resolved",
    "transferred",
    "escalated",
    "callback_needed",
    "abandoned",
    "unresolved",
)


class SummaryContent(BaseModel):
    """What a summariser writes (the JSON schema Azure OpenAI's structured output must follow)."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="Two or three sentences: what the caller wanted and what was done.")
    disposition: Disposition = Field(
        description="resolved: the request was handled; transferred: handed to a person; escalated: a red flag "
        "or urgent case raised; callback_needed: something is left to do with the caller; abandoned: the caller "
        "left before asking anything; unresolved: none of these."
    )
    reason: str = Field(description="The caller's reason for calling, in a few words.")
    follow_ups: list[str] = Field(description="Actions left for the team after the call (may be empty).")


class PostCallSummary(SummaryContent):
    call_id: str
    source: Literal["azure_openai", "embedded"]
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    intake: dict[str, Any] | None = Field(
        default=None, description="The intake form's fields, when the call completed one."
    )
    end_reason: str | None = Field(default=None, description="How the call ended (the transcript's outcome).")
