"""Outbound calls: a person gets the agent, a voicemail gets the scenario's message after the beep, and a call
nobody picks up (or a busy line) is recorded as such."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.callees import Callee
from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend, eventually, running_backend

HUMAN, VOICEMAIL, NO_ANSWER, BUSY = "+15550100201", "+15550100202", "+15550100203", "+15550100204"
LATE_BEEP = "+15550100205"


@pytest.fixture
async def simulator() -> AsyncIterator[AcsSimulator]:
    callees = {
        HUMAN: Callee.human(),
        VOICEMAIL: Callee.voicemail(),
        NO_ANSWER: Callee.no_answer(),
        BUSY: Callee.busy(),
        # A one-second greeting, then a full second before the beep: taken for a person at first.
        LATE_BEEP: Callee.voicemail("Leave a message.", beep_after_s=1.0),
    }
    async with AcsSimulator(port=0, callees=callees) as sim:
        yield sim


@pytest.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(simulator) as running:
        yield running


async def place(backend: Backend, number: str) -> dict[str, Any]:
    async with backend.admin() as admin:
        placed = await admin.post("/api/v1/calls", json={"to": number, "from": "+18005550100"})
    assert placed.status_code == 201, placed.text
    return placed.json()  # type: ignore[no-any-return]


async def final_record(backend: Backend, call_id: str) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        async with backend.admin() as admin:
            record = (await admin.get(f"/api/v1/calls/{call_id}")).json()
        return record if record["status"] in ("ended", "failed") else None

    return await eventually(ended, timeout=30)  # type: ignore[no-any-return]


async def test_a_person_who_answers_gets_the_agent_after_their_hello(
    simulator: AcsSimulator, backend: Backend
) -> None:
    placed = await place(backend, HUMAN)
    call = simulator.calls[placed["call_connection_id"]]
    await eventually(call.ended.is_set, timeout=40)
    record = await final_record(backend, placed["call_id"])
    assert record["answered_by"] == "human"
    hello_end = call.timeline.first(tl.CALLER_SPEECH_END)
    agent_start = call.timeline.first(tl.AGENT_AUDIO_START)
    assert hello_end is not None and agent_start is not None, call.timeline.format_table()
    assert agent_start.t_ms > hello_end.t_ms, "the agent waits for the callee's hello, then speaks"
    assert not any(e.type == "voicemail_left" for e in map(_event, record["events"]))


async def test_a_voicemail_gets_the_scenarios_message_after_the_beep_then_a_hang_up(
    simulator: AcsSimulator, backend: Backend
) -> None:
    placed = await place(backend, VOICEMAIL)
    call = simulator.calls[placed["call_connection_id"]]
    await eventually(call.ended.is_set, timeout=40)
    record = await final_record(backend, placed["call_id"])
    assert record["answered_by"] == "voicemail"
    beep_end = next(e for e in call.timeline.of(tl.CALLER_SPEECH_END) if e.detail["what"].startswith("tone"))
    agent_audio = call.timeline.of(tl.AGENT_AUDIO_START)
    assert agent_audio, call.timeline.format_table()
    assert all(e.t_ms >= beep_end.t_ms for e in agent_audio), "nothing is said over the greeting or the beep"
    assert call.hung_up_by == "backend", "the agent hangs up after its message"
    assert call.media is not None
    message_ms = len(call.media.playout.recording) * 1000 / (2 * call.sample_rate) - beep_end.t_ms
    assert message_ms > 3000, "the voicemail recorded the whole message"
    left = [e for e in map(_event, record["events"]) if e.type == "voicemail_left"]
    assert left and "Contoso Bank" in (left[0].detail or "")


async def test_a_beep_soon_after_a_person_verdict_stops_the_agent_and_leaves_the_message_after_it(
    simulator: AcsSimulator, backend: Backend
) -> None:
    placed = await place(backend, LATE_BEEP)
    call = simulator.calls[placed["call_connection_id"]]
    await eventually(call.ended.is_set, timeout=40)
    record = await final_record(backend, placed["call_id"])
    events = list(map(_event, record["events"]))
    assert [e.detail for e in events if e.type == "answered_by"] == ["human", "voicemail"]
    assert record["answered_by"] == "voicemail"
    screening = [e.detail or "" for e in events if e.type == "answer_screening"]
    assert "beep after the human verdict" in screening[-1], screening

    beep_end = next(e for e in call.timeline.of(tl.CALLER_SPEECH_END) if e.detail["what"].startswith("tone"))
    starts = call.timeline.of(tl.AGENT_AUDIO_START)
    early = [e for e in starts if e.t_ms < beep_end.t_ms]  # the agent's greeting, begun for a person
    if early:  # it was cut: StopAudio, and nothing of it plays on after the beep
        assert call.timeline.of(tl.STOP_AUDIO_RECEIVED), call.timeline.format_table()
        stops = [e for e in call.timeline.of(tl.AGENT_AUDIO_STOP) if e.t_ms > early[-1].t_ms]
        assert stops and stops[0].t_ms <= beep_end.t_ms, call.timeline.format_table()
    assert [e for e in starts if e.t_ms >= beep_end.t_ms], "the message follows the beep"
    assert call.hung_up_by == "backend", "the agent hangs up after its message"
    assert call.media is not None
    message_ms = len(call.media.playout.recording) * 1000 / (2 * call.sample_rate) - beep_end.t_ms
    assert message_ms > 3000, "the voicemail recorded the whole message"
    left = [e for e in events if e.type == "voicemail_left"]
    assert left and "Contoso Bank" in (left[0].detail or "")


@pytest.mark.parametrize(("number", "outcome"), [(NO_ANSWER, "no_answer"), (BUSY, "busy")])
async def test_a_call_nobody_picks_up_is_recorded_with_why(
    simulator: AcsSimulator, backend: Backend, number: str, outcome: str
) -> None:
    placed = await place(backend, number)
    record = await final_record(backend, placed["call_id"])
    assert record["status"] == "failed"
    assert record["answered_by"] == outcome
    assert simulator.calls[placed["call_connection_id"]].media is None


class _Event:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.type: str = raw["type"]
        self.detail: str | None = raw.get("detail")


def _event(raw: dict[str, Any]) -> _Event:
    return _Event(raw)
