"""PII in what a call leaves behind: a real banking call where the caller says their account's last four and
keys digits. The stored transcript, the call record and the live dashboard events show placeholders; the agent
still verified the caller with the real values."""

from __future__ import annotations

import asyncio
import json
import re

from apps.acs_simulator.caller_audio import Say, SendDtmf, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.calls import follow_events, newest_call_id
from tests.support import Backend, eventually, running_backend
from voice.transcript import CallTranscript

BANKING = "+18005550100"
SAID = "My name is Jordan Rivera and the last four of my account are four eight two one."
# The digits as a number of their own: timestamps and latencies hold "4821" inside longer runs of digits.
CLEAR = re.compile(r"(?<![\d.])4821(?!\d)|four eight two one")
REDACTED = "[redacted]"


async def finished_transcript(backend: Backend, call_id: str) -> tuple[CallTranscript, str]:
    """The finished call's transcript from the API, parsed and as the raw JSON it was served as."""

    async def finished() -> tuple[CallTranscript, str] | None:
        async with backend.admin() as admin:
            response = await admin.get(f"/api/v1/calls/{call_id}/transcript")
        if response.status_code != 200:
            return None
        transcript = CallTranscript.model_validate(response.json())
        return (transcript, response.text) if transcript.outcome is not None else None

    found: tuple[CallTranscript, str] = await eventually(finished, timeout=20)
    return found


def describe(transcript: CallTranscript) -> str:
    return "\n".join(f"{t.speaker}/{t.kind}: {t.text} {list(t.tool_calls)}" for t in transcript.turns)


async def test_a_verified_callers_account_digits_and_keys_are_not_stored_or_published(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [WaitForAgent(), Say(SAID), WaitForAgent(), SendDtmf("4821#"), WaitForAgent(start_timeout_s=3)]
    call = asyncio.create_task(
        simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    )
    try:
        call_id = await newest_call_id(backend)
        events = await asyncio.wait_for(follow_events(backend, call_id), timeout=75)
        result = await call
    finally:
        call.cancel()
    assert result.script_error is None
    transcript, served = await finished_transcript(backend, call_id)
    async with backend.admin() as admin:
        record = (await admin.get(f"/api/v1/calls/{call_id}")).text

    # The agent heard the real digits: verify_identity ran with them and the caller was verified.
    [verify] = [c for t in transcript.turns for c in t.tool_calls if c.name == "verify_identity"]
    assert verify.ok, describe(transcript)
    assert any("verified" in t.text for t in transcript.turns if t.speaker == "agent"), describe(transcript)
    # ... but what was stored keeps the shape of the call, not the data.
    assert isinstance(verify.arguments, dict) and "account_last4" in verify.arguments
    assert set(verify.arguments.values()) == {REDACTED}
    caller = [t for t in transcript.turns if t.speaker == "caller" and t.kind == "speech"]
    assert any("[account]" in t.text for t in caller), describe(transcript)
    assert [t.text for t in transcript.turns if t.kind == "dtmf"] == ["[dtmf]"], describe(transcript)
    chunks = [e for e in events if e["type"] == "transcript_chunk"]
    assert [e["text"] for e in chunks if e["kind"] == "dtmf"] == ["[dtmf]"], events
    for where in (served, record, json.dumps(events)):
        assert not CLEAR.search(where.lower()), where


async def test_with_redaction_switched_off_the_transcript_keeps_what_was_said(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator, redact_transcripts=False) as backend:
        assert not backend.settings.redact_transcripts
        script = [WaitForAgent(), SendDtmf("4821#"), WaitForAgent(start_timeout_s=3)]
        result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=30)
        transcript, _ = await finished_transcript(backend, result.call_connection_id)
    assert [t.text for t in transcript.turns if t.kind == "dtmf"] == ["[dtmf] 4821"], describe(transcript)
