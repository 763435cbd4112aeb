"""Helpers for e2e tests that place a simulated call and read back what the backend recorded."""

from __future__ import annotations

from tests.support import Backend, eventually
from voice.transcript import CallTranscript, TranscriptTurn

BANKING = "+18005550100"
INSURANCE = "+18005550200"
HUMAN_QUEUE = "+18005550199"


async def transcript_of(backend: Backend, call_connection_id: str) -> CallTranscript:
    """The finished call's transcript, once its outcome is written."""

    async def finished() -> CallTranscript | None:
        async with backend.admin() as admin:
            response = await admin.get(f"/api/v1/calls/{call_connection_id}/transcript")
        if response.status_code != 200:
            return None
        transcript = CallTranscript.model_validate(response.json())
        return transcript if transcript.outcome is not None else None

    return await eventually(finished, timeout=20)


def agent_turns(transcript: CallTranscript) -> list[TranscriptTurn]:
    return [t for t in transcript.turns if t.speaker == "agent"]


def caller_turns(transcript: CallTranscript) -> list[TranscriptTurn]:
    return [t for t in transcript.turns if t.speaker == "caller"]


def tools_called(transcript: CallTranscript) -> list[tuple[str, bool]]:
    return [(call.name, call.ok) for turn in transcript.turns for call in turn.tool_calls]


def turn_calling(transcript: CallTranscript, tool: str) -> TranscriptTurn:
    """The (first) turn that ran `tool`."""
    return next(t for t in transcript.turns if any(c.name == tool for c in t.tool_calls))


def describe(transcript: CallTranscript) -> str:
    """The transcript, one turn a line: for assertion messages."""
    return "\n".join(
        f"{t.seq} {t.speaker}/{t.kind}/{t.agent}{' (cut)' if t.interrupted else ''}: {t.text!r} "
        f"{[c.name for c in t.tool_calls]}"
        for t in transcript.turns
    )
