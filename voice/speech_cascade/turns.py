"""Caller turn-taking from VAD probabilities: when a turn starts and ends, and when speech is a barge-in.

Turn end uses the active agent's `speech.end_of_turn_silence_ms`. While the agent is talking, caller speech
only counts as a barge-in after `min_barge_in_ms` of windows at or above a stricter probability bar: short
backchannels ("uh-huh", "okay") stay under the duration, and residual echo of the agent's own voice rarely
reaches the bar for that long. The policy is a pure function of the window sequence, so it is unit-tested
without audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voice.audio.speech import SpeechDetector, SpeechDetectorConfig, SpeechEnded, SpeechStarted

WINDOW_MS = 32


@dataclass(frozen=True, slots=True)
class TurnStarted:
    at_ms: int


@dataclass(frozen=True, slots=True)
class TurnEnded:
    at_ms: int
    """End of the last voiced window (the caller's last word)."""
    speech_ms: int
    silence_ms: int
    """How much silence was waited for (the end-of-turn delay)."""


@dataclass(frozen=True, slots=True)
class BargeIn:
    at_ms: int
    """When the caller's speech started (onset), not when we became sure."""


TurnEvent = TurnStarted | TurnEnded | BargeIn


@dataclass(frozen=True)
class TurnPolicy:
    end_of_turn_silence_ms: int = 600
    barge_in: bool = True
    min_barge_in_ms: int = 300
    barge_in_threshold: float = 0.7
    onset_threshold: float = 0.5
    min_speech_ms: int = 96


class TurnTracker:
    """Feed one VAD probability per 32 ms window plus whether the agent is audible; get turn events."""

    def __init__(self, policy: TurnPolicy) -> None:
        self.policy = policy
        self._detector = self._new_detector(policy)
        self._barge_windows = 0
        self._barge_needed = max(1, math.ceil(policy.min_barge_in_ms / WINDOW_MS))
        self._barged = False
        self._onset_during_agent = False
        self._onset_ms = 0
        self._strong_run = 0  # consecutive windows at or above the barge-in bar, counted before onset too

    @staticmethod
    def _new_detector(policy: TurnPolicy) -> SpeechDetector:
        return SpeechDetector(
            SpeechDetectorConfig(
                threshold=policy.onset_threshold,
                neg_threshold=min(0.35, policy.onset_threshold),
                min_speech_ms=policy.min_speech_ms,
                min_silence_ms=policy.end_of_turn_silence_ms,
                window_ms=WINDOW_MS,
            )
        )

    @property
    def in_speech(self) -> bool:
        return self._detector.in_speech

    @property
    def elapsed_ms(self) -> int:
        return self._detector.elapsed_ms

    def set_policy(self, policy: TurnPolicy) -> None:
        """Switch to another agent's settings (from the next window; the call keeps one time axis)."""
        if policy == self.policy:
            return
        self.policy = policy
        self._barge_needed = max(1, math.ceil(policy.min_barge_in_ms / WINDOW_MS))
        self._detector.reconfigure(self._new_detector(policy).config)

    def update(self, probability: float, *, agent_active: bool) -> list[TurnEvent]:
        """`agent_active`: the agent is speaking or preparing a reply (barge-in rules apply)."""
        events: list[TurnEvent] = []
        speech = self._detector.update(probability)
        strong = probability >= self.policy.barge_in_threshold
        self._strong_run = self._strong_run + 1 if strong else 0
        if isinstance(speech, SpeechStarted):
            self._onset_during_agent = agent_active
            self._barged = False
            self._barge_windows = self._strong_run - 1  # this window is counted just below
            self._onset_ms = speech.at_ms
            events.append(TurnStarted(speech.at_ms))
        if self._detector.in_speech and self._onset_during_agent and not self._barged:
            if strong:
                self._barge_windows += 1
            if self.policy.barge_in and self._barge_windows >= self._barge_needed:
                self._barged = True
                events.append(BargeIn(self._onset_ms))
        if isinstance(speech, SpeechEnded):
            silence = self._detector.elapsed_ms - speech.at_ms
            events.append(TurnEnded(speech.at_ms, speech.speech_ms, silence))
        return events

    @property
    def turn_was_backchannel(self) -> bool:
        """For the turn that just ended: it began while the agent talked and never became a barge-in."""
        return self._onset_during_agent and not self._barged
