"""Warm transfer: the caller waits on hold while the agent rings the human queue and briefs whoever answers,
then the agent leaves them talking; if nobody answers in time, the caller hears the agent again and is offered
a callback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.acs_simulator import participants as legs
from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.participants import HumanAgent
from apps.acs_simulator.playout import frame_is_voiced
from apps.acs_simulator.server import DEFAULT_FROM, AcsSimulator
from tests.e2e.calls import HUMAN_QUEUE, agent_turns, describe, transcript_of
from tests.support import Backend, eventually, running_backend
from voice.tts.local import EspeakTts

WARM_LINE = "+18005550377"
ANSWER_TIMEOUT_S = 3
SCENARIO = f"""\
name: banking_warm
description: The banking line, with warm transfers to the human queue.
start_agent: concierge
agents: [concierge]
phone_numbers: ["{WARM_LINE}"]
transfer: warm
transfer_target: "{HUMAN_QUEUE}"
transfer_answer_timeout_s: {ANSWER_TIMEOUT_S}
"""
COLD_LINE = "+18005550378"
COLD_QUEUE = "+18005550188"
COLD_SCENARIO = f"""\
name: banking_cold
description: The banking line, handing callers straight to its own queue.
start_agent: concierge
agents: [concierge]
phone_numbers: ["{COLD_LINE}"]
transfer: cold
transfer_target: "{COLD_QUEUE}"
"""
HOLD_MUSIC = "https://media.contoso.example/hold.wav"
ASK_FOR_A_PERSON = [WaitForAgent(), Say("Can I talk to a real person please?"), WaitForAgent(timeout_s=20)]


@pytest.fixture
async def simulator() -> AsyncIterator[AcsSimulator]:
    async with AcsSimulator(port=0, humans={HUMAN_QUEUE: HumanAgent(answer_after_s=1.0)}) as sim:
        yield sim


@pytest.fixture
async def backend(simulator: AcsSimulator, tmp_path: Path) -> AsyncIterator[Backend]:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "banking_warm.yaml").write_text(SCENARIO)
    (tmp_path / "scenarios" / "banking_cold.yaml").write_text(COLD_SCENARIO)
    async with running_backend(simulator, agents_dir=tmp_path, hold_music_url=HOLD_MUSIC) as running:
        yield running


def voiced_ms(pcm: bytes, sample_rate: int) -> float:
    frame = sample_rate // 50 * 2
    return 20.0 * sum(frame_is_voiced(pcm[i : i + frame]) for i in range(0, len(pcm) - frame + 1, frame))


async def test_the_human_is_briefed_while_the_caller_holds_then_the_agent_leaves_them_together(
    simulator: AcsSimulator, backend: Backend
) -> None:
    result = await simulator.place_call(
        backend.url, ASK_FOR_A_PERSON, to_number=WARM_LINE, max_duration_s=60, hang_up_after_silence_s=20
    )
    call = simulator.calls[result.call_connection_id]
    timeline = call.timeline
    order = [
        k for k in timeline.kinds() if k in (legs.HOLD, legs.PARTICIPANT_JOINED, legs.UNHOLD, legs.BOT_LEFT)
    ]
    assert order == [legs.HOLD, legs.PARTICIPANT_JOINED, legs.UNHOLD, legs.BOT_LEFT], timeline.format_table()
    assert call.legs.bridged_to == HUMAN_QUEUE and result.hung_up_by == "backend"
    assert not call.warnings, call.warnings

    # What ACS was asked: hold the caller, invite the queue (from our number), then leave (not terminate).
    hold = next(r for r in simulator.requests if r.path.endswith(":hold"))
    assert hold.body["targetParticipant"]["rawId"] == f"4:{DEFAULT_FROM}"
    assert hold.body["playSourceInfo"] == {"kind": "file", "file": {"uri": HOLD_MUSIC}}
    add = next(r for r in simulator.requests if r.path.endswith("/participants:add"))
    assert add.body["participantToAdd"]["rawId"] == f"4:{HUMAN_QUEUE}"
    assert add.body["invitationTimeoutInSeconds"] == ANSWER_TIMEOUT_S
    assert add.body["sourceCallerIdNumber"]["value"] == WARM_LINE
    assert [r.method for r in simulator.requests if r.path.endswith(result.call_connection_id)] == ["DELETE"]

    # The human heard the briefing, all of it while the caller was on hold; the caller heard none of it.
    transcript = await transcript_of(backend, result.call_connection_id)
    handover = [t for t in agent_turns(transcript) if t.kind == "handover"]
    assert len(handover) == 1, describe(transcript)
    briefing = handover[0].text
    assert "transfer" in briefing and "not been verified" in briefing, briefing
    human = call.legs.added[0]
    expected_ms = voiced_ms(
        await EspeakTts().synthesize(briefing, sample_rate=call.sample_rate), call.sample_rate
    )
    assert human.heard_voiced_while_caller_held_ms == pytest.approx(expected_ms, rel=0.15)
    held_at = timeline.first(legs.HOLD)
    unheld_at = timeline.first(legs.UNHOLD)
    assert held_at is not None and unheld_at is not None
    heard_by_caller = [
        e for e in timeline.of(tl.AGENT_AUDIO_START) if held_at.t_ms <= e.t_ms <= unheld_at.t_ms
    ]
    assert heard_by_caller == [], timeline.format_table()

    # Our side: the media ended cleanly and the record says transferred.
    assert transcript.outcome is not None and transcript.outcome.reason == "transferred to a human"
    async with backend.admin() as admin:
        record = (await admin.get(f"/api/v1/calls/{result.call_connection_id}")).json()
    assert record["transfer_outcome"] == "transferred"
    assert record["end_reason"] == "transferred to a human"


async def test_nobody_answering_brings_the_caller_back_with_a_callback_offer(
    simulator: AcsSimulator, backend: Backend
) -> None:
    simulator.humans.clear()  # the queue rings out
    result = await simulator.place_call(
        backend.url, ASK_FOR_A_PERSON, to_number=WARM_LINE, max_duration_s=60, hang_up_after_silence_s=6
    )
    call = simulator.calls[result.call_connection_id]
    timeline = call.timeline
    order = [
        k
        for k in timeline.kinds()
        if k in (legs.HOLD, legs.PARTICIPANT_NOT_ANSWERED, legs.UNHOLD, legs.BOT_LEFT)
    ]
    assert order == [legs.HOLD, legs.PARTICIPANT_NOT_ANSWERED, legs.UNHOLD], timeline.format_table()
    assert result.hung_up_by == "caller" and call.legs.bridged_to is None

    unheld_at = timeline.first(legs.UNHOLD)
    assert unheld_at is not None
    back = [e for e in timeline.of(tl.AGENT_AUDIO_START) if e.t_ms >= unheld_at.t_ms]
    assert back, "the caller hears the agent again: " + timeline.format_table()

    transcript = await transcript_of(backend, result.call_connection_id)
    offer = agent_turns(transcript)[-1]
    assert offer.kind == "reply" and "call you" in offer.text, describe(transcript)

    async def recorded() -> dict[str, object] | None:
        async with backend.admin() as admin:
            record = (await admin.get(f"/api/v1/calls/{result.call_connection_id}")).json()
        return record if record["status"] == "ended" else None

    record = await eventually(recorded, timeout=15)
    assert record["transfer_outcome"] == "callback_needed"
    assert "transfer_callback_needed" in [e["type"] for e in record["events"]]


async def test_a_caller_hanging_up_while_the_queue_rings_stops_the_ringing(
    simulator: AcsSimulator, backend: Backend
) -> None:
    simulator.humans.clear()
    result = await simulator.place_call(
        backend.url, ASK_FOR_A_PERSON, to_number=WARM_LINE, max_duration_s=60, hang_up_after_silence_s=1.0
    )
    call = simulator.calls[result.call_connection_id]
    assert result.hung_up_by == "caller"
    invited = call.timeline.first(legs.PARTICIPANT_INVITED)
    assert invited is not None and call.timeline.first(legs.PARTICIPANT_NOT_ANSWERED) is None

    def cancelled() -> list[str]:
        return [
            r.body["invitationId"]
            for r in simulator.requests
            if r.path.endswith("participants:cancelAddParticipant")
        ]

    assert await eventually(cancelled, timeout=10) == [call.legs.added[0].invitation_id]


async def test_a_cold_transfer_scenario_hands_the_caller_straight_to_its_own_queue(
    simulator: AcsSimulator, backend: Backend
) -> None:
    assert backend.settings.transfer_target_number is None  # the scenario's number is the only one
    result = await simulator.place_call(backend.url, ASK_FOR_A_PERSON, to_number=COLD_LINE, max_duration_s=45)
    transfers = [r for r in simulator.requests if r.path.endswith(":transferToParticipant")]
    assert len(transfers) == 1, [r.path for r in simulator.requests]
    assert transfers[0].body["targetParticipant"]["rawId"] == f"4:{COLD_QUEUE}"
    assert not [r for r in simulator.requests if r.path.endswith((":hold", "/participants:add"))]
    assert result.hung_up_by == "transfer"
    transcript = await transcript_of(backend, result.call_connection_id)
    assert transcript.outcome is not None and transcript.outcome.reason == "transferred to a human"


async def test_without_hold_music_the_caller_hears_the_services_own_hold_audio(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "banking_warm.yaml").write_text(SCENARIO)
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        assert backend.settings.hold_music_url is None
        result = await simulator.place_call(
            backend.url, ASK_FOR_A_PERSON, to_number=WARM_LINE, max_duration_s=60, hang_up_after_silence_s=20
        )
    call = simulator.calls[result.call_connection_id]
    hold = next(r for r in simulator.requests if r.path.endswith(":hold"))
    own = f"{backend.url}/api/v1/audio/hold.wav"
    assert hold.body["playSourceInfo"] == {"kind": "file", "file": {"uri": own}}
    assert call.timeline.first(legs.HOLD_AUDIO_PLAYING) is not None, call.timeline.format_table()
    assert not call.warnings, call.warnings
    assert call.legs.bridged_to == HUMAN_QUEUE

    # While held the caller heard the chime, not dead air (and never the briefing, checked above).
    media = call.media
    assert media is not None and media.hold_audio_voiced_ms >= 500, call.timeline.format_table()
