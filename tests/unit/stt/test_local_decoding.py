"""`read_result`'s confidence over a decoder's segments (a stub decoder: the arithmetic alone; the real
decoder on real speech is in test_local_stt.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from voice.stt.local_decoding import read_result


@dataclass(frozen=True)
class Segment:
    word: str
    prob: float
    lback: int


@dataclass(frozen=True)
class Hypothesis:
    hypstr: str


class StubDecoder:
    def __init__(self, segments: list[Segment]) -> None:
        self._segments = segments

    def hyp(self) -> Hypothesis | None:
        words = [s.word for s in self._segments if not s.word.startswith(("<", "["))]
        return Hypothesis(" ".join(words)) if words else None

    def seg(self) -> list[Segment]:
        return self._segments


BIGRAMS = frozenset({("<s>", "what's"), ("what's", "my"), ("my", "checking"), ("checking", "balance")})


def decoded(*items: tuple[str, int]) -> StubDecoder:
    """Segments of posterior 1.0 between <s> and </s>: (word, lback)."""
    return StubDecoder(
        [
            Segment("<s>", 1.0, 1),
            *(Segment(word, 1.0, lback) for word, lback in items),
            Segment("</s>", 1.0, 2),
        ]
    )


def test_confidence_is_the_mean_posterior_times_the_share_of_words_an_ngram_predicted() -> None:
    decoder = StubDecoder(
        [Segment("<s>", 1.0, 1), Segment("what's", 0.5, 2), Segment("my", 1.0, 3), Segment("balance", 0.9, 1)]
    )
    result = read_result(decoder, BIGRAMS)
    assert result.text == "what's my balance"
    assert result.confidence == pytest.approx((0.5 + 1.0 + 0.9) / 3 * 2 / 3)


def test_a_word_after_a_pause_is_judged_by_the_pair_it_makes_with_the_word_before_the_pause() -> None:
    # pocketsphinx reports the word after <sil> as a unigram backoff whatever came before the pause
    paused = decoded(("what's", 2), ("<sil>", 1), ("my", 1), ("checking", 2), ("[NOISE]", 1), ("balance", 1))
    assert read_result(paused, BIGRAMS).confidence == pytest.approx(1.0)
    assert read_result(paused).confidence == pytest.approx(0.5)  # without the model's pairs: as reported


def test_a_pause_does_not_lend_a_pair_the_model_never_saw() -> None:
    unseen = decoded(("what's", 2), ("<sil>", 1), ("balance", 1), ("my", 1))
    assert read_result(unseen, BIGRAMS).confidence == pytest.approx(1 / 3)


def test_a_pause_before_the_first_word_pairs_it_with_the_sentence_start() -> None:
    assert read_result(decoded(("<sil>", 1), ("what's", 1)), BIGRAMS).confidence == pytest.approx(1.0)
    assert read_result(decoded(("<sil>", 1), ("my", 1)), BIGRAMS).confidence == pytest.approx(0.0)


def test_pronunciation_variants_count_as_their_word() -> None:
    assert read_result(decoded(("what's(2)", 2), ("<sil>", 1), ("my(2)", 1)), BIGRAMS).confidence == 1.0


def test_no_words_is_an_empty_result() -> None:
    assert read_result(StubDecoder([])).text == ""
    silence = read_result(StubDecoder([Segment("<s>", 1.0, 1), Segment("<sil>", 1.0, 1)]))
    assert (silence.text, silence.confidence) == ("", 0.0)
