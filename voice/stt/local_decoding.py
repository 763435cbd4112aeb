"""pocketsphinx decoder primitives for the embedded recogniser: feeding audio, reading a scored result, and
the caller's cepstral mean (CMN). Stateless functions; they run on decode threads, never on the loop.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import pocketsphinx

DECODER_RATE: Final = 16000
"""The acoustic models' sample rate: every session resamples its audio to this."""

# process_raw holds the GIL: slices bound each stall of the event loop (p99 ~2 ms with a phrase model,
# ~11 ms with the general model, whose beam search is ~5x heavier).
PHRASE_SLICE_BYTES: Final = DECODER_RATE // 50 * 2  # 20 ms
GENERAL_SLICE_BYTES: Final = DECODER_RATE // 100 * 2  # 10 ms

_CMN_PRIOR_FRAMES = 500  # pocketsphinx src/feat/cmn.h: CMN_WIN (weight of the mean set with set_cmn)
_CMN_SHIFT_FRAMES = 800  # CMN_WIN_HWM: past this the live mean is re-estimated mid-turn


def quiet_config(**kwargs: object) -> dict[str, object]:
    """Decoder settings with logging off: pocketsphinx logs every utterance to stderr otherwise."""
    return {"loglevel": "FATAL", **kwargs}


@dataclass(frozen=True, slots=True)
class DecodeResult:
    text: str
    confidence: float


def feed(
    decoder: pocketsphinx.Decoder, audio: bytes | bytearray, slice_bytes: int = PHRASE_SLICE_BYTES
) -> None:
    """Decode `audio` in slices, so no single GIL-holding `process_raw` call stalls the loop for long."""
    view = memoryview(audio)
    for start in range(0, len(view), slice_bytes):
        decoder.process_raw(view[start : start + slice_bytes])


def read_result(
    decoder: pocketsphinx.Decoder, bigrams: Collection[tuple[str, str]] | None = None
) -> DecodeResult:
    """Final text and a 0..1 confidence: mean word posterior x share of words an n-gram (not a unigram
    backoff) predicted. Speech the model does not cover gets forced onto unrelated words, which both
    lowers their posteriors and breaks the phrase model's word orders.

    `bigrams` (the phrase model's word pairs, "<s>" for a sentence start): a word right after a pause is
    judged by the pair it makes with the word before the pause. pocketsphinx reports such a word as a
    unigram backoff (its history is the filler), so without this a caller's breath inside "what's my
    <sil> checking balance" halved the confidence of a right reading and handed the turn to the general
    model's guess."""
    hyp = decoder.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    if not text:
        return DecodeResult("", 0.0)
    posteriors: list[float] = []
    predicted = 0
    previous = "<s>"  # the last real word
    after_filler = False
    for segment in decoder.seg():
        word = segment.word
        if word.startswith(("<", "[")):  # <s>, </s>, <sil>, [NOISE]
            after_filler = after_filler or word not in ("<s>", "</s>")
            continue
        word = _base_word(word)
        posteriors.append(min(1.0, max(0.0, segment.prob)))
        if segment.lback >= 2 or (after_filler and bigrams is not None and (previous, word) in bigrams):
            predicted += 1
        previous, after_filler = word, False
    if not posteriors:
        return DecodeResult("", 0.0)
    return DecodeResult(text, sum(posteriors) / len(posteriors) * predicted / len(posteriors))


def _base_word(word: str) -> str:
    """A dictionary word without its pronunciation variant ("what's(2)" -> "what's")."""
    return word[: word.index("(")] if word.endswith(")") and "(" in word else word


def reset(decoder: pocketsphinx.Decoder, cmn: str) -> None:
    """Forget every trace of the decoder's previous utterance (it may have been another call's): the
    front end keeps state across utterances (~0.1 ms to reinitialise), and the cepstral mean is set."""
    decoder.reinit_feat()
    decoder.set_cmn(cmn)


def cmn_frames(decoder: pocketsphinx.Decoder) -> int:
    """Frames the live CMN has seen this utterance: one fewer than the search (measured: exact)."""
    frames: int = decoder.n_frames()
    return frames - 1


def turn_mean(prior: str, blended: str, frames: int) -> str | None:
    """The cepstral mean of the turn alone, or None when it cannot be recovered.

    pocketsphinx's live CMN weighs the mean it was given as `_CMN_PRIOR_FRAMES` frames, adds each frame of
    the turn, and `get_cmn(True)` returns the blend; once it reaches `_CMN_SHIFT_FRAMES` it re-estimates
    and decays the sums mid-turn, and the blend is then mostly the turn's anyway. Un-blending is one
    subtraction per coefficient, where another pass over the audio would move only a third of the way.
    """
    if not prior or not 0 < frames <= _CMN_SHIFT_FRAMES - _CMN_PRIOR_FRAMES:
        return None
    try:
        p = [float(x) for x in prior.split(",")]
        b = [float(x) for x in blended.split(",")]
    except ValueError:
        return None
    if len(p) != len(b):
        return None
    total = _CMN_PRIOR_FRAMES + frames
    return ",".join(
        f"{(bi * total - pi * _CMN_PRIOR_FRAMES) / frames:.4f}" for pi, bi in zip(p, b, strict=True)
    )
