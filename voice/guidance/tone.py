"""The caller's tone from what they said, from two lexicons:
- cue phrases per tone (ours, weighted), read over the caller's last few turns with the latest counting most:
  they tell confused, frustrated, angry and distressed apart;
- VADER's valence lexicon (shipped inside the vaderSentiment wheel, with its rules for negation, boosters,
  capitals and "!"): how negative or positive the latest turn is. When no cue fires, a strongly negative turn
  is angry when aimed at the agent or the company ("you", "this is") and distressed otherwise; it also makes
  each reading more or less sure. Mildly negative turns stay calm: callers describe pain and problems calmly.

Measured on tests/unit/guidance/labelled.py and the held-out sets heldout.py and heldout_calls.py (see their
test for the numbers and floors)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from voice.guidance.checklist import phrase_pattern
from voice.guidance.models import Tone, ToneReading
from voice.llm.local_brain.spoken import normalize

RECENCY = (1.0, 0.5, 0.25)
"""Weight of the caller's last, second-to-last and third-to-last turns."""

CUES: dict[Tone, dict[str, float]] = {
    "distressed": {
        "scared": 2, "terrified": 2, "panicking": 2, "panic": 2, "please help": 2, "help me": 1.5,
        "emergency": 1.5, "i'm so worried": 2, "worried": 1, "i'm crying": 2, "crying": 1.5, "can't stop": 1,
        "so much pain": 2, "really hurts": 1.5, "unbearable": 2, "don't know what to do": 2, "desperate": 2,
        "afraid": 1.5, "frightened": 2, "shaking": 1.5, "urgent": 1, "right now": 0.5, "losing": 1,
    },
    "angry": {
        "ridiculous": 2, "unacceptable": 2, "furious": 2.5, "angry": 2, "outrageous": 2, "damn": 2,
        "sick of": 2, "fed up": 2, "worst": 1.5, "lawyer": 2, "sue": 2, "incompetent": 2.5, "useless": 2,
        "disgrace": 2, "pathetic": 2, "joke": 1, "how dare": 2.5, "close my account": 1.5,
        "cancel my account": 1.5, "i want a manager": 1.5, "supervisor": 1, "shut up": 2.5, "stupid": 2,
    },
    "frustrated": {
        "again": 1, "already told": 2, "already said": 2, "already gave": 2, "how many times": 2,
        "third time": 2, "second time": 1.5, "still not": 1.5, "still waiting": 2, "still": 0.5,
        "waiting for": 1, "not working": 1.5, "doesn't work": 1.5, "keeps": 1, "keep asking": 2,
        "frustrating": 2.5, "frustrated": 2.5, "annoying": 2, "annoyed": 2, "come on": 1.5,
        "forever": 1.5, "hours": 0.5, "nobody": 1, "no one": 1, "every time": 1.5, "seriously": 1,
    },
    "confused": {
        "confused": 2.5, "confusing": 2, "don't understand": 2.5, "do not understand": 2.5,
        "what do you mean": 2.5, "not sure": 1.5, "i'm lost": 2, "which one": 1.5, "what does that mean": 2.5,
        "huh": 1.5, "sorry what": 2, "say that again": 1.5, "i don't get it": 2.5, "how do i": 1.5,
        "what am i supposed to": 2, "where do i": 1.5, "don't know which": 2, "mean by": 1.5, "unclear": 2,
        "makes no sense": 1.5, "explain": 1,
    },
}  # fmt: skip
_VADER = SentimentIntensityAnalyzer()  # reads its lexicon file once, at import (before any call is served)
STRONGLY_NEGATIVE = -0.5
"""VADER compound at or below which a turn without cues is not calm."""
AGREEING = 0.3
"""|compound| from which VADER's valence agrees with a reading and makes it surer."""
_AIMED_AT_US = re.compile(r"\b(?:you|your|you're|yours|this is|that's|this bank|this company)\b")
PLEASED = ("thank you", "thanks", "great", "perfect", "wonderful", "appreciate", "that helps", "sounds good")
PRIORITY: tuple[Tone, ...] = ("distressed", "angry", "frustrated", "confused")
_NEGATED = re.compile(r"\b(?:not|no|never|isn't|i'm not)\s+(?:\w+\s+)?$")


def _score(text: str) -> dict[Tone, float]:
    norm = normalize(text)
    scores: dict[Tone, float] = {}
    for tone, cues in CUES.items():
        total = 0.0
        for cue, weight in cues.items():
            for match in phrase_pattern(cue).finditer(norm):
                if not _NEGATED.search(norm[: match.start()]):
                    total += weight
                    break
        if total:
            scores[tone] = total
    if text.count("!") >= 2:
        for tone in ("angry", "frustrated", "distressed"):
            if tone in scores:
                scores[tone] += 1.0
    return scores


def valence(text: str) -> float:
    """VADER's compound score, -1 (most negative) to 1."""
    return float(_VADER.polarity_scores(text)["compound"])


def classify_tone(caller_texts: Sequence[str]) -> ToneReading:
    """The tone of the caller's latest turns (oldest first in `caller_texts`)."""
    recent = list(caller_texts[-len(RECENCY) :])[::-1]
    totals: dict[Tone, float] = {}
    for weight, text in zip(RECENCY, recent, strict=False):
        for tone, score in _score(text).items():
            totals[tone] = totals.get(tone, 0.0) + weight * score
    compound = valence(recent[0]) if recent else 0.0
    if not totals:
        if compound <= STRONGLY_NEGATIVE:
            aimed = bool(_AIMED_AT_US.search(normalize(recent[0])))
            sure = min(0.8, 0.5 + (STRONGLY_NEGATIVE - compound))
            return ToneReading(tone="angry" if aimed else "distressed", confidence=round(sure, 2))
        pleased = bool(recent) and any(phrase_pattern(p).search(normalize(recent[0])) for p in PLEASED)
        if pleased or compound >= AGREEING:
            return ToneReading(tone="calm", confidence=0.8)
        return ToneReading(tone="calm", confidence=0.6 if compound > -AGREEING else 0.5)
    best = max(PRIORITY, key=lambda t: (totals.get(t, 0.0), -PRIORITY.index(t)))
    top = totals[best]
    share = top / sum(totals.values())
    confidence = 0.5 + 0.45 * share * min(top, 3.0) / 3.0  # clearer and stronger cues: surer
    if best != "confused":  # confusion is not negative valence; the other tones are
        confidence += 0.1 if compound <= -AGREEING else -0.1 if compound >= AGREEING else 0.0
    return ToneReading(tone=best, confidence=round(min(0.95, max(0.5, confidence)), 2))
