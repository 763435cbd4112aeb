"""Whole phone calls through the VoiceLive orchestrator on embedded defaults: the simulated caller's audio goes over
the ACS media protocol to the VoiceLive orchestrator, which bridges it with the real azure-ai-voicelive SDK to the
local realtime server this backend serves at /voice-live/realtime (Silero VAD turn detection, pocketsphinx, the
local brain, espeak-ng). Tools and handoffs run on our side. Checked through the transcript API and what the
simulated caller received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.test_cascade_calls import BANKING, agent_turns, describe, tools_called, transcript_of
from tests.support import Backend, running_backend

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator, orchestrator="voicelive", idle_reprompt_seconds=30, idle_hang_up_seconds=60
    ) as running:
        yield running


async def test_greeting_then_a_tool_call_with_both_sides_in_the_transcript(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [
        WaitForAgent(),
        Say("My name is Jordan Rivera and the last four of my account are four eight two one."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    assert result.script_error is None
    assert result.agent_audio_s > 1.0  # the greeting and the reply reached the caller
    transcript = await transcript_of(backend, result.call_connection_id)
    turns = agent_turns(transcript)
    assert turns[0].kind == "greeting" and turns[0].agent == "concierge", describe(transcript)
    assert ("verify_identity", True) in tools_called(transcript), describe(transcript)
    caller = [t for t in transcript.turns if t.speaker == "caller"]
    assert caller and "rivera" in caller[0].text.lower(), describe(transcript)
    reply = next(t for t in turns if any(c.name == "verify_identity" for c in t.tool_calls))
    assert reply.text, describe(transcript)
    assert reply.latency is not None and reply.latency.response_ms, describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"


async def test_lost_card_hands_off_and_the_new_agent_greets(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [WaitForAgent(), Say("I lost my debit card."), WaitForAgent()]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.outcome is not None
    assert transcript.outcome.agents_visited[:2] == ("concierge", "card_services"), describe(transcript)
    greeting = [t for t in agent_turns(transcript) if t.agent == "card_services" and t.text]
    assert greeting, describe(transcript)


async def test_barge_in_sends_stop_audio_and_the_agent_answers_again(
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
    assert cut[0].full_text and len(cut[0].text) < len(cut[0].full_text), describe(transcript)
    later = [t for t in agent_turns(transcript) if t.seq > cut[0].seq and t.text]
    assert later, describe(transcript)
