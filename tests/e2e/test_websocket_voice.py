"""A browser voice session over the plain WebSocket, end to end: created with the admin key, greeted, a spoken
identity check answered through the verify_identity tool, a barge-in that clears the client's queued audio,
the same transcript and live guidance on the events socket, and the session in the calls list with its channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from apps.acs_simulator.caller_audio import synthesize
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.storage.intake_result import IntakeResult
from tests.e2e.voice_session_client import RATE, create_session, listening, talking, voice_url
from tests.support import Backend, eventually

IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."


async def _transcript(backend: Backend, session_id: str) -> dict:
    async with backend.admin() as client:
        response = await client.get(f"/api/v1/calls/{session_id}/transcript")
    assert response.status_code == 200, response.text
    return response.json()


def _tools(transcript: dict) -> list[str]:
    return [call["name"] for turn in transcript["turns"] for call in turn.get("tool_calls", [])]


async def test_a_websocket_session_greets_answers_with_a_tool_is_interrupted_and_streams_its_events(
    backend: Backend,
) -> None:
    session = await create_session(backend, channel="websocket")
    session_id = session["session_id"]
    identity = await synthesize(IDENTITY, RATE)
    question = await synthesize("What are my recent transactions?", RATE)
    cut_in = await synthesize("What's my checking balance?", RATE)

    async with listening(session) as events, talking(voice_url(session)) as voice:
        await voice.wait_agent_done(since_frames=0)  # the greeting, as binary PCM frames
        greeting_frames = voice.audio_frames
        assert greeting_frames > 50  # more than a second of agent audio, not a click

        voice.say(identity)
        await voice.wait_spoken()
        await voice.wait_agent_done(since_frames=greeting_frames)
        assert "verify_identity" in _tools(await _transcript(backend, session_id))

        # Barge-in: talk over the (long) list of transactions two seconds into it.
        before = voice.audio_frames
        voice.say(question)
        await voice.wait_spoken()
        await eventually(lambda: voice.audio_frames > before + 100, timeout=30)
        assert voice.of_type("clear") == []
        voice.say(cut_in)
        await eventually(lambda: voice.of_type("clear"), timeout=10)
        await voice.wait_spoken()
        await voice.wait_agent_done(since_frames=voice.audio_frames)

        transcript = await _transcript(backend, session_id)
        interrupted = [t for t in transcript["turns"] if t["speaker"] == "agent" and t["interrupted"]]
        assert [c["name"] for c in interrupted[0]["tool_calls"]] == ["get_recent_transactions"], transcript
        assert _tools(transcript)[-1] == "get_balance", transcript

        # The voice socket carries the live events too, and the events socket has both sides' turns.
        assert {e["speaker"] for e in voice.of_type("transcript_chunk")} == {"caller", "agent"}
        await eventually(lambda: events.chunks("caller") and events.chunks("agent"), timeout=10)
        assert events.events[0]["type"] == "snapshot"
        assert any(e["type"] == "tool_called" and e["name"] == "verify_identity" for e in events.events)
        caller_texts = " ".join(c["text"].lower() for c in events.chunks("caller"))
        assert "rivera" in caller_texts

        # Live guidance (the banking scenario declares a checklist) reaches the session's events socket too,
        # and saw the identity check the agent made.
        def verified() -> bool:
            return any(
                item["id"] == "identity_verified" and item["status"] == "done"
                for e in events.events
                if e["type"] == "guidance"
                for item in e["guidance"]["checklist"]
            )

        await eventually(verified, timeout=15)
        guidance = [e["guidance"] for e in events.events if e["type"] == "guidance"]
        assert all(g["scenario"] == "banking" and g["engine"] == "embedded" for g in guidance)

        await voice.ws.send(json.dumps({"type": "stop"}))
        await eventually(lambda: events.close is not None, timeout=10)
    assert events.close == (1000, "call has ended")

    async with backend.admin() as client:
        record = (await client.get(f"/api/v1/sessions/{session_id}")).json()
        listed = (await client.get("/api/v1/calls")).json()["calls"]
        sessions = (await client.get("/api/v1/sessions")).json()["calls"]
    assert (record["status"], record["channel"], record["end_reason"]) == (
        "ended",
        "websocket",
        "stopped by the client",
    )
    assert [(c["call_id"], c["channel"]) for c in listed] == [(session_id, "websocket")]
    assert [c["call_id"] for c in sessions] == [session_id]
    assert backend.runtime.calls.live_calls == 0


async def test_a_completion_event_reaches_the_sessions_events_socket_and_voice_socket(
    backend: Backend,
) -> None:
    """The scenario's completion event (an intake recorded: `intake_complete`, published by the call core's
    listener for every channel; tests/e2e/test_triage_intake.py has a whole intake produce it) rides the
    session's feed to both of its browser sockets."""
    session = await create_session(backend, scenario="triage")
    session_id = session["session_id"]
    intake = IntakeResult(
        form="triage",
        tool="submit_triage_intake",
        agent="triage_nurse",
        turn_seq=7,
        completed_at=datetime.now(UTC),
        fields={"chief_complaint": "a bad headache", "severity": 7},
    )
    async with listening(session) as events, talking(voice_url(session)) as voice:
        await eventually(lambda: voice.audio_frames > 0 and events.events, timeout=20)  # both are following
        CallEventPublisher.shared(backend.runtime.redis).intake_complete(session_id, intake)
        await eventually(lambda: voice.of_type("intake_complete"), timeout=10)
        await eventually(lambda: [e for e in events.events if e["type"] == "intake_complete"], timeout=10)
    [on_voice] = voice.of_type("intake_complete")
    [on_events] = [e for e in events.events if e["type"] == "intake_complete"]
    assert on_voice == on_events
    assert on_voice["call_id"] == session_id
    assert IntakeResult.model_validate(on_voice["intake"]) == intake


async def test_a_handoff_reaches_the_sessions_sockets_as_agent_changed(backend: Backend) -> None:
    session = await create_session(backend)
    lost_card = await synthesize("I lost my debit card.", RATE)
    async with listening(session) as events, talking(voice_url(session)) as voice:
        await voice.wait_agent_done(since_frames=0)
        voice.say(lost_card)
        await eventually(lambda: voice.of_type("agent_changed"), timeout=40)
        await eventually(lambda: [e for e in events.events if e["type"] == "agent_changed"], timeout=10)
    [on_voice] = voice.of_type("agent_changed")
    [on_events] = [e for e in events.events if e["type"] == "agent_changed"]
    assert (on_voice["from"], on_voice["to"]) == ("concierge", "card_services")
    assert on_events == on_voice
