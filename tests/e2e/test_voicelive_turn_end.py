"""Semantic end of turn on VoiceLive, over a simulated phone call (ACS protocol) to the embedded realtime server
(Silero VAD and the end-of-turn model, pocketsphinx, the local brain, espeak-ng behind the realtime protocol):
a caller who stops after a complete-sounding sentence and then goes on is answered once, for the whole request.

The server ends the turn on the short silence after "I have a question about my account." and starts a reply;
the caller goes on before hearing it (at most its first syllable, then StopAudio), so the orchestrator drops it
(response.cancel, conversation.item.delete) and the server's next response answers both sentences: the
savings balance, not "what is your question?". Checked on the transcript (one caller turn, one reply, the
balance tool once), on what the caller heard, and on the service's count of continued turns. Again with the
recogniser's words coming late (a loaded machine): the reply the server started for the first sentence is
cancelled while it still waits for that sentence's transcription, which must neither be lost nor reach the
transcript after the reply.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.setting_values import OrchestratorKind
from tests.e2e.calls import BANKING, agent_turns, caller_turns, describe, tools_called, transcript_of
from tests.support import Backend, running_backend
from voice.stt.base import Recognition
from voice.stt.local_session import LocalSttSession

pytestmark = pytest.mark.e2e

IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."
LATE_S = 1.5
START_S = 15.0  # how long the script waits for the agent to start (late words, a loaded machine)
CONTINUED = re.compile(r"^switchboard_turns_continued_total (\S+)$", re.MULTILINE)


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(
        simulator,
        orchestrator=OrchestratorKind.VOICELIVE,
        turn_end_mode="semantic",
        voicelive_turn_end_mode="inherit",
        idle_reprompt_seconds=30,
        idle_hang_up_seconds=60,
    ) as running:
        yield running


async def continued_turns(backend: Backend) -> float:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{backend.url}/metrics")
    found = CONTINUED.search(response.text)
    assert found is not None, response.text
    return float(found.group(1))


@pytest.fixture
def late_transcriptions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded recogniser's final text of every turn comes LATE_S later, as on a loaded machine: the
    first sentence is still being transcribed when the caller goes on."""
    original = LocalSttSession.end_of_turn

    async def late(self: LocalSttSession) -> Recognition:
        recognition = await original(self)
        await asyncio.sleep(LATE_S)
        return recognition

    monkeypatch.setattr(LocalSttSession, "end_of_turn", late)


async def test_a_caller_who_goes_on_after_a_complete_sentence_gets_one_answer_to_the_whole_request(
    simulator: AcsSimulator, backend: Backend
) -> None:
    await goes_on_after_a_complete_sentence(simulator, backend)


async def test_the_first_sentence_still_being_transcribed_when_the_caller_goes_on_is_kept_and_comes_first(
    late_transcriptions: None, simulator: AcsSimulator, backend: Backend
) -> None:
    """The server's reply to the first sentence is cancelled while it waits for that sentence's words: the
    words still reach the transcript (before the reply) and the brain (a fresh-clone CI run once lost them)."""
    await goes_on_after_a_complete_sentence(simulator, backend)


async def goes_on_after_a_complete_sentence(simulator: AcsSimulator, backend: Backend) -> None:
    script: list[CallerStep] = [
        WaitForAgent(start_timeout_s=START_S),
        Say(IDENTITY),
        WaitForAgent(start_timeout_s=START_S),
        Say("I have a question about my account."),  # ends on a word that closes a request: complete
        Pause(0.3),  # with the clip's quiet tail, past the 200 ms turn end; the reply is not heard yet
        Say("What's my savings balance?"),
        WaitForAgent(start_timeout_s=START_S),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    assert result.script_error is None
    transcript = await transcript_of(backend, result.call_connection_id)
    assert [(t.speaker, t.kind) for t in transcript.turns] == [
        ("agent", "greeting"),
        ("caller", "speech"),
        ("agent", "reply"),
        ("caller", "speech"),
        ("agent", "reply"),
    ], describe(transcript) + "\n" + result.timeline.format_table()
    said = caller_turns(transcript)[-1].text.lower()
    assert "question" in said and "savings balance" in said, describe(transcript)
    reply = agent_turns(transcript)[-1]
    assert not reply.interrupted and reply.text.startswith("Your savings balance is"), describe(transcript)
    assert tools_called(transcript) == [("verify_identity", True), ("get_balance", True)], describe(
        transcript
    )
    # Nothing of the dropped reply was heard out: agent audio that reached the caller while they were still
    # talking (the reply had just started when they went on) was stopped before they finished.
    first_word = result.timeline.of(tl.CALLER_SPEECH_START)[-2].t_ms
    last_word = result.timeline.of(tl.CALLER_SPEECH_END)[-1].t_ms
    during = [e for e in result.timeline.events if first_word <= e.t_ms <= last_word]
    started = [e.t_ms for e in during if e.kind == tl.AGENT_AUDIO_START]
    stopped = [e.t_ms for e in during if e.kind == tl.STOP_AUDIO_RECEIVED]
    assert all(any(s >= t for s in stopped) for t in started), result.timeline.format_table()
    # The server did end the turn after the first sentence: the reply it started was dropped unheard.
    assert await continued_turns(backend) >= 1
