"""The nurse line's triage intake on the embedded stack: a simulated caller answers the intake, the completion
event reaches a dashboard with the structured result, and the result is stored (call record, transcript) and
readable over the API; a red-flag symptom transfers to a person at once, with no intake recorded.

SpeechCascade: Silero VAD -> pocketsphinx (phrase model from the scenario, including the form's examples) ->
the local brain's form filling -> espeak-ng. Caller lines are close to the form's examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest_asyncio

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.calls import (
    HUMAN_QUEUE,
    TRIAGE,
    agent_turns,
    describe,
    follow_events,
    newest_call_id,
    tools_called,
    transcript_of,
    triage_intake_script,
)
from tests.support import Backend, running_backend
from voice.transcript import ToolCallRecord, TranscriptTurn


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator, transfer_target_number=HUMAN_QUEUE, idle_reprompt_seconds=30, idle_hang_up_seconds=60
    ) as running:
        yield running


async def test_a_triage_call_fills_the_form_and_the_result_is_announced_and_stored(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = triage_intake_script()
    call = asyncio.create_task(
        simulator.place_call(backend.url, script, to_number=TRIAGE, max_duration_s=180)
    )
    try:
        call_id = await newest_call_id(backend)
        events = await asyncio.wait_for(follow_events(backend, call_id), timeout=200)
        result = await call
    finally:
        call.cancel()
    assert result.script_error is None
    transcript = await transcript_of(backend, result.call_connection_id)
    assert tools_called(transcript) == [("submit_triage_intake", True)], describe(transcript)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expected = {
        "chief_complaint": "i have a bad headache",
        "onset": yesterday,
        "duration": "2 days",
        "severity": 7,
        "associated_symptoms": ["nausea", "fever"],
        "medications": ["ibuprofen"],
        "allergies": ["penicillin"],
    }

    def normalised(fields: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "chief_complaint": str(fields["chief_complaint"]).lower()}

    # The completion event reached the dashboard, with what the caller said.
    completed = [e for e in events if e["type"] == "intake_complete"]
    assert len(completed) == 1, [e["type"] for e in events]
    assert completed[0]["intake"]["form"] == "triage"
    assert normalised(completed[0]["intake"]["fields"]) == expected, describe(transcript)
    # Live guidance reached the dashboard after caller turns and tool turns: the checklist as the call went,
    # complete once the intake was recorded (the last guidance follows the agent's last turn, not the caller's).
    guidance = [e["guidance"] for e in events if e["type"] == "guidance"]
    assert guidance and all(g["scenario"] == "triage" and g["engine"] == "embedded" for g in guidance)
    asking = [t for t in transcript.turns if t.speaker == "caller" or any(c.ok for c in t.tool_calls)]
    assert len(guidance) <= len(asking)
    last = {item["id"]: item["status"] for item in guidance[-1]["checklist"]}
    assert set(last.values()) == {"done"}, guidance[-1]
    # The read-back came before it and the agent said it is not medical advice.
    said = " ".join(t.text for t in agent_turns(transcript)).lower()
    assert "let me read that back" in said and "can't give medical advice" in said, describe(transcript)
    # Stored: the API returns it from the call record, and the transcript holds it.
    async with backend.admin() as admin:
        response = await admin.get(f"/api/v1/calls/{call_id}/intake")
        record = (await admin.get(f"/api/v1/calls/{call_id}")).json()
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["tool"] == "submit_triage_intake" and stored["agent"] == "triage_nurse"
    assert normalised(stored["fields"]) == expected
    assert record["intake"] == stored
    recorded_turn = next(t for t in transcript.turns if t.seq == stored["turn_seq"])
    assert [c.name for c in recorded_turn.tool_calls] == ["submit_triage_intake"]


@pytest_asyncio.fixture
async def whisper_backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    """The product's default final pass (Whisper, prompted with the scenario's words): "I can't breathe" is
    everyday English, which pocketsphinx's phrase model hears as "can really" when the machine is busy."""
    async with running_backend(
        simulator, transfer_target_number=HUMAN_QUEUE, idle_reprompt_seconds=30, local_stt_final="whisper"
    ) as running:
        yield running


async def test_a_red_flag_transfers_to_a_person_at_once(
    simulator: AcsSimulator, whisper_backend: Backend
) -> None:
    backend = whisper_backend
    script = [WaitForAgent(), Say("I can't breathe"), WaitForAgent(timeout_s=20)]
    result = await simulator.place_call(backend.url, script, to_number=TRIAGE, max_duration_s=60)
    transcript = await transcript_of(backend, result.call_connection_id)
    transfers = [r for r in simulator.requests if r.path.endswith(":transferToParticipant")]
    assert len(transfers) == 1, describe(transcript)
    assert transfers[0].body["targetParticipant"]["rawId"] == f"4:{HUMAN_QUEUE}"
    assert result.hung_up_by == "transfer"
    # The first caller turn ends the intake: no question about onset or severity first.
    assert tools_called(transcript) == [("transfer_to_nurse", True)], describe(transcript)
    replies = [t for t in agent_turns(transcript) if t.kind != "greeting"]
    assert len(replies) == 1, describe(transcript)
    assert "call 911" in replies[0].text and "connecting you with a nurse" in replies[0].text
    assert replies[0].tool_calls[0].arguments == {"reason": "red flag: trouble breathing"}
    async with backend.admin() as admin:
        response = await admin.get(f"/api/v1/calls/{transcript.call_id}/intake")
    assert response.status_code == 404 and "no intake" in response.json()["detail"]


async def test_the_intake_reads_from_the_transcript_once_the_call_record_is_gone(
    simulator: AcsSimulator, backend: Backend
) -> None:
    """The call record expires (TTL); the transcript keeps the intake tool's output, and the API reads it there."""
    fields = {"chief_complaint": "a rash", "severity": 3, "allergies": []}
    now = datetime.now(UTC)
    store = backend.runtime.transcripts
    for call_id, recorded in (("call-gone", True), ("call-no-intake", False)):
        await store.start_call(call_id, caller="+15550100", scenario="triage", started_at=now)
        output = {"intake_complete": True, "form": "triage", "result": fields}
        calls = (
            ToolCallRecord(id="t1", name="submit_triage_intake", arguments=fields, ok=True, output=output),
        )
        await store.append_turn(
            TranscriptTurn(
                call_id=call_id, seq=3, speaker="agent", kind="reply", agent="triage_nurse",
                text="Thank you. I've recorded your answers.", started_at=now, ended_at=now,
                tool_calls=calls if recorded else (),
            )
        )  # fmt: skip
    async with backend.admin() as admin:
        found = await admin.get("/api/v1/calls/call-gone/intake")
        none = await admin.get("/api/v1/calls/call-no-intake/intake")
        unknown = await admin.get("/api/v1/calls/call-never/intake")
    assert found.status_code == 200, found.text
    body = found.json()
    assert datetime.fromisoformat(body.pop("completed_at")) == now  # the recording turn's end
    assert body == {
        "form": "triage",
        "tool": "submit_triage_intake",
        "agent": "triage_nurse",
        "turn_seq": 3,
        "fields": fields,
    }
    assert none.status_code == 404 and none.json()["detail"] == "this call has completed no intake"
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no such call"
