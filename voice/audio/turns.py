"""Caller turn-taking from VAD probabilities: when a turn starts and ends, and when speech is a barge-in.

Turn end, `fixed` mode: the active agent's `speech.end_of_turn_silence_ms`, held `unfinished_hold_ms` longer
when the words so far are clearly unfinished. `semantic` mode: a pause of `min_silence_ms` (about 200 ms)
ends a turn judged complete, an unsure one waits the fixed silence and an unfinished one that plus the hold
(`voice.audio.turn_end`). The judgement comes from `TurnTracker.judge` (the cascade's: model score and
words); `TurnPaused` asks for the model's score early in a pause, `TurnLikelyEnded` lets the cascade start
recognition and the brain before the turn is over, and `TurnResumed` says the caller went on after either. While the agent is talking, caller speech
only counts as a barge-in after `min_barge_in_ms` of windows at or above a stricter probability bar: short
backchannels ("uh-huh", "okay") stay under the duration, and residual echo of the agent's own voice rarely
reaches the bar for that long.

Waiting `min_barge_in_ms` before going quiet would make the caller talk over the agent for that long, so
the agent pauses first: after `pause_after_ms` of strong speech it goes quiet (`PauseAgent`, StopAudio with
the rest of its audio kept); if the speech then reaches `min_barge_in_ms` it is a barge-in (`BargeIn`), and
if it dies down for `resume_after_ms` first it was a backchannel or a noise and the agent carries on from
where it stopped (`ResumeAgent`). The policy is a pure function of the window sequence, so it is unit-tested
without audio.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from voice.audio.speech import SpeechDetector, SpeechDetectorConfig, SpeechEnded, SpeechStarted
from voice.audio.turn_end import Verdict, silence_needed_ms

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


@dataclass(frozen=True, slots=True)
class PauseAgent:
    at_ms: int
    """When the caller's strong speech started (onset of the run that triggered the pause)."""


@dataclass(frozen=True, slots=True)
class ResumeAgent:
    at_ms: int


@dataclass(frozen=True, slots=True)
class TurnPaused:
    """The caller has been quiet `score_after_ms` within a turn (semantic mode): time to score it."""

    at_ms: int
    """End of the last voiced window before the pause."""


@dataclass(frozen=True, slots=True)
class TurnLikelyEnded:
    """The pause has lasted `speculate_after_ms` and the turn is not judged unfinished: start on the reply,
    but play nothing until `TurnEnded` (a `TurnResumed` may come first)."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class TurnResumed:
    """The caller went on after a `TurnPaused` or `TurnLikelyEnded`: the same turn continues."""

    at_ms: int


TurnEvent = (
    TurnStarted | TurnEnded | BargeIn | PauseAgent | ResumeAgent | TurnPaused | TurnLikelyEnded | TurnResumed
)


@dataclass(frozen=True)
class TurnPolicy:
    end_of_turn_silence_ms: int = 600
    barge_in: bool = True
    min_barge_in_ms: int = 300
    barge_in_threshold: float = 0.7
    onset_threshold: float = 0.5
    min_speech_ms: int = 96
    pause_after_ms: int = 64
    """Strong caller speech over the agent before it goes quiet (pending a barge-in decision)."""
    resume_after_ms: int = 192
    """Quiet after a pause, short of a barge-in, before the agent carries on."""
    unfinished_hold_ms: int = 0
    """Extra silence waited for when the words so far are clearly unfinished (`TurnTracker.unfinished`):
    "my account ends in ..." is not a turn yet. 0: the end of turn is the fixed silence alone."""
    mode: Literal["fixed", "semantic"] = "fixed"
    min_silence_ms: int = 200
    """Semantic mode: the pause that ends a turn judged complete."""
    number_end_silence_ms: int = 0
    """Semantic mode: the pause that ends a complete turn whose words end on a number read out (callers pause
    after one, then correct it or go on); 0: `min_silence_ms`. Never more than `end_of_turn_silence_ms`."""
    score_after_ms: int = 64
    """Semantic mode: pause after which the turn is scored (`TurnPaused`)."""
    speculate_after_ms: int = 96
    """Semantic mode: pause after which a turn not judged unfinished starts its reply unheard; 0: never."""

    @property
    def semantic(self) -> bool:
        return self.mode == "semantic"


class TurnTracker:
    """Feed one VAD probability per 32 ms window plus whether the agent is audible; get turn events."""

    def __init__(self, policy: TurnPolicy) -> None:
        self.policy = policy
        self._detector = self._new_detector(policy)
        self._barge_windows = 0
        self._barge_needed = max(1, math.ceil(policy.min_barge_in_ms / WINDOW_MS))
        self._quiet_below = min(self._detector.config.threshold, policy.barge_in_threshold)
        self._barged = False
        self._onset_during_agent = False
        self._onset_ms = 0
        self._strong_run = 0  # consecutive windows at or above the barge-in bar, counted before onset too
        self._paused = False
        self._quiet_run = 0  # consecutive windows below the stay-in-speech bar while paused
        self.unfinished: Callable[[], bool] | None = None
        """Whether the caller's words so far are clearly unfinished (set by the cascade from the partials)."""
        self._held: SpeechEnded | None = None  # an end of speech not yet taken as the end of the turn
        self._held_until_ms = 0
        self._turn_onset_ms: int | None = None  # where a turn that went on after a held pause began
        self.judge: Callable[[], Verdict] | None = None
        """Semantic mode: how the caller's turn so far is judged (set by the cascade; None: UNKNOWN)."""
        self._pause_since: int | None = None  # semantic: end of the last voiced window of a pause in a turn
        self._pause_told = False  # TurnPaused sent for this pause
        self._speculated = False  # TurnLikelyEnded sent for this pause

    @staticmethod
    def _new_detector(policy: TurnPolicy) -> SpeechDetector:
        return SpeechDetector(
            SpeechDetectorConfig(
                threshold=policy.onset_threshold,
                neg_threshold=min(0.35, policy.onset_threshold),
                min_speech_ms=policy.min_speech_ms,
                min_silence_ms=policy.min_silence_ms if policy.semantic else policy.end_of_turn_silence_ms,
                window_ms=WINDOW_MS,
            )
        )

    @property
    def turn_onset_ms(self) -> int | None:
        """Where the current (or last) caller turn began, pauses it went on after included."""
        return self._turn_onset_ms

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def in_speech(self) -> bool:
        return self._detector.in_speech

    @property
    def turn_open(self) -> bool:
        """The caller holds the floor: speaking, or in a pause not yet taken as the end of their turn."""
        return self._detector.in_speech or self._held is not None

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
        self._quiet_below = min(self._detector.config.threshold, policy.barge_in_threshold)

    def skip_quiet(self, probability: float) -> bool:
        """Take a window that changes nothing but the clock, whatever the agent does: between turns (nothing
        paused or held), under both the onset and the barge-in bar. True if taken; False: `update` it. The
        general rules would come to the same, with no event, so the caller need not know `agent_active`."""
        detector = self._detector
        if (
            probability < self._quiet_below
            and self._held is None
            and not self._paused
            and not detector.in_speech
        ):
            detector.update(probability)  # out of speech and under the onset bar: only counts the window
            self._strong_run = 0
            return True
        return False

    def update(self, probability: float, *, agent_active: bool) -> list[TurnEvent]:
        """`agent_active`: the agent is speaking or preparing a reply (barge-in rules apply)."""
        if self.skip_quiet(probability):
            return []
        detector = self._detector
        events: list[TurnEvent] = []
        speech = detector.update(probability)
        strong = probability >= self.policy.barge_in_threshold
        self._strong_run = self._strong_run + 1 if strong else 0
        if isinstance(speech, SpeechStarted):
            self._onset_during_agent = agent_active
            self._barged = False
            self._barge_windows = self._strong_run - 1  # this window is counted just below
            self._onset_ms = speech.at_ms
            if self._held is not None:
                self._held = None  # the caller went on after a pause: the same turn continues
                self._end_pause(speech.at_ms, events)
            else:
                self._turn_onset_ms = speech.at_ms
                events.append(TurnStarted(speech.at_ms))
        self._maybe_pause(agent_active, events)
        if self._detector.in_speech and self._onset_during_agent and not self._barged:
            if strong:
                self._barge_windows += 1
            if self.policy.barge_in and self._barge_windows >= self._barge_needed:
                self._barged = True
                self._paused = False  # the pause becomes the interruption
                events.append(BargeIn(self._onset_ms))
        self._maybe_resume(probability, agent_active, events)
        if self.policy.semantic:
            self._semantic_pause(probability, speech, agent_active, events)
            return events
        if isinstance(speech, SpeechEnded):
            if self._should_hold(agent_active):
                self._held = speech
                self._held_until_ms = self._detector.elapsed_ms + self.policy.unfinished_hold_ms
            else:
                silence = self._detector.elapsed_ms - speech.at_ms
                events.append(TurnEnded(speech.at_ms, self._speech_ms(speech), silence))
        elif self._held is not None and self._detector.elapsed_ms >= self._held_until_ms:
            held, self._held = self._held, None
            silence = self._detector.elapsed_ms - held.at_ms
            events.append(TurnEnded(held.at_ms, self._speech_ms(held), silence))
        return events

    # --- semantic end of turn ----------------------------------------------------------------------
    def _judged(self) -> Verdict:
        if self.judge is None:
            return Verdict.UNKNOWN
        try:
            return self.judge()
        except Exception:  # a judge that fails must never stall the turn
            return Verdict.UNKNOWN

    def _end_pause(self, at_ms: int, events: list[TurnEvent]) -> None:
        if self._pause_told or self._speculated:
            events.append(TurnResumed(at_ms))
        self._pause_since = None
        self._pause_told = self._speculated = False

    def _semantic_pause(
        self,
        probability: float,
        speech: SpeechStarted | SpeechEnded | None,
        agent_active: bool,
        events: list[TurnEvent],
    ) -> None:
        now = self._detector.elapsed_ms
        policy = self.policy
        if isinstance(speech, SpeechEnded):
            self._held = speech
        if self._detector.in_speech:
            if probability >= self._detector.config.neg_threshold:
                if self._pause_since is not None:
                    self._end_pause(now - WINDOW_MS, events)
                return
            if self._pause_since is None:
                self._pause_since = now - WINDOW_MS
        elif self._held is None:
            return  # between turns
        held = self._held
        if agent_active:  # talk over the agent: barge-in rules, and its end is not held
            if held is not None:
                self._finish_turn(held, events)
            return
        pause_since = self._pause_since if self._pause_since is not None else now - WINDOW_MS
        silence = now - pause_since
        if not self._pause_told and silence >= policy.score_after_ms:
            self._pause_told = True
            events.append(TurnPaused(pause_since))
        judged = self._judged()
        if (
            not self._speculated
            and 0 < policy.speculate_after_ms <= silence
            and judged is not Verdict.INCOMPLETE
        ):
            self._speculated = True
            events.append(TurnLikelyEnded(pause_since))
        if held is None:
            return
        needed = silence_needed_ms(
            judged,
            min_silence_ms=policy.min_silence_ms,
            end_of_turn_silence_ms=policy.end_of_turn_silence_ms,
            unfinished_hold_ms=policy.unfinished_hold_ms,
            number_end_silence_ms=policy.number_end_silence_ms,
        )
        # The detector ends speech after the shortest silence any verdict needs: a longer wait must not count a
        # caller going on (an onset not `min_speech_ms` long yet) as silence, or the turn ends as they resume.
        if now - held.at_ms >= needed and not self._detector.onset_pending:
            self._finish_turn(held, events)

    @property
    def pause_pending(self) -> bool:
        """Semantic mode: the caller has paused within a turn that has not ended yet."""
        if not self.policy.semantic:
            return False
        return self._held is not None or (self._detector.in_speech and self._pause_since is not None)

    def advance(self, audio_ms: int, *, agent_active: bool) -> list[TurnEvent]:
        """Audio up to `audio_ms` has arrived, the samples after the last whole window not yet scored.

        Semantic mode: a pause that is long enough by now ends the turn on this frame. Waiting for the window
        that completes it would add the rest of the silence rounded up to whole 32 ms windows, plus the phase
        between those windows and the 20 ms frames that carry them (0-16 ms): up to ~45 ms the caller waits
        for nothing. The unscored samples (under one window) are taken as silence; a caller who goes on
        inside them opens a turn as usual, and an unheard reply is dropped for it.
        """
        if not self.policy.semantic or agent_active or audio_ms <= self._detector.elapsed_ms:
            return []
        if self._held is not None:
            last_voiced_ms = self._held.at_ms
        elif self._detector.in_speech and self._pause_since is not None:
            last_voiced_ms = self._pause_since
        else:
            return []
        policy = self.policy
        silence = audio_ms - last_voiced_ms
        eot = policy.end_of_turn_silence_ms
        if silence < min(policy.min_silence_ms, eot, eot + policy.unfinished_hold_ms):
            return []  # too short for any verdict: no need to judge the turn at every frame of a pause
        needed = silence_needed_ms(
            self._judged(),
            min_silence_ms=policy.min_silence_ms,
            end_of_turn_silence_ms=policy.end_of_turn_silence_ms,
            unfinished_hold_ms=policy.unfinished_hold_ms,
            number_end_silence_ms=policy.number_end_silence_ms,
        )
        if silence < needed:
            return []
        if self._detector.onset_pending:
            return []  # the caller may be going on: the window that confirms or drops the onset decides
        held = self._held if self._held is not None else self._detector.end_now()
        if held is None:
            return []
        events: list[TurnEvent] = []
        self._finish_turn(held, events, now_ms=audio_ms)
        return events

    def _finish_turn(self, held: SpeechEnded, events: list[TurnEvent], now_ms: int | None = None) -> None:
        self._held = None
        self._pause_since = None
        self._pause_told = self._speculated = False
        now = self._detector.elapsed_ms if now_ms is None else now_ms
        events.append(TurnEnded(held.at_ms, self._speech_ms(held), now - held.at_ms))

    def _speech_ms(self, ended: SpeechEnded) -> int:
        onset = self._turn_onset_ms
        return ended.at_ms - onset if onset is not None and onset <= ended.at_ms else ended.speech_ms

    def _should_hold(self, agent_active: bool) -> bool:
        if self.policy.unfinished_hold_ms <= 0 or self.unfinished is None or agent_active:
            return False
        try:
            return self.unfinished()
        except Exception:  # a predicate that fails must never stall the turn
            return False

    def _maybe_pause(self, agent_active: bool, events: list[TurnEvent]) -> None:
        policy = self.policy
        if self._paused or not agent_active or not policy.barge_in:
            return
        if self._detector.in_speech and (not self._onset_during_agent or self._barged):
            return  # speech that began before the agent did, or one already acted on
        if self._strong_run * WINDOW_MS < max(WINDOW_MS, policy.pause_after_ms):
            return
        self._paused = True
        self._quiet_run = 0
        events.append(PauseAgent(self._detector.elapsed_ms - self._strong_run * WINDOW_MS))

    def _maybe_resume(self, probability: float, agent_active: bool, events: list[TurnEvent]) -> None:
        if not self._paused:
            return
        if not agent_active:  # the reply ended or was cut some other way: nothing to resume
            self._paused = False
            return
        self._quiet_run = self._quiet_run + 1 if probability < self._detector.config.neg_threshold else 0
        if self._quiet_run * WINDOW_MS >= self.policy.resume_after_ms:
            self._paused = False
            events.append(ResumeAgent(self._detector.elapsed_ms))

    @property
    def turn_was_backchannel(self) -> bool:
        """For the turn that just ended: it began while the agent talked and never became a barge-in."""
        return self._onset_during_agent and not self._barged
