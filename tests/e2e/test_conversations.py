"""The same phone conversations over both orchestrators, on embedded defaults.

A simulated caller speaks espeak-synthesized lines (and keys digits) over the ACS media WebSocket protocol.
SpeechCascade: Silero VAD -> pocketsphinx -> the local agent brain -> espeak-ng. VoiceLive: the call's audio is
bridged with the real azure-ai-voicelive SDK to the realtime server the backend serves at /voice-live/realtime
(the same embedded parts behind the realtime protocol). Tools and handoffs run on our side with the shipped
tools on the demo data in Redis. Checked through the transcript API and what the simulated caller received.

Caller lines use phrasings close to the scenario's examples: the embedded recogniser is weak on open speech.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Pause, Say, SendDtmf, WaitForAgent, WaitForAgentStart
from apps.acs_simulator.server import AcsSimulator
from apps.backend.setting_values import OrchestratorKind
from tests.e2e.calls import (
    BANKING,
    HUMAN_QUEUE,
    INSURANCE,
    agent_turns,
    caller_turns,
    describe,
    tools_called,
    transcript_of,
    turn_calling,
)
from tests.support import Backend, eventually, running_backend

pytestmark = pytest.mark.e2e

IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."
EMBEDDED = {"pocketsphinx", "espeak-ng", "local-brain", "embedded-realtime"}


async def final_cost(backend: Backend, call_connection_id: str) -> dict[str, Any]:
    """The call's cost document once its phone minutes (written at the end) are in."""

    async def ended() -> dict[str, Any] | None:
        async with backend.admin() as admin:
            response = await admin.get(f"/api/v1/calls/{call_connection_id}/cost")
        body: dict[str, Any] = response.json()
        return body if any(line["provider"] == "acs" for line in body["lines"]) else None

    return await eventually(ended, timeout=15)


@pytest.fixture(params=[OrchestratorKind.CASCADE, OrchestratorKind.VOICELIVE], ids=str)
def orchestrator(request: pytest.FixtureRequest) -> OrchestratorKind:
    return request.param  # type: ignore[no-any-return]


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator, orchestrator: OrchestratorKind) -> AsyncIterator[Backend]:
    # Idle timers far beyond any script's pauses: only the idle test meets them.
    async with running_backend(
        simulator,
        orchestrator=orchestrator,
        transfer_target_number=HUMAN_QUEUE,
        idle_reprompt_seconds=30,
        idle_hang_up_seconds=60,
    ) as running:
        yield running


async def test_the_agent_greets_first(simulator: AcsSimulator, backend: Backend) -> None:
    result = await simulator.place_call(backend.url, [WaitForAgent()], to_number=BANKING, max_duration_s=30)
    assert result.script_error is None
    assert result.timeline.first(tl.AGENT_AUDIO_START) is not None
    assert result.agent_audio_s > 2.0  # the whole greeting reached the caller, not a click
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.scenario == "banking"
    assert [(t.speaker, t.kind, t.agent) for t in transcript.turns] == [("agent", "greeting", "concierge")], (
        describe(transcript)
    )
    assert transcript.turns[0].text.startswith("Thank you for calling Contoso Bank"), describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"


async def test_identity_check_then_balance(simulator: AcsSimulator, backend: Backend) -> None:
    script = [
        WaitForAgent(),
        Say(IDENTITY),
        WaitForAgent(),
        Say("What's my checking balance?"),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    assert result.script_error is None
    transcript = await transcript_of(backend, result.call_connection_id)
    assert tools_called(transcript) == [("verify_identity", True), ("get_balance", True)], describe(
        transcript
    )
    heard = [t.text.lower() for t in caller_turns(transcript)]
    assert len(heard) == 2 and "rivera" in heard[0] and "balance" in heard[1], describe(transcript)
    verified = turn_calling(transcript, "verify_identity")
    assert verified.speaker == "agent" and verified.text, describe(transcript)
    balance = turn_calling(transcript, "get_balance")
    assert balance.seq > verified.seq and "balance" in balance.text.lower(), describe(transcript)
    # Each reply carries where its time went.
    assert balance.latency is not None and balance.latency.response_ms, describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"
    # What it cost: the embedded parts report their real work (audio heard, characters spoken), never tokens,
    # at no price; only the phone line costs money.
    cost = await final_cost(backend, result.call_connection_id)
    free = [line for line in cost["lines"] if line["provider"] != "acs"]
    assert {line["provider"] for line in free} <= EMBEDDED, cost
    assert sum(line["usage"]["stt_audio_seconds"] for line in free) > 2.0, cost
    # The characters sent to TTS are the agent's words (clauses are spoken apart, so spacing may differ).
    spoken = sum(line["usage"]["tts_characters"] for line in free)
    said = sum(len(t.text) for t in agent_turns(transcript))
    assert said > 0 and abs(spoken - said) <= said // 10, (spoken, said, cost)
    assert all(not any(v for k, v in line["usage"].items() if k.endswith("tokens")) for line in free), cost
    assert all(line["cost"] == 0 for line in free) and cost["total"] > 0, cost


async def test_lost_card_hands_off_to_card_services_which_greets_and_locks_the_card(
    simulator: AcsSimulator, backend: Backend, orchestrator: OrchestratorKind
) -> None:
    script = [
        WaitForAgent(),
        Say("I lost my debit card."),
        WaitForAgent(),
        Say(IDENTITY),
        WaitForAgent(),
        Say("Please lock the card ending in four two one nine."),
        WaitForAgent(),  # card services asks why: lost, stolen or damaged
        Say("It was lost."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.outcome is not None
    assert transcript.outcome.agents_visited[:2] == ("concierge", "card_services"), describe(transcript)
    # The new agent greets in the turn that handed the caller over, before the caller speaks again.
    handed_over = turn_calling(transcript, "handoff_card_services")
    assert handed_over.agent == "card_services", describe(transcript)
    assert handed_over.text.startswith("You're now with card services"), describe(transcript)
    before = [t for t in transcript.turns if t.seq < handed_over.seq][-1]
    assert before.speaker == "caller" and "lost my debit" in before.text.lower(), describe(transcript)
    locked = [t for t in transcript.turns if any(c.name == "lock_card" and c.ok for c in t.tool_calls)]
    assert locked and locked[0].agent == "card_services", describe(transcript)
    assert "locked your card ending in 4 2 1 9" in locked[0].text, describe(transcript)
    assert turn_calling(transcript, "verify_identity").agent == "card_services", describe(transcript)
    if orchestrator == "cascade":
        # The cascade asks card services at once: it takes up the lost card in the handoff's own reply (asking
        # who the caller is, since the lock needs them verified) and locks as soon as they are verified.
        assert tools_called(transcript)[:4] == [
            ("handoff_card_services", True),
            ("lock_card", False),
            ("verify_identity", True),
            ("lock_card", True),
        ], describe(transcript)
        assert handed_over.kind == "reply" and "verify your identity" in handed_over.text, describe(
            transcript
        )
    else:
        # VoiceLive's realtime model answers after the caller's next words.
        assert handed_over.kind == "greeting", describe(transcript)


async def test_barge_in_stops_the_agent_keeps_the_heard_part_and_the_agent_answers_again(
    simulator: AcsSimulator, backend: Backend
) -> None:
    cut_in_line = "What's my checking balance?"
    script = [
        WaitForAgent(),
        Say(IDENTITY),
        WaitForAgent(),
        Say("What are my recent transactions?"),  # a long list: three transactions read out
        WaitForAgentStart(after_ms=2000),
        Say(cut_in_line),  # talks over the list two seconds in
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    cut_in = next(
        e for e in result.timeline.of(tl.CALLER_SPEECH_START) if e.detail["what"] == f"say:{cut_in_line}"
    )
    stops = result.timeline.of(tl.STOP_AUDIO_RECEIVED)
    assert stops and all(e.t_ms >= cut_in.t_ms for e in stops), result.timeline.format_table()
    transcript = await transcript_of(backend, result.call_connection_id)
    cut = [t for t in agent_turns(transcript) if t.interrupted]
    assert len(cut) == 1, describe(transcript)
    turn = cut[0]
    assert [c.name for c in turn.tool_calls] == ["get_recent_transactions"], describe(transcript)
    # What the caller heard is kept, and is the start of what the agent meant to say.
    assert turn.text and turn.full_text, describe(transcript)
    assert len(turn.text) < len(turn.full_text) and turn.full_text.startswith(turn.text), describe(transcript)
    # The agent answers what the caller said over it: no stuck silence, no repeat of the list.
    after = [t for t in transcript.turns if t.seq > turn.seq]
    assert [t.speaker for t in after] == ["caller", "agent"], describe(transcript)
    assert "balance" in after[0].text.lower(), describe(transcript)
    assert [c.name for c in after[1].tool_calls] == ["get_balance"], describe(transcript)
    assert after[1].text.startswith("Your checking balance is"), describe(transcript)


async def test_silence_gets_a_reprompt_then_a_polite_hang_up(
    simulator: AcsSimulator, orchestrator: OrchestratorKind
) -> None:
    async with running_backend(
        simulator, orchestrator=orchestrator, idle_reprompt_seconds=2, idle_hang_up_seconds=5
    ) as backend:
        result = await simulator.place_call(
            backend.url, [WaitForAgent(), Pause(15)], to_number=BANKING, max_duration_s=30
        )
        assert result.hung_up_by == "backend"
        transcript = await transcript_of(backend, result.call_connection_id)
    assert [t.kind for t in transcript.turns] == ["greeting", "reprompt", "goodbye"], describe(transcript)
    assert all(t.speaker == "agent" and t.text for t in transcript.turns), describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "idle timeout"


async def test_digits_keyed_on_the_phone_complete_the_identity_check(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [
        WaitForAgent(),
        Say("My name is Jordan Rivera."),
        WaitForAgent(),  # the agent asks for the last four digits of an account (or a date of birth)
        SendDtmf("4821#"),  # DtmfData messages on the media WebSocket, one per key
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=45)
    assert result.script_error is None
    assert result.warnings == []  # the backend asked for DTMF (enableDtmfTones), or ACS would not send it
    assert [e.detail["digit"] for e in result.timeline.of(tl.DTMF_SENT)] == list("4821#")
    transcript = await transcript_of(backend, result.call_connection_id)
    keyed = [t for t in caller_turns(transcript) if t.kind == "dtmf"]
    # Stored keyed digits and the identity tool's arguments are masked (PII redaction is on by default); the
    # tool ran with the real ones: the demo bank verifies Jordan Rivera only with the last four 4821.
    assert len(keyed) == 1 and keyed[0].text == "[dtmf]", describe(transcript)
    verify = next(c for t in transcript.turns for c in t.tool_calls if c.name == "verify_identity")
    assert verify.ok, describe(transcript)
    assert verify.arguments == {"full_name": "[redacted]", "account_last4": "[redacted]"}, describe(
        transcript
    )
    assert "verified" in turn_calling(transcript, "verify_identity").text, describe(transcript)
    assert turn_calling(transcript, "verify_identity").seq > keyed[0].seq, describe(transcript)


async def test_claim_intake_asks_for_the_missing_policy_number(
    simulator: AcsSimulator, backend: Backend
) -> None:
    script = [
        WaitForAgent(),
        Say("I need to report an accident. I was rear ended yesterday on Main Street."),
        WaitForAgent(),
    ]
    result = await simulator.place_call(backend.url, script, to_number=INSURANCE, max_duration_s=45)
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.scenario == "insurance"
    assert [(t.speaker, t.kind, t.agent) for t in transcript.turns] == [
        ("agent", "greeting", "claims_intake"),
        ("caller", "speech", "claims_intake"),
        ("agent", "reply", "claims_intake"),
    ], describe(transcript)
    # The policy number was not given: the agent asks for it instead of filing a claim without it.
    assert "policy number" in transcript.turns[-1].text.lower(), describe(transcript)
    assert tools_called(transcript) == [], describe(transcript)


async def test_asking_for_a_person_transfers_to_the_human_queue(
    simulator: AcsSimulator, backend: Backend, orchestrator: OrchestratorKind
) -> None:
    script = [WaitForAgent(), Say("Can I talk to a real person please?"), WaitForAgent(timeout_s=20)]
    result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=45)
    transfers = [r for r in simulator.requests if r.path.endswith(":transferToParticipant")]
    assert len(transfers) == 1, [r.path for r in simulator.requests]
    assert transfers[0].body["targetParticipant"]["rawId"] == f"4:{HUMAN_QUEUE}"
    assert result.hung_up_by == "transfer"
    transcript = await transcript_of(backend, result.call_connection_id)
    assert tools_called(transcript) == [("transfer_to_human", True)], describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "transferred to a human"
    # The caller is told before the line goes quiet.
    said = agent_turns(transcript)[-1]
    assert "connecting you with a member of our team" in said.text, describe(transcript)
    asked = result.timeline.of(tl.CALLER_SPEECH_END)[-1].t_ms
    transferred = result.timeline.first(tl.TRANSFER_REQUESTED)
    assert transferred is not None
    answered = [e.t_ms for e in result.timeline.of(tl.AGENT_AUDIO_START) if asked < e.t_ms < transferred.t_ms]
    assert answered, result.timeline.format_table()
    empty = [t.seq for t in agent_turns(transcript) if not t.text]
    assert empty == [], describe(transcript)
    assert [call.name for call in said.tool_calls] == ["transfer_to_human"], describe(transcript)
