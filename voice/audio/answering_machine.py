"""Answering-machine detection on the first seconds of an outbound call's callee audio.

Two cues, measured per 20 ms frame:
- **Greeting length.** A person answers with a short "Hello?" and waits; a voicemail greeting talks on
  ("Hi, you've reached ... leave a message after the tone"). Speech that stops within
  `human_max_greeting_ms` and is followed by `end_silence_ms` of quiet is a human; speech that runs past it is
  a machine. Nobody speaking for `no_speech_ms` counts as a human (the agent speaks first, as to a person).
- **The beep.** A steady pure tone in the 400-2000 Hz band (most voicemail beeps sit near 1 kHz) for at least
  `min_beep_ms`: most of a frame's energy within a few FFT bins of one peak, the peak steady from frame to
  frame. A beep is a machine whatever the greeting was, and the end of the beep is when to leave the message.
A machine without a beep gets the message after `no_beep_silence_ms` of quiet (or `beep_wait_ms` at most).

A short greeting ("Leave a message.") whose beep comes after a long pause is first taken for a person. So after
a human verdict the detector keeps listening for a beep for `late_beep_ms`: the agent has started already (no
added wait for a real person), and a beep in that window turns the verdict into MACHINE (`overturned`), then
LEAVE_MESSAGE when the beep ends, as for any machine.

The detector is a pure function of the audio it is fed (time is counted in frames), so it is tested on
synthesized speech and tones.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FRAME_MS = 20


class AmdConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    voiced_dbfs: float = Field(default=-40.0, description="A frame at or above this RMS level is sound.")
    human_max_greeting_ms: int = Field(default=2000, gt=0)
    end_silence_ms: int = Field(default=700, gt=0)
    no_speech_ms: int = Field(default=3000, gt=0)
    min_beep_ms: int = Field(default=120, gt=0)
    beep_band_hz: tuple[float, float] = (400.0, 2000.0)
    tone_purity: float = Field(default=0.95, gt=0.0, le=1.0)
    """Share of a frame's energy within +-2 FFT bins of its peak for it to be tone (speech peaks near 0.9)."""
    no_beep_silence_ms: int = Field(default=2500, gt=0)
    beep_wait_ms: int = Field(default=15000, gt=0)
    late_beep_ms: int = Field(default=1500, ge=0)
    """After a human verdict, how long a beep still turns it into a machine (0: the human verdict is final)."""


class AmdEvent(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    LEAVE_MESSAGE = "leave_message"
    """After a machine verdict: the beep has ended (or never came): speak the message now."""


class _Phase(StrEnum):
    LISTENING = "listening"
    LATE_BEEP = "late_beep"
    """Human verdict given; still listening for a beep for late_beep_ms."""
    AWAIT_BEEP = "await_beep"
    IN_BEEP = "in_beep"
    DONE = "done"


def tone_peak_hz(frame: np.ndarray, sample_rate: int, purity: float) -> float | None:
    """The frequency of a pure tone filling `frame` (float samples), or None when it is not one."""
    spectrum = np.abs(np.fft.rfft(frame * np.hanning(frame.size))) ** 2
    total = float(spectrum.sum())
    if total <= 0.0:
        return None
    peak = int(np.argmax(spectrum))
    near = float(spectrum[max(0, peak - 2) : peak + 3].sum())
    if near / total < purity:
        return None
    return peak * sample_rate / frame.size


class AnsweringMachineDetector:
    """Feed PCM16 mono at `sample_rate`; `feed` returns the events the audio completed (each at most once)."""

    def __init__(self, sample_rate: int, config: AmdConfig | None = None) -> None:
        self.sample_rate = sample_rate
        self.config = config or AmdConfig()
        self._frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._voiced_rms = 32768.0 * 10 ** (self.config.voiced_dbfs / 20)
        self._pending = bytearray()
        self._phase = _Phase.LISTENING
        self._t_ms = 0
        self._onset_ms: int | None = None
        self._last_sound_ms = 0
        self._verdict_ms = 0
        self._tone_ms = 0
        self._tone_hz: float | None = None
        self.verdict: AmdEvent | None = None
        self.overturned = False
        """A beep after the human verdict made it a machine."""
        self.beep_hz: float | None = None
        self.greeting_ms = 0

    @property
    def finished(self) -> bool:
        return self._phase is _Phase.DONE

    def feed(self, pcm: bytes) -> list[AmdEvent]:
        if self._phase is _Phase.DONE:
            return []
        self._pending += pcm
        events: list[AmdEvent] = []
        while len(self._pending) >= self._frame_bytes and not self.finished:
            frame = np.frombuffer(bytes(self._pending[: self._frame_bytes]), dtype="<i2").astype(np.float64)
            del self._pending[: self._frame_bytes]
            events += self._frame(frame)
        return events

    def _frame(self, samples: np.ndarray) -> list[AmdEvent]:
        self._t_ms += FRAME_MS
        now = self._t_ms
        loud = float(np.sqrt(np.mean(samples * samples))) >= self._voiced_rms
        tone = self._tone(samples) if loud else False
        if loud:
            self._last_sound_ms = now
        if self._phase is _Phase.IN_BEEP:
            if tone:
                return []
            self._phase = _Phase.DONE
            return [AmdEvent.LEAVE_MESSAGE]
        if tone and self._tone_ms >= self.config.min_beep_ms:
            late = self._phase is _Phase.LATE_BEEP
            self._phase = _Phase.IN_BEEP
            self.beep_hz = self._tone_hz
            self.overturned = late
            return self._decide(AmdEvent.MACHINE, now) if self.verdict is None or late else []
        if self._phase is _Phase.LATE_BEEP:
            if now - self._verdict_ms >= self.config.late_beep_ms:
                self._phase = _Phase.DONE
            return []
        if self._phase is _Phase.AWAIT_BEEP:
            quiet_ms = now - self._last_sound_ms
            if (
                quiet_ms >= self.config.no_beep_silence_ms
                or now - self._verdict_ms >= self.config.beep_wait_ms
            ):
                self._phase = _Phase.DONE
                return [AmdEvent.LEAVE_MESSAGE]
            return []
        return self._listen(loud and not tone, now)

    def _tone(self, samples: np.ndarray) -> bool:
        """Track a run of steady in-band tone frames; True while this frame continues one."""
        hz = tone_peak_hz(samples / 32768.0, self.sample_rate, self.config.tone_purity)
        low, high = self.config.beep_band_hz
        step = self.sample_rate / samples.size
        if hz is None or not low <= hz <= high:
            self._tone_ms, self._tone_hz = 0, None
            return False
        steady = self._tone_hz is not None and abs(hz - self._tone_hz) <= step
        self._tone_ms = self._tone_ms + FRAME_MS if steady else FRAME_MS
        self._tone_hz = hz
        return True

    def _listen(self, speech: bool, now: int) -> list[AmdEvent]:
        if speech and self._onset_ms is None:
            self._onset_ms = now - FRAME_MS
        if self._onset_ms is None:
            return self._decide(AmdEvent.HUMAN, now) if now >= self.config.no_speech_ms else []
        self.greeting_ms = self._last_sound_ms - self._onset_ms
        if self.greeting_ms > self.config.human_max_greeting_ms:
            return self._decide(AmdEvent.MACHINE, now)
        if now - self._last_sound_ms >= self.config.end_silence_ms:
            return self._decide(AmdEvent.HUMAN, now)
        return []

    def _decide(self, verdict: AmdEvent, now: int) -> list[AmdEvent]:
        self.verdict = verdict
        self._verdict_ms = now
        if verdict is AmdEvent.HUMAN:
            self._phase = _Phase.LATE_BEEP if self.config.late_beep_ms > 0 else _Phase.DONE
        elif self._phase is _Phase.LISTENING:
            self._phase = _Phase.AWAIT_BEEP
        return [verdict]
