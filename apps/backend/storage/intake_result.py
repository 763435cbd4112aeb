"""A call's completed intake: the structured result the scenario's form asked for, as the call record keeps it
and the API returns it.

The result is also in the transcript (the output of the intake tool's call, on the agent turn that made it),
so it outlives the call record's TTL and reads the same from SQLite or Cosmos DB: `intake_in_transcript`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from registries.toolstore.intake_tool import COMPLETE_KEY
from voice.transcript import CallTranscript, TranscriptTurn


class IntakeResult(BaseModel):
    form: str = Field(description="The scenario's intake form name.")
    tool: str = Field(description="The generated tool that recorded it.")
    agent: str | None = Field(default=None, description="The agent that completed the intake.")
    turn_seq: int = Field(description="The transcript turn that recorded it.")
    completed_at: datetime
    fields: dict[str, Any] = Field(description="Field name -> value (dates ISO, lists of strings, numbers).")


def intake_of_turn(turn: TranscriptTurn) -> IntakeResult | None:
    """The intake a turn recorded (a successful intake tool call), if any."""
    for call in turn.tool_calls:
        result = call.output.get("result")
        if call.ok and call.output.get(COMPLETE_KEY) is True and isinstance(result, dict):
            return IntakeResult(
                form=str(call.output.get("form", "")),
                tool=call.name,
                agent=turn.agent,
                turn_seq=turn.seq,
                completed_at=turn.ended_at,
                fields=result,
            )
    return None


def intake_in_transcript(transcript: CallTranscript) -> IntakeResult | None:
    """The call's latest recorded intake."""
    for turn in reversed(transcript.turns):
        found = intake_of_turn(turn)
        if found is not None:
            return found
    return None
