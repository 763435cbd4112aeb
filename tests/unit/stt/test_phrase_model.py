"""The phrase language model: text normalisation, a vocabulary that can always say numbers and dates, and a
well-formed (normalised) trigram model that pocketsphinx loads."""

from __future__ import annotations

import math
from pathlib import Path

import pocketsphinx
import pytest

from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from voice.stt import phrase_model, pronunciation
from voice.stt.phrase_model import (
    ALWAYS_WORDS,
    SHORT_ANSWERS,
    build_phrase_model,
    phrase_key,
    readings,
    tokenize,
)
from voice.stt.phrases import scenario_phrases


@pytest.fixture(scope="module")
def snapshot() -> RegistrySnapshot:
    return load_registry()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("I lost my debit card.", "i lost my debit card"),
        (
            "Sure, it's Jordan Rivera, account ending in 4821",
            "sure it's jordan rivera account ending in four eight two one",
        ),
        ("the policy number is HO-730155", "the policy number is ho seven three zero one five five"),
        ("November 23rd", "november twenty third"),
        ("I\u2019m all set!", "i'm all set"),
        ("", ""),
    ],
)
def test_text_is_normalised_to_spoken_words(text: str, words: str) -> None:
    assert " ".join(tokenize(text)) == words


def test_numbers_also_get_their_natural_readings() -> None:
    assert [" ".join(r) for r in readings("born in 1985")] == [
        "born in one nine eight five",
        "born in nineteen eighty five",
    ]
    assert "move twelve hundred dollars" in [" ".join(r) for r in readings("move 1200 dollars")]
    assert [" ".join(r) for r in readings("code 730155")] == ["code seven three zero one five five"]


def test_scenario_phrases_collect_examples_conditions_and_greetings(snapshot: RegistrySnapshot) -> None:
    phrases = scenario_phrases(snapshot, "banking")
    assert "I lost my debit card" in phrases  # a tool example
    assert "what's my balance" in phrases
    assert any(p.startswith("The caller got a fraud alert") for p in phrases)  # a handoff condition
    assert any(p.startswith("Thank you for calling Contoso Bank") for p in phrases)  # a rendered greeting
    assert not any("{" in p for p in phrases)  # no Jinja markup left
    assert len(phrases) == len(set(phrases))
    assert scenario_phrases(snapshot, "banking") == phrases  # stable order: a stable model cache key
    with pytest.raises(KeyError):
        scenario_phrases(snapshot, "no_such_scenario")


def test_phrase_key_ignores_order_duplicates_and_punctuation() -> None:
    assert phrase_key(["I lost my card", "what's my balance"]) == phrase_key(
        ["What's my balance?", "i lost my card", "I lost my card"]
    )
    assert phrase_key(["I lost my card"]) != phrase_key(["I found my card"])


def test_vocabulary_covers_the_phrases_and_always_numbers_dates_and_short_answers(
    snapshot: RegistrySnapshot,
) -> None:
    model = build_phrase_model(scenario_phrases(snapshot, "insurance"))
    assert {"claim", "deductible", "policy", "accident"} <= model.words
    assert {"four", "eight", "nineteen", "hundred", "thousand", "oh", "twenty", "third"} <= model.words
    assert {"march", "november", "saturday", "yes", "no", "goodbye"} <= model.words
    assert not (set(ALWAYS_WORDS) | set(SHORT_ANSWERS)) - model.words
    lexicon = {line.split()[0].split("(")[0] for line in model.dictionary.splitlines()}
    assert lexicon == model.words  # every model word has a pronunciation, and nothing else is listed


def test_words_without_a_pronunciation_are_dropped_never_fatal() -> None:
    model = build_phrase_model(
        ["my name is Xqzzvy Plonk", "electromart charged me", "\u2603 \u00e9t\u00e9 !!", ""]
    )
    assert "xqzzvy" in model.dropped
    assert "xqzzvy" not in model.words
    assert "electromart" in model.words  # a compound of known words gets a pronunciation
    assert "\\2-grams:" in model.arpa


def test_empty_phrase_set_still_gives_a_model_of_numbers_and_answers() -> None:
    model = build_phrase_model([])
    assert {"yes", "no", "zero", "nine"} <= model.words
    assert not model.dropped


def _parse_arpa(text: str) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]]:
    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    order = 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1])
        elif order and line.strip() and not line.startswith("\\"):
            parts = line.split()
            gram = tuple(parts[1 : 1 + order])
            probs[gram] = 10 ** float(parts[0])
            if len(parts) > 1 + order:
                backoffs[gram] = 10 ** float(parts[1 + order])
    return probs, backoffs


def test_arpa_model_is_normalised_and_loads_in_pocketsphinx(tmp_path: Path) -> None:
    model = build_phrase_model(
        ["I lost my debit card", "I lost my wallet", "my card was stolen", "what's my balance"]
    )
    probs, backoffs = _parse_arpa(model.arpa)

    def prob(gram: tuple[str, ...]) -> float:
        if gram in probs:
            return probs[gram]
        return backoffs.get(gram[:-1], 1.0) * prob(gram[1:])

    vocab = [g[0] for g in probs if len(g) == 1 and g[0] != "<s>"]
    for history in [(), ("<s>",), ("my",), ("i", "lost"), ("lost", "my"), ("balance",), ("<s>", "i")]:
        total = sum(prob((*history, w)) for w in vocab)
        assert math.isclose(total, 1.0, abs_tol=1e-3), history
    assert prob(("i", "lost", "my")) > 0.5  # the phrases' word orders dominate

    path = tmp_path / "phrases.arpa"
    path.write_text(model.arpa)
    decoder_config = pocketsphinx.Config(lm=None, dict=None, hmm=None)
    loaded = pocketsphinx.NGramModel(decoder_config, pocketsphinx.LogMath(), str(path))
    assert loaded.size() > 0


def test_reading_only_the_needed_lexicon_entries_builds_the_same_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phrases = ("Jordan's checking at ElectroMart", "priya's overdraft", "my card was stolen in Springfield")
    model = phrase_model.build_phrase_model(phrases)
    whole = pronunciation.read_cmudict()
    monkeypatch.setattr(phrase_model, "read_cmudict", lambda words=None: whole)
    assert phrase_model.build_phrase_model(phrases) == model


def test_the_needed_entries_cover_every_lookup_of_pronounce() -> None:
    words = ["electromart", "jordan's", "priya", "yes"]
    needed = pronunciation.read_cmudict(words)
    whole = pronunciation.read_cmudict()
    for word in words:
        assert pronunciation.pronounce(word, needed) == pronunciation.pronounce(word, whole)
    assert set(needed) < set(whole)


def test_the_model_keeps_its_word_pairs_with_sentence_starts() -> None:
    model = build_phrase_model(["What's my checking balance?"])
    assert {("<s>", "what's"), ("what's", "my"), ("my", "checking"), ("checking", "balance")} <= model.bigrams
    assert ("balance", "what's") not in model.bigrams
    assert ("<s>", "balance") not in model.bigrams
