"""Semantic end of turn: how long a pause must be before the caller's turn is over, from what is known about it.

Signals, each optional: the end-of-turn model's probability that the turn is complete (from the audio), and
the recogniser's partial text, which can sound clearly unfinished ("my account number is") or clearly
complete ("what's my balance", "yes"). They combine into a `Verdict`, and the verdict picks the silence
that ends the turn:

- COMPLETE: `min_silence_ms` (about 300 ms);
- COMPLETE_NUMBER, complete and ending on a number read out ("... account ending in six six four zero"):
  at least `number_end_silence_ms` (about 400 ms): callers pause after reading one and then correct it
  ("..., sorry, nine one three") or go on with the request ("..., what's in my checking?");
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
    COMPLETE_NUMBER = "complete_number"
    """Complete, with the words ending on a number the caller read out."""
    INCOMPLETE = "incomplete"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TurnSignals:
    """What is known about the caller's turn at a pause."""

    score: float | None = None
    """The model's probability that the turn is complete; None: no model, not scored yet, or overloaded."""
    words_unfinished: bool = False
    words_complete: bool = False
    words_end_in_number: bool = False
    """The words end on a number of two or more digits ("... four eight two one", "AU-1188")."""
    words_maybe_unfinished: bool = False
    """The words end on a word that leaves them unfinished but that a streaming recogniser's fragment of a word
    still coming in is often read as ("my account and the"): unfinished or not, they cannot tell."""


@dataclass(frozen=True, slots=True)
class ScoreThresholds:
    complete_at: float = 0.5
    """A score at or above this is a complete turn (the model's own decision boundary)."""
    fragment_complete_at: float = 0.5
    """With words that may be unfinished (`words_maybe_unfinished`), the score that still makes the turn
    complete. The cascade keeps the model's boundary: its early reply's final text replaces such a partial before
    the turn can end. A judge that reads partials only asks for more (see `apps/realtime_server`)."""
    incomplete_below: float = 0.0
    """A score below this is an unfinished turn; in between, the model is unsure (UNKNOWN). Off (0) by
    default: on flat synthetic speech (espeak) the model scores many finished statements near 0 ("my account
    number is four eight two one." 0.02), so a low score alone would make complete turns wait the longest."""


def verdict(signals: TurnSignals, thresholds: ScoreThresholds = ScoreThresholds()) -> Verdict:
    judged = _verdict(signals, thresholds)
    if judged is Verdict.COMPLETE and signals.words_end_in_number:
        return Verdict.COMPLETE_NUMBER
    return judged


def _verdict(signals: TurnSignals, thresholds: ScoreThresholds) -> Verdict:
    if signals.words_unfinished:
        return Verdict.INCOMPLETE
    score = signals.score
    complete_at = (
        thresholds.fragment_complete_at if signals.words_maybe_unfinished else thresholds.complete_at
    )
    if score is not None and score >= complete_at:
        return Verdict.COMPLETE
    if score is not None and score < thresholds.incomplete_below and not signals.words_complete:
        return Verdict.INCOMPLETE
    if signals.words_complete:
        return Verdict.COMPLETE
    return Verdict.UNKNOWN


def silence_needed_ms(
    judged: Verdict,
    *,
    min_silence_ms: int,
    end_of_turn_silence_ms: int,
    unfinished_hold_ms: int,
    number_end_silence_ms: int = 0,
) -> int:
    """The pause that ends a turn judged `judged` (`number_end_silence_ms` 0: as any complete turn)."""
    if judged is Verdict.COMPLETE:
        return min_silence_ms
    if judged is Verdict.COMPLETE_NUMBER:
        return max(min_silence_ms, min(number_end_silence_ms, end_of_turn_silence_ms))
    if judged is Verdict.INCOMPLETE:
        return end_of_turn_silence_ms + unfinished_hold_ms
    return end_of_turn_silence_ms
