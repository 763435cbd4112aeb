"""Semantic end of turn over a simulated phone call (ACS protocol, embedded providers: Silero VAD, pocketsphinx,
the local brain, espeak-ng): a pause after "my account ends in" does not split the caller's turn, and a complete
question ends its turn on the short silence instead of the agent's fixed one.

Timing targets live in `make bench` (bench/latency.py); here the checks are behavioural: how many caller turns
the backend heard, whether any agent audio or StopAudio fell inside the caller's utterance, and which silence
ended the turn (counted on the call's audio, not on this machine's clock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, Pause, Say, WaitForAgent
from apps.acs_simulator.inbound import CallResult
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.calls import BANKING, agent_turns, caller_turns, describe, tools_called, transcript_of
from tests.support import Backend, running_backend
from voice.transcript import CallTranscript, TranscriptTurn

pytestmark = pytest.mark.e2e

FIXED_SILENCE_MS = 600  # the banking agents' speech.end_of_turn_silence_ms


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator, turn_end_mode="semantic", idle_reprompt_seconds=30, idle_hang_up_seconds=60
    ) as running:
        yield running


async def call(
    simulator: AcsSimulator, backend: Backend, script: Sequence[CallerStep], *, max_duration_s: float = 45
) -> tuple[CallResult, CallTranscript, list[TranscriptTurn]]:
    """Place the call; its result, its transcript and the caller's spoken turns."""
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=max_duration_s)
    assert result.script_error is None
    transcript = await transcript_of(backend, result.call_connection_id)
    return result, transcript, [t for t in caller_turns(transcript) if t.kind == "speech"]


async def test_a_pause_after_my_account_ends_in_does_not_split_the_turn(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script: list[CallerStep] = [
        WaitForAgent(),
        Say("My name is Jordan Rivera and my account ends in"),
        Pause(0.45),  # longer than the short silence, shorter than the fixed one
        Say("four eight two one."),
        WaitForAgent(),
    ]
    result, transcript, spoken = await call(simulator, backend, script)
    assert len(spoken) == 1, describe(transcript)
    first_word = result.timeline.of(tl.CALLER_SPEECH_START)[0].t_ms
    last_word = result.timeline.of(tl.CALLER_SPEECH_END)[-1].t_ms
    inside = [
        e.kind
        for e in result.timeline.events
        if e.kind in (tl.AGENT_AUDIO_START, tl.STOP_AUDIO_RECEIVED) and first_word <= e.t_ms <= last_word
    ]
    assert inside == [], describe(transcript)  # the agent never started (or was cut) mid-sentence
    replies = [t for t in agent_turns(transcript) if t.kind == "reply"]
    assert len(replies) == 1 and not replies[0].interrupted, describe(transcript)


async def test_a_complete_question_ends_its_turn_on_the_short_silence(
    simulator: AcsSimulator, backend: Backend
) -> None:
    _, transcript, _ = await call(
        simulator, backend, [WaitForAgent(), Say("Can you tell me my savings balance?"), WaitForAgent()]
    )
    replies = [t for t in agent_turns(transcript) if t.kind == "reply"]
    assert len(replies) == 1 and replies[0].latency is not None, describe(transcript)
    waited = replies[0].latency.end_of_turn_ms
    assert waited is not None and waited < FIXED_SILENCE_MS, describe(transcript)


async def test_a_breath_after_the_first_word_still_reads_the_whole_request(
    simulator: AcsSimulator, backend: Backend
) -> None:
    """The turn may start speculatively on "what's"; the caller goes on, and the request is read whole. The
    embedded recogniser used to score a reading with a pause in it low and take its general model's guess
    ("well it's like you tube at least") instead of the phrase model's right one."""
    script: list[CallerStep] = [
        WaitForAgent(),
        Say("My name is Jordan Rivera and the last four of my account are four eight two one."),
        WaitForAgent(),
        Say("What's"),
        Pause(0.25),
        Say("my checking balance?"),
        WaitForAgent(),
    ]
    _, transcript, spoken = await call(simulator, backend, script, max_duration_s=60)
    assert len(spoken) == 2, describe(transcript)
    assert {"what's", "checking", "balance"} <= set(spoken[1].text.lower().split()), describe(transcript)
    assert tools_called(transcript) == [("verify_identity", True), ("get_balance", True)], describe(
        transcript
    )
