"""Whole conversations through the SpeechCascade on embedded defaults: real synthesized caller speech over the
ACS media protocol -> Silero VAD -> pocketsphinx -> the local agent brain with the shipped tools on the demo
data in Redis -> espeak-ng -> paced audio back to the simulated caller. Checked through the transcript API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend, eventually, running_backend
from voice.transcript import CallTranscript, TranscriptTurn

BANKING = "+18005550100"
INSURANCE = "+18005550200"
HUMAN_QUEUE = "+18005550199"


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator, transfer_target_number=HUMAN_QUEUE, idle_reprompt_seconds=30, idle_hang_up_seconds=60
    ) as running:
        yield running


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


def tools_called(transcript: CallTranscript) -> list[tuple[str, bool]]:
    return [(call.name, call.ok) for turn in transcript.turns for call in turn.tool_calls]


def describe(transcript: CallTranscript) -> str:
    return "\n".join(
        f"{t.speaker}/{t.kind}/{t.agent}: {t.text} {[c.name for c in t.tool_calls]}" for t in transcript.turns
    )


async def test_banking_identity_check_then_balance(simulator: AcsSimulator, backend: Backend) -> None:
    script = [
        WaitForAgent(),
        Say("My name is Jordan Rivera and the last four of my account are four eight two one."),
        WaitForAgent(),
        Say("What's my checking balance?"),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    assert result.script_error is None
    transcript = await transcript_of(backend, result.call_connection_id)
    assert ("verify_identity", True) in tools_called(transcript), describe(transcript)
    assert ("get_balance", True) in tools_called(transcript), describe(transcript)
    balance_turn = next(t for t in transcript.turns if any(c.name == "get_balance" for c in t.tool_calls))
    assert "balance" in balance_turn.text.lower(), describe(transcript)
    # Each reply carries where its time went.
    latency = balance_turn.latency
    assert latency is not None and latency.response_ms and latency.stt_final_ms is not None
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"


async def test_lost_card_hands_off_to_card_services_which_locks_the_card(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [
        WaitForAgent(),
        Say("I lost my debit card."),
        WaitForAgent(),
        Say("My name is Jordan Rivera and the last four of my account are four eight two one."),
        WaitForAgent(),
        Say("Please lock the card ending in four two one nine."),
        WaitForAgent(),  # card services asks why: lost, stolen or damaged
        Say("It was lost."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=90)
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.outcome is not None
    assert transcript.outcome.agents_visited[:2] == ("concierge", "card_services"), describe(transcript)
    assert ("lock_card", True) in tools_called(transcript), describe(transcript)
    greeting = next(t for t in agent_turns(transcript) if t.agent == "card_services")
    assert greeting.text  # the new agent announced itself


async def test_claim_intake_asks_for_the_missing_slot(simulator: AcsSimulator, backend: Backend) -> None:
    script = [
        WaitForAgent(),
        Say("I need to report an accident. I was rear ended yesterday on Main Street."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=INSURANCE, max_duration_s=45)
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.scenario == "insurance"
    reply = agent_turns(transcript)[-1]
    # The policy number was not given: the agent asks for it instead of filing a claim without it.
    assert "policy" in reply.text.lower(), describe(transcript)
    assert ("file_claim", True) not in tools_called(transcript)


async def test_asking_for_a_person_transfers_to_the_human_queue(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [WaitForAgent(), Say("Can I talk to a real person please?"), WaitForAgent(timeout_s=20)]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=45)
    transfers = [r for r in simulator.requests if r.path.endswith(":transferToParticipant")]
    assert len(transfers) == 1, [r.path for r in simulator.requests]
    assert transfers[0].body["targetParticipant"]["rawId"] == f"4:{HUMAN_QUEUE}"
    assert result.timeline.first(tl.TRANSFER_REQUESTED) is not None
    transcript = await transcript_of(backend, result.call_connection_id)
    assert ("transfer_to_human", True) in tools_called(transcript)


async def test_barge_in_stops_the_agent_and_keeps_the_heard_part(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [
        WaitForAgent(),
        Say("My name is Jordan Rivera and the last four of my account are four eight two one."),
        WaitForAgent(),
        Say("Read me my recent transactions on checking."),
        Pause(3.5),  # the list is long; cut in while it plays
        Say("Stop, that is enough, thank you."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=75)
    assert result.stop_audio_count >= 1
    transcript = await transcript_of(backend, result.call_connection_id)
    cut = [t for t in agent_turns(transcript) if t.interrupted]
    assert cut, describe(transcript)
    turn = cut[0]
    assert turn.full_text and len(turn.text) < len(turn.full_text)
    # After the interruption the agent answered the caller again: no stuck silence.
    later = [t for t in agent_turns(transcript) if t.seq > turn.seq and t.text]
    assert later, describe(transcript)


async def test_silence_gets_a_reprompt_then_a_polite_hang_up(simulator: AcsSimulator) -> None:
    async with running_backend(simulator, idle_reprompt_seconds=2, idle_hang_up_seconds=5) as backend:
        result = await simulator.place_call(
            backend.url, [WaitForAgent(), Pause(15)], to_number=BANKING, max_duration_s=30
        )
        assert result.hung_up_by == "backend"
        transcript = await transcript_of(backend, result.call_connection_id)
    kinds = [t.kind for t in agent_turns(transcript)]
    assert kinds == ["greeting", "reprompt", "goodbye"], describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "idle timeout"
