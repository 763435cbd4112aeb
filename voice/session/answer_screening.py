"""Who picked up an outbound call: a person gets the scenario's agent, a voicemail gets the scenario's message.

`AnsweringMachineGate` wraps the call's orchestrator. Until the detector (voice/audio/answering_machine.py)
has decided, the callee's audio goes only to the detector and the agent stays silent (a person hears nothing
odd: they said "Hello?" and the agent answers it). A human verdict starts the agent; a machine verdict waits
for the beep, speaks the voicemail message once, and hangs up.

A beep soon after a human verdict (the detector's `late_beep_ms`: a short greeting, then a late beep) means it
was a machine after all: the agent is stopped (its queued audio dropped, StopAudio sent, the orchestrator
closed) and the voicemail message is left when the beep ends. A real person never waits for this check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Literal

from voice.audio.answering_machine import AmdConfig, AmdEvent, AnsweringMachineDetector
from voice.session.call_control import CallControl
from voice.session.orchestrator import Orchestrator
from voice.transports.playout import PacedPlayout
from voice.tts.base import TextToSpeech

log = logging.getLogger(__name__)

AnsweredBy = Literal["human", "voicemail"]
OutcomeSink = Callable[[str, str | None], None]
"""(event, detail) for the call record: ("answered_by", "human"), ("voicemail_left", message), ..."""


class AnsweringMachineGate:
    def __init__(
        self,
        inner: Orchestrator,
        *,
        tts: TextToSpeech,
        call_control: CallControl,
        voicemail_message: str | None,
        on_outcome: OutcomeSink,
        voice: str | None = None,
        config: AmdConfig | None = None,
    ) -> None:
        self.inner = inner
        self.conversation = inner.conversation
        self._tts = tts
        self._control = call_control
        self._message = voicemail_message
        self._on_outcome = on_outcome
        self._voice = voice
        self._config = config
        self._detector: AnsweringMachineDetector | None = None
        self._playout: PacedPlayout | None = None
        self._sample_rate = 16000
        self._started_inner = False
        self._inner_closed = False
        self._message_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self.answered_by: AnsweredBy | None = None

    @property
    def uses_vad(self) -> bool:
        return self.inner.uses_vad

    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        self._sample_rate, self._playout = sample_rate, playout
        self._detector = AnsweringMachineDetector(sample_rate, self._config)

    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        detector = self._detector
        if detector is not None and not detector.finished:
            for event in detector.feed(pcm):
                if event is AmdEvent.HUMAN:
                    self._decided("human")
                    await self._start_agent()
                elif event is AmdEvent.MACHINE:
                    self._decided("voicemail")
                    if self._started_inner:  # a late beep: it was a machine after all
                        self._started_inner = False
                        self._stop_task = asyncio.create_task(self._stop_agent(), name="voicemail-stop-agent")
                elif event is AmdEvent.LEAVE_MESSAGE and self._message_task is None:
                    self._message_task = asyncio.create_task(self._leave_message(), name="voicemail-message")
        if self._started_inner:
            await self.inner.on_audio(pcm, probabilities)

    def _decided(self, who: AnsweredBy) -> None:
        self.answered_by = who
        detector = self._detector
        detail = f"{who} (greeting {detector.greeting_ms} ms)" if detector is not None else who
        if detector is not None and detector.overturned:
            detail = f"{who} (a beep after the human verdict; greeting {detector.greeting_ms} ms)"
        log.info("answered by", extra={"answered_by": who})
        self._on_outcome("answered_by", who)
        self._on_outcome("answer_screening", detail)

    async def _start_agent(self) -> None:
        assert self._playout is not None
        self._started_inner = True
        await self.inner.start(sample_rate=self._sample_rate, playout=self._playout)

    async def _stop_agent(self) -> None:
        """Silence the agent now (drop its queued audio, StopAudio), then close it; silence again in case it
        queued more while closing."""
        playout = self._playout
        assert playout is not None
        log.info("beep after the human verdict: stopping the agent for the voicemail message")
        await playout.interrupt()
        self._inner_closed = True
        await self.inner.aclose("voicemail")
        await playout.interrupt()

    async def _leave_message(self) -> None:
        playout = self._playout
        assert playout is not None
        if self._stop_task is not None:
            await self._stop_task
        if self._message:
            try:
                pcm = await self._tts.synthesize(
                    self._message, sample_rate=self._sample_rate, voice=self._voice
                )
            except Exception as exc:  # no voice left: hang up rather than leave a silent recording
                log.warning("voicemail message synthesis failed", extra={"error_type": type(exc).__name__})
                pcm = b""
            if pcm:
                playout.enqueue(pcm)
                playout.end_utterance()
                await playout.wait_idle()
                self._on_outcome("voicemail_left", self._message)
        await self._control.hang_up("voicemail left" if self._message else "voicemail, no message")

    async def on_dtmf(self, digit: str) -> None:
        if self._started_inner:
            await self.inner.on_dtmf(digit)

    async def aclose(self, reason: str | None = None) -> None:
        task = self._message_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._stop_task is not None:  # short, and must finish closing the agent: awaited, not cancelled
            with contextlib.suppress(Exception):
                await self._stop_task
        if self._inner_closed:  # stopped for a late beep: closed already
            return
        if self.answered_by == "voicemail" and reason is None:
            reason = "voicemail"
        await self.inner.aclose(reason)
