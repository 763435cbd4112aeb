"""AnsweringMachineGate alone: a person's verdict starts the agent at once; a beep soon after it stops the agent
(queued audio dropped, StopAudio, the agent closed once) and leaves the voicemail message when the beep ends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tests.call_doubles import Control, CountingSink
from tests.unit.audio.signals import silence_pcm16, sine, to_pcm16
from voice.session.answer_screening import AnsweringMachineGate
from voice.transports.playout import PacedPlayout
from voice.tts.local import EspeakTts

RATE = 16000
FRAME = RATE // 50 * 2


class Agent:
    """The inner orchestrator: greets (queues a long utterance) when started."""

    uses_vad = False

    def __init__(self) -> None:
        self.conversation: Any = None
        self.started = False
        self.heard = 0
        self.closed: list[str | None] = []

    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        self.started = True
        playout.enqueue(bytes(sample_rate * 2 * 3) + b"\x10\x10" * sample_rate * 3)

    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        self.heard += 1

    async def on_dtmf(self, digit: str) -> None: ...

    async def aclose(self, reason: str | None = None) -> None:
        self.closed.append(reason)


class Tts:
    async def synthesize(self, text: str, *, sample_rate: int, voice: str | None = None) -> bytes:
        return bytes(FRAME * 5)


async def screen(
    pcm: bytes,
) -> tuple[AnsweringMachineGate, Agent, CountingSink, Control, list[tuple[str, str | None]]]:
    agent, sink, control = Agent(), CountingSink(), Control(transfer_ok=False)
    outcomes: list[tuple[str, str | None]] = []
    gate = AnsweringMachineGate(
        agent,  # type: ignore[arg-type]
        tts=Tts(),  # type: ignore[arg-type]
        call_control=control,
        voicemail_message="Hello from Contoso Bank.",
        on_outcome=lambda event, detail: outcomes.append((event, detail)),
    )
    playout = PacedPlayout(sink, frame_bytes=FRAME)
    pacing = asyncio.create_task(playout.run())
    await gate.start(sample_rate=RATE, playout=playout)
    try:
        for start in range(0, len(pcm), FRAME):
            await gate.on_audio(pcm[start : start + FRAME], ())
            await asyncio.sleep(0)
        if gate._message_task is not None:
            await asyncio.wait_for(gate._message_task, 5)
    finally:
        await gate.aclose()
        pacing.cancel()
    return gate, agent, sink, control, outcomes


async def speech(text: str) -> bytes:
    return await EspeakTts().synthesize(text, sample_rate=RATE)


async def test_a_late_beep_stops_the_agent_and_leaves_the_message() -> None:
    # A one-second greeting, a full second of quiet (a person's verdict), then the beep.
    greeting = silence_pcm16(RATE, 0.2) + await speech("Leave a message.") + silence_pcm16(RATE, 1.0)
    beep = to_pcm16(sine(1000.0, RATE, 0.5, dbfs=-10.0))
    gate, agent, sink, control, outcomes = await screen(greeting + beep + silence_pcm16(RATE, 1.0))
    assert agent.started and agent.closed == ["voicemail"]  # closed once, when the beep came
    assert sink.stops >= 1
    assert gate.answered_by == "voicemail"
    assert [d for e, d in outcomes if e == "answered_by"] == ["human", "voicemail"]
    assert ("voicemail_left", "Hello from Contoso Bank.") in outcomes
    assert control.hung_up == ["voicemail left"]


async def test_a_person_keeps_the_agent_when_no_beep_comes() -> None:
    hello = silence_pcm16(RATE, 0.3) + await speech("Hello?") + silence_pcm16(RATE, 3.0)
    gate, agent, sink, control, outcomes = await screen(hello)
    assert agent.started and agent.heard > 0 and agent.closed == [None]  # closed only at the call's end
    assert sink.stops == 0 and control.hung_up == []
    assert gate.answered_by == "human" and [e for e, _ in outcomes].count("answered_by") == 1
