"""Helpers for e2e tests that place a simulated call and read back what the backend recorded."""

from __future__ import annotations

import json
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator.caller_audio import CallerStep, Say, WaitForAgent
from tests.support import ADMIN_KEY, Backend, eventually
from voice.transcript import CallTranscript, TranscriptTurn

BANKING = "+18005550100"
INSURANCE = "+18005550200"
HUMAN_QUEUE = "+18005550199"
TRIAGE = "+18005550300"


def triage_intake_script() -> list[CallerStep]:
    """A nurse-line caller who answers the whole triage intake (lines close to the form's examples), then
    confirms the read-back."""
    return [
        WaitForAgent(),
        Say("I have a bad headache"),
        WaitForAgent(),
        Say("it started yesterday"),
        WaitForAgent(),
        Say("about two days"),
        WaitForAgent(),
        Say("it's a seven out of ten"),
        WaitForAgent(),
        Say("nausea and a fever"),
        WaitForAgent(),
        Say("I took ibuprofen"),
        WaitForAgent(),
        Say("I'm allergic to penicillin"),
        WaitForAgent(timeout_s=40),  # the read-back
        Say("yes"),
        WaitForAgent(),
    ]


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


async def follow_events(backend: Backend, call_id: str) -> list[dict[str, Any]]:
    """Everything a dashboard receives for the call until the server closes the socket."""
    url = f"{backend.url.replace('http', 'ws', 1)}/api/v1/calls/{call_id}/events"
    events: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers={"x-api-key": ADMIN_KEY}) as ws:
        try:
            async for message in ws:
                events.append(json.loads(message))
        except ConnectionClosed:
            pass
    return events


async def newest_call_id(backend: Backend) -> str:
    """The id of the newest call in the calls list (waiting for one to appear)."""

    async def first() -> str | None:
        async with backend.admin() as admin:
            calls = (await admin.get("/api/v1/calls")).json()["calls"]
        return calls[0]["call_id"] if calls else None

    return str(await eventually(first, timeout=15, interval=0.02))
