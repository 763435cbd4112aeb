"""Stratified k-fold cross-validation of the tone reader on `tone_examples.py`: for each fold the embedding
model is fitted without that fold's examples (the first set, `tone_first_set.py`, always trains) and the full
reader (`classify_tone`: embedding, cues, valence, recency) reads the fold's snippets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from voice.guidance import tone_model
from voice.guidance.models import TONES, Tone
from voice.guidance.tone import classify_tone
from voice.guidance.tone_examples import TONE_EXAMPLES
from voice.guidance.tone_first_set import FIRST_TONE_SNIPPETS
from voice.llm.local_brain.embeddings import get_shared_encoder


@contextmanager
def model_in_use(model: tone_model.ToneModel) -> Iterator[None]:
    saved = tone_model.shared_model()
    tone_model._model = model
    try:
        yield
    finally:
        tone_model._model = saved


def folds(k: int, seed: int) -> list[int]:
    """Each example's fold, stratified by tone."""
    rng = np.random.default_rng(seed)
    out = [0] * len(TONE_EXAMPLES)
    for tone in TONES:
        ids = [i for i, (_, t, _) in enumerate(TONE_EXAMPLES) if t == tone]
        rng.shuffle(ids)
        for n, i in enumerate(ids):
            out[i] = n % k
    return out


def cross_validate(k: int = 5, seed: int = 0) -> tuple[int, Counter[tuple[Tone, Tone]], list[float]]:
    """(right, confusion counts (label, read), confidence of each right reading then each wrong one)."""
    encoder = get_shared_encoder()
    last = encoder.encode([turns[-1] for _, _, turns in TONE_EXAMPLES]).astype(np.float64)
    first = encoder.encode([text for _, text in FIRST_TONE_SNIPPETS]).astype(np.float64)
    first_labels = [TONES.index(tone) for tone, _ in FIRST_TONE_SNIPPETS]
    fold_of = folds(k, seed)
    confusion: Counter[tuple[Tone, Tone]] = Counter()
    right_conf: list[float] = []
    wrong_conf: list[float] = []
    for fold in range(k):
        train = [i for i in range(len(TONE_EXAMPLES)) if fold_of[i] != fold]
        model = tone_model.fit(
            np.concatenate([last[train], first]),
            [TONES.index(TONE_EXAMPLES[i][1]) for i in train] + first_labels,
        )
        with model_in_use(model):
            for i in (i for i in range(len(TONE_EXAMPLES)) if fold_of[i] == fold):
                _, label, turns = TONE_EXAMPLES[i]
                reading = classify_tone(turns)
                confusion[(label, reading.tone)] += 1
                (right_conf if reading.tone == label else wrong_conf).append(reading.confidence)
    return len(right_conf), confusion, right_conf + wrong_conf
