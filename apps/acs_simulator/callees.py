"""Who picks up an outbound call the backend places: a person, a voicemail, nobody, or a busy line.

`AcsSimulator(callees={"+15550100123": Callee.voicemail()})`; numbers not listed answer and stay silent.
A callee that never picks up ends the call attempt as ACS does, with CreateCallFailed and a SIP-style result
code (408 no answer, 486 busy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from apps.acs_simulator.call import CallOptions
from apps.acs_simulator.caller_audio import CallerStep, Pause, Say, Tone, WaitForAgent

VOICEMAIL_GREETING = "Hi, you have reached Dana Smith. I can't take your call right now. Please leave a message after the tone."

AnswerMode = Literal["human", "voicemail", "no_answer", "busy"]


@dataclass(frozen=True)
class Callee:
    mode: AnswerMode
    script: Sequence[CallerStep] = ()
    options: CallOptions = field(
        default_factory=lambda: CallOptions(
            max_duration_s=600.0, hang_up_after_silence_s=None, end_on_media_failure=False
        )
    )

    @property
    def answers(self) -> bool:
        return self.mode in ("human", "voicemail")

    @property
    def failure(self) -> tuple[int, str]:
        """(ACS result code, message) of the CreateCallFailed for a callee that does not pick up."""
        if self.mode == "busy":
            return 486, "The callee is busy."
        return 408, "The callee did not answer."

    @classmethod
    def human(cls, *, after: Sequence[CallerStep] = (), hang_up_after_silence_s: float = 2.0) -> Callee:
        """Picks up, says "Hello?", lets the agent answer, then whatever `after` says."""
        script: list[CallerStep] = [Pause(0.3), Say("Hello?"), WaitForAgent(start_timeout_s=8.0), *after]
        options = CallOptions(max_duration_s=60.0, hang_up_after_silence_s=hang_up_after_silence_s)
        return cls("human", script, options)

    @classmethod
    def voicemail(
        cls, greeting: str = VOICEMAIL_GREETING, *, beep_hz: float = 1000.0, beep_after_s: float = 0.3
    ) -> Callee:
        """A greeting, a beep `beep_after_s` after it, then it records whatever it hears until the backend hangs
        up."""
        script: list[CallerStep] = [Pause(0.2), Say(greeting), Pause(beep_after_s), Tone(beep_hz, 0.5)]
        return cls("voicemail", script, CallOptions(max_duration_s=60.0, hang_up_after_silence_s=None))

    @classmethod
    def no_answer(cls) -> Callee:
        return cls("no_answer")

    @classmethod
    def busy(cls) -> Callee:
        return cls("busy")
