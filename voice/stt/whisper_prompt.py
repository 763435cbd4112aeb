"""The Whisper prompt for a scenario: its names and key terms, taken from the same phrases that build the
pocketsphinx phrase model (`scenario_phrases`: tool examples, handoff examples, greetings, and the names,
places and merchants of the demo data from `data_phrases`).

Whisper reads a prompt as the text that came before, so a short list of the scenario's names ("Jordan Rivera,
Priya Shah, Contoso") and words ("checking, savings, deductible") makes it spell them as the scenario does
(on espeak voices, "pretty sharp here" became "Priya Shah here"). It costs a few ms of decoder time per turn.
Its identifiers are written as spoken words, so that Whisper writes the digits it hears as words too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from voice.stt.number_words import ONES, TEENS, TENS
from voice.stt.whisper_text import spoken_numbers

_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")  # "Jordan Rivera", "Contoso Bank", "Birch Lane"
_PLACE = re.compile(r"\b(?:in|at|to|from) ([A-Z][a-z]+)\b")  # "in Bellevue", "at Safeway"
_IDENTIFIER = re.compile(r"\b[A-Z]{2}-?\d{4,}\b")  # "AU-482913": how the scenario writes its identifiers
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NOT_NAMES = frozenset(("Thank", "Welcome", "You", "Your", "The", "This", "Needs", "After"))
_MAX_NAMES = 28
_MAX_TERMS = 16
_STOPWORDS = frozenset(
    """a about after all also am an and any are as at be been before but by can could did do does for from get
    got had has have he her here his how i if in into is it its just know let like me more my need no not now of
    off on once one or other our out please she should so some than that the their them then there they this to
    too up us very want was we were what when where whether which who why will with would you your yes okay
    caller caller's call agent tool first new back help today thank thanks hello calling i'm i'd i've it's
    what's that's don't can't you're we're let's there's""".split()
)
_NUMBER_WORDS = frozenset((*ONES, *TEENS, *TENS, "hundred", "thousand"))


@lru_cache(maxsize=32)
def _prompt(phrases: tuple[str, ...]) -> str:
    names: Counter[str] = Counter()
    terms: Counter[str] = Counter()
    for phrase in phrases:
        for name in (*_NAME.findall(phrase), *_PLACE.findall(phrase), *_IDENTIFIER.findall(phrase)):
            if name.split()[0] not in _NOT_NAMES:
                names[name] += 1
        for word in _WORD.findall(phrase.lower()):
            if len(word) > 3 and word not in _STOPWORDS and word not in _NUMBER_WORDS:
                terms[word] += 1
    multi_word = {w for n in names if " " in n for w in n.split()}
    picked_names = [n for n, _ in names.most_common() if n not in multi_word][:_MAX_NAMES]
    in_names = {w.lower() for n in picked_names for w in n.split()}
    picked_terms = [t for t, _ in terms.most_common() if t not in in_names][:_MAX_TERMS]
    # Identifiers as callers say them ("A U four eight two nine one three", not "AU-482913"): Whisper writes in
    # the prompt's style, and digits written as words keep the caller's digits (no "215-5666" phone-number
    # grouping with a digit added, no "913" that reads back as "nine hundred thirteen")
    spoken = [spoken_numbers(n) for n in picked_names]
    return ", ".join(spoken + picked_terms) + "." if picked_names or picked_terms else ""


def scenario_prompt(phrases: Sequence[str]) -> str:
    """A comma-separated list of the phrases' proper names (most frequent first) and then their commonest
    content words; "" for no phrases."""
    return _prompt(tuple(phrases))
