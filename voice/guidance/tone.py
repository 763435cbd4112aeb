"""The caller's tone from what they said, read per turn from three sources added up as logits:
- a softmax regression over the turn's sentence embedding (`tone_model.py`, fitted on our labelled examples):
  the tone of turns in words no list foresaw;
- cue phrases per tone (ours, weighted): strong explicit signals ("i'm confused", "how many times");
- VADER's valence (its lexicon, with its rules for negation, boosters, capitals and "!"): a negative turn
  leans away from calm, a positive one towards it.
The caller's last few turns are read, the latest counting most (their probabilities averaged with `RECENCY`
weights); the confidence is the averaged probability of the tone read (0.2 is a guess among five; at
most `MAX_CONFIDENCE`), and about as often right as it says on the examples, cross-validated.

Blocking (the embedding, ~7 ms per new turn; the model's fit, ~2 s once per process): run it off the event loop.
Measured on tone_examples.py (cross-validated) and the held-out sets heldout.py and heldout_calls.py (see their
test for the numbers and floors)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from voice.guidance.checklist import phrase_pattern
from voice.guidance.models import TONES, Tone, ToneReading
from voice.guidance.tone_model import ToneModel, shared_model, softmax, turn_vectors
from voice.llm.local_brain.embeddings import digest
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
CUE_WEIGHT = 1.0
"""Logit per unit of cue score (cue weights run 0.5-2.5 a phrase)."""
VALENCE_WEIGHT = 1.0
"""Logit per unit of VADER compound: negative adds to every upset tone, positive to calm."""
MAX_CONFIDENCE = 0.95
"""Never certain: even many strong cues can be irony or a quote."""
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


def _lexicon_logits(text: str) -> np.ndarray:
    scores = _score(text)
    logits = CUE_WEIGHT * np.array([scores.get(tone, 0.0) for tone in TONES])
    compound = valence(text)
    if compound >= 0:
        logits[0] += VALENCE_WEIGHT * compound
    else:
        logits[1:] -= VALENCE_WEIGHT * compound
    return logits


def _turn_tone(model: ToneModel, text: str) -> np.ndarray:
    """One turn's tone probabilities under `model` (in `TONES` order): its words alone decide them."""
    row: np.ndarray = softmax(model.logits(turn_vectors([text]))[0] + _lexicon_logits(text))
    row.flags.writeable = False  # shared through the model's cache
    return row


def classify_tone(caller_texts: Sequence[str]) -> ToneReading:
    """The tone of the caller's latest turns (oldest first in `caller_texts`). Blocking: see the module."""
    recent = list(caller_texts[-len(RECENCY) :])[::-1]
    if not recent:
        return ToneReading(tone="calm", confidence=0.5)
    weights = np.array(RECENCY[: len(recent)])
    model = shared_model()
    per_turn = np.stack(
        [model.readings.get_or_build(digest([text]), partial(_turn_tone, model, text)) for text in recent]
    )
    probs = weights @ per_turn / weights.sum()
    best = int(probs.argmax())
    return ToneReading(tone=TONES[best], confidence=round(min(MAX_CONFIDENCE, float(probs[best])), 2))
