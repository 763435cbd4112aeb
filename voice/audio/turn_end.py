"""Semantic end of turn: how long a pause must be before the caller's turn is over, from what is known about it.

Signals, each optional: the end-of-turn model's probability that the turn is complete (from the audio), and
the recogniser's partial text, which can sound clearly unfinished ("my account number is") or clearly
complete ("what's my balance", "yes"). They combine into a `Verdict`, and the verdict picks the silence
that ends the turn:

- COMPLETE: `min_silence_ms` (about 200 ms);
- UNKNOWN (no model answer yet, nothing telling in the words): the agent's fixed `end_of_turn_silence_ms`;
- INCOMPLETE: that plus `unfinished_hold_ms`: a mid-sentence pause is a breath, not a turn end.

Words win over the model: the model hears prosody, which flat or synthetic voices blur, while "ends in" is
unambiguous. Without telling words, a confident model ends the turn early and anything else waits the fixed
silence. A pure function, unit-tested without audio or models.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.Enum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TurnSignals:
    """What is known about the caller's turn at a pause."""

    score: float | None = None
    """The model's probability that the turn is complete; None: no model, not scored yet, or overloaded."""
    words_unfinished: bool = False
    words_complete: bool = False


@dataclass(frozen=True, slots=True)
class ScoreThresholds:
    complete_at: float = 0.5
    """A score at or above this is a complete turn (the model's own decision boundary)."""
    incomplete_below: float = 0.0
    """A score below this is an unfinished turn; in between, the model is unsure (UNKNOWN). Off (0) by
    default: on flat synthetic speech (espeak) the model scores many finished statements near 0 ("my account
    number is four eight two one." 0.02), so a low score alone would make complete turns wait the longest."""


def verdict(signals: TurnSignals, thresholds: ScoreThresholds = ScoreThresholds()) -> Verdict:
    if signals.words_unfinished:
        return Verdict.INCOMPLETE
    score = signals.score
    if score is not None and score >= thresholds.complete_at:
        return Verdict.COMPLETE
    if score is not None and score < thresholds.incomplete_below and not signals.words_complete:
        return Verdict.INCOMPLETE
    if signals.words_complete:
        return Verdict.COMPLETE
    return Verdict.UNKNOWN


def silence_needed_ms(
    judged: Verdict, *, min_silence_ms: int, end_of_turn_silence_ms: int, unfinished_hold_ms: int
) -> int:
    """The pause that ends a turn judged `judged`."""
    if judged is Verdict.COMPLETE:
        return min_silence_ms
    if judged is Verdict.INCOMPLETE:
        return end_of_turn_silence_ms + unfinished_hold_ms
    return end_of_turn_silence_ms
