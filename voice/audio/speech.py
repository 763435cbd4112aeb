"""Speech start / end detection from per-window VAD probabilities, with hysteresis.

Onset needs `min_speech_ms` of consecutive windows at or above `threshold`, so a cough or a click does
not start a turn. Once in speech, the bar to stay there drops to `neg_threshold`, and the end needs
`min_silence_ms` of consecutive windows below it, so short pauses between words do not end the turn.
Time comes from counting windows: the detector is a pure function of the probability sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SpeechDetectorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # `default=` by keyword: type checkers read only that as a field default (a positional one looks required).

    threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    neg_threshold: float = Field(default=0.35, ge=0.0, le=1.0)
    min_speech_ms: int = Field(default=96, ge=0)
    min_silence_ms: int = Field(default=500, ge=0)
    window_ms: int = Field(default=32, gt=0)

    @model_validator(mode="after")
    def _hysteresis_order(self) -> SpeechDetectorConfig:
        if self.neg_threshold > self.threshold:
            raise ValueError("neg_threshold must not exceed threshold")
        return self


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_ms: int
    """Start of the first voiced window of the onset."""


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    at_ms: int
    """End of the last voiced window before the silence."""
    speech_ms: int
    """From the matching SpeechStarted.at_ms to at_ms."""


SpeechEvent = SpeechStarted | SpeechEnded


class SpeechDetector:
    """Turns one probability per VAD window into SpeechStarted / SpeechEnded events."""

    def __init__(self, config: SpeechDetectorConfig | None = None) -> None:
        self.config = config if config is not None else SpeechDetectorConfig()
        w = self.config.window_ms
        # Durations as window counts, rounded up: "at least min_speech_ms" of whole windows.
        self._onset_windows = max(1, math.ceil(self.config.min_speech_ms / w))
        self._offset_windows = max(1, math.ceil(self.config.min_silence_ms / w))
        self.reset()

    def reset(self) -> None:
        self._windows = 0  # windows seen so far; window i spans [i*w, (i+1)*w) ms
        self._in_speech = False
        self._run_start = 0  # first window of the current voiced run (before onset)
        self._run_length = 0  # consecutive voiced windows before onset, silent ones after
        self._speech_start = 0  # window index of the onset
        self._last_voiced = 0  # index of the last voiced window while in speech

    def reconfigure(self, config: SpeechDetectorConfig) -> None:
        """New thresholds and durations from the next window on, keeping the time axis and current state."""
        self.config = config
        self._onset_windows = max(1, math.ceil(config.min_speech_ms / config.window_ms))
        self._offset_windows = max(1, math.ceil(config.min_silence_ms / config.window_ms))

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def elapsed_ms(self) -> int:
        return self._windows * self.config.window_ms

    @property
    def onset_pending(self) -> bool:
        """Out of speech, with windows at or above `threshold` that are not `min_speech_ms` long yet: speech may
        be starting again."""
        return not self._in_speech and self._run_length > 0

    def end_now(self) -> SpeechEnded | None:
        """End the speech in progress at its last voiced window (the caller of this knows the pause that
        follows is long enough), as if the silence had reached `min_silence_ms`; None when not in speech."""
        if not self._in_speech:
            return None
        self._in_speech = False
        self._run_length = 0
        w = self.config.window_ms
        end_ms = (self._last_voiced + 1) * w
        return SpeechEnded(at_ms=end_ms, speech_ms=end_ms - self._speech_start * w)

    def update(self, prob: float) -> SpeechEvent | None:
        """Feed the probability of the next window; return an event if this window completes one."""
        index = self._windows
        self._windows += 1
        w = self.config.window_ms
        if not self._in_speech:
            if prob < self.config.threshold:
                self._run_length = 0
                return None
            if self._run_length == 0:
                self._run_start = index
            self._run_length += 1
            if self._run_length < self._onset_windows:
                return None
            self._in_speech = True
            self._speech_start = self._run_start
            self._last_voiced = index
            self._run_length = 0
            return SpeechStarted(at_ms=self._speech_start * w)

        if prob >= self.config.neg_threshold:
            self._last_voiced = index
            self._run_length = 0
            return None
        self._run_length += 1
        if self._run_length < self._offset_windows:
            return None
        self._in_speech = False
        self._run_length = 0
        end_ms = (self._last_voiced + 1) * w
        return SpeechEnded(at_ms=end_ms, speech_ms=end_ms - self._speech_start * w)
