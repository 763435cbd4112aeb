"""A small trigram language model (ARPA text + pronunciation dictionary) built from a scenario's phrases.

pocketsphinx's general en-US model guesses among ~130k words; restricting it to the words and word orders
of the active scenario (tool examples, handoff conditions, greetings) is what makes the embedded recogniser
usable. Callers also say digits, amounts, dates and short answers that no phrase contains, so a fixed
vocabulary of those words and a few synthetic number/date sentences are always mixed in at a low weight.

Everything here is pure CPU work on plain data (no decoder): `build_phrase_model` takes a few hundred ms,
mostly reading CMUdict, and is meant to run in a worker thread. The result is immutable.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from voice.stt.number_words import (
    ONES,
    ORDINAL_ONES,
    ORDINAL_TENS,
    TEENS,
    TENS,
    cardinal,
    ordinal,
    spell_digits,
    year,
)
from voice.stt.pronunciation import pronounce, read_cmudict

_MONTHS = "january february march april may june july august september october november december".split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

# Words a caller can always say, whatever the scenario: numbers, dates and short answers.
ALWAYS_WORDS: tuple[str, ...] = (
    *ONES,
    "oh",
    *TEENS,
    *TENS[2:],
    "hundred",
    "thousand",
    "million",
    *ORDINAL_ONES[1:],
    *ORDINAL_TENS.values(),
    *_MONTHS,
    *_WEEKDAYS,
    *"today tomorrow yesterday morning afternoon evening night week month year last next".split(),
    *"wrong please thank you what wait hold on and a the of i my it's that's is".split(),
    *"dollars dollar cents point percent account card number".split(),
)
# Whole utterances on their own ("yes", "no thanks"); weighted like half a phrase each.
SHORT_ANSWERS: tuple[str, ...] = tuple(
    "yes no yeah yep nope okay ok sure right correct thanks goodbye bye hello hi sorry".split()
)

CONVERSATION_PHRASES: tuple[str, ...] = (
    # What callers say to steer any conversation, whatever the scenario (barge-ins, repairs, closings).
    "stop",
    "wait",
    "hold on",
    "stop that's enough",
    "that's enough thank you",
    "that is enough thank you",
    "can you repeat that",
    "say that again please",
    "sorry what was that",
    "go ahead",
    "never mind",
    "no that's all thanks",
    "that's all goodbye",
    # How callers frame, pause, repair and close a request on any line: the glue words around a scenario's
    # own vocabulary. Without them an n-gram model of tool examples turns "I was wondering if" into noise.
    "i was wondering if you could help me",
    "could you tell me",
    "can you tell me",
    "can you help me with",
    "i'd like to know",
    "i want to know",
    "i need to know",
    "i'm calling about",
    "i'm calling because",
    "i have a question about",
    "quick question",
    "i'm not sure",
    "i think so",
    "i don't know",
    "i don't think so",
    "let me check",
    "one second",
    "hang on a second",
    "hold on a minute",
    "let me find it",
    "let me grab my",
    "sorry about that",
    "sorry i meant",
    "no wait",
    "i mean",
    "actually",
    "that's right",
    "that's correct",
    "yes please",
    "no thank you",
    "sounds good",
    "my name is",
    "my first name is",
    "my last name is",
    "i was born on",
    "my date of birth is",
    "my birthday is",
    "it ends in",
    "the last four digits are",
    "the number is",
    "it happened on",
    "it happened yesterday",
    "last night",
    "this morning",
    "at my house",
    "at home",
    "at work",
    "in the parking lot",
    "on the street",
    "on the highway",
    "outside my apartment",
    "what happened was",
    "someone",
    "somebody",
    "something",
    "what about",
    "how much",
    "how long will it take",
    "is that covered",
    "do i have",
    "what is",
    "um",
    "uh",
    "okay so",
    "so basically",
    "right now",
    "thank you so much",
    "thanks for your help",
    "have a good day",
    "is anyone there",
    "are you there",
    "could you say that again",
    "what can you do",
    "what can you help me with",
    "can i talk to a person",
)

# Weights against 1.0 for each scenario phrase: each synthetic number/date sentence counts 0.05 (enough to
# make them reachable, not enough to crowd the phrases), each short answer as a whole utterance 0.5.
_SYNTHETIC_WEIGHT = 0.05
_SHORT_ANSWER_WEIGHT = 0.5
_UNIGRAM_FLOOR = 0.1  # pseudo-count every vocabulary word gets, so none is unreachable


@dataclass(frozen=True, slots=True)
class PhraseModel:
    """What a decoder needs for one phrase set; immutable and safe to share between threads."""

    key: str
    """Hash of the normalised phrase set: equal phrase sets (in any order) share one model."""
    arpa: str
    """The trigram language model in ARPA text format."""
    dictionary: str
    """CMUdict-format pronunciations for exactly the model's words (`word PH ON ES`, `word(2) ...`)."""
    words: frozenset[str]
    bigrams: frozenset[tuple[str, str]] = frozenset()
    """The word pairs the model was built from ("<s>" before a sentence's first word), for `read_result`."""
    dropped: tuple[str, ...] = ()
    """Phrase words with no known pronunciation, left out of the model."""


# ---------------------------------------------------------------------------------------------------------
# Text normalisation


_ORDINAL_RE = re.compile(r"^(\d+)(st|nd|rd|th)$")
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)*")


def _number_readings(token: str) -> list[list[str]]:
    """Ways a caller reads a digit token; the first is the digit-by-digit reading (codes, card endings)."""
    if m := _ORDINAL_RE.match(token):
        n = int(m.group(1))
        return [ordinal(n)] if 0 < n < 100 else [spell_digits(m.group(1))]
    if "." in token:
        whole, frac = token.split(".")
        return [[*spell_digits(whole), "point", *spell_digits(frac)]]
    n = int(token)
    if len(token) == 4 and 1900 <= n <= 2099:
        return [spell_digits(token), year(n)]
    if 1 < len(token) <= 4 and not token.startswith("0"):  # amounts; longer numbers are ids: digits only
        if n > 1000 and n % 100 == 0 and n % 1000:  # 1200 -> twelve hundred, as people say it
            return [spell_digits(token), cardinal(n), [*cardinal(n // 100), "hundred"]]
        return [spell_digits(token), cardinal(n)]
    return [spell_digits(token), ["oh"]] if token == "0" else [spell_digits(token)]


def _clean(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,200 -> 1200
    text = re.sub(r"\$\s*(\d+(?:\.\d+)?)", r"\1 dollars", text)
    return text.replace("&", " and ").replace("%", " percent ")


def tokenize(text: str) -> list[str]:
    """Normalised spoken words of `text`, numbers read digit by digit: "It's 4821!" -> it's four eight two one."""
    words: list[str] = []
    for token in _TOKEN_RE.findall(_clean(text)):
        words.extend(_number_readings(token)[0] if token[0].isdigit() else [token])
    return words


def readings(text: str) -> list[list[str]]:
    """Every word sequence a caller may say for `text`: digit-by-digit, and natural readings of numbers.

    "move 1200 dollars" -> [move one two zero zero dollars], [move one thousand two hundred dollars].
    """
    variants: list[list[str]] = [[]]
    for token in _TOKEN_RE.findall(_clean(text)):
        options = _number_readings(token) if token[0].isdigit() else [[token]]
        if len(variants) * len(options) > 8:  # many numbers in one phrase: keep the first reading only
            options = options[:1]
        variants = [v + o for v in variants for o in options]
    return [v for v in variants if v]


def phrase_key(phrases: Iterable[str]) -> str:
    """Order- and duplicate-insensitive hash of a phrase set, over what the model is built from."""
    norm = sorted({"|".join(" ".join(r) for r in readings(p)) for p in phrases} - {""})
    return hashlib.sha256("\n".join(norm).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------
# The n-gram model


def _synthetic_sentences() -> list[list[str]]:
    """Number and date patterns the phrases rarely cover: digit strings, 1..99, hundreds, years, dates.

    Every digit triple is listed (1331 short sentences) so any account or card number is a chain of
    trigrams: on spoken digit strings this took WER from 36% to 4% (and cost 0.7 points elsewhere).
    """
    digits = [*ONES, "oh"]
    sentences = [[a, b, c] for a in digits for b in digits for c in digits]
    sentences += [cardinal(n) for n in range(1, 100)]
    sentences += [[*cardinal(n), "hundred"] for n in range(1, 10)]
    sentences += [[*cardinal(n), "thousand"] for n in range(1, 10)]
    sentences += [[*cardinal(n), "dollars"] for n in (*range(1, 21), *range(30, 100, 10), 100, 1000)]
    sentences += [year(y) for y in range(1930, 2031)]
    sentences += [[m, *ordinal(d)] for m in _MONTHS for d in range(1, 32)]
    sentences += [["the", *ordinal(d), "of", m] for m in _MONTHS for d in (1, 2, 3, 10, 15, 21, 30)]
    return sentences


def _segments(words: Sequence[str], vocab: Mapping[str, object]) -> list[list[str]]:
    """Split a sentence where a word has no pronunciation, so no n-gram spans the gap."""
    segments: list[list[str]] = [[]]
    for w in words:
        if w in vocab:
            segments[-1].append(w)
        elif segments[-1]:
            segments.append([])
    return [s for s in segments if s]


class _Counts:
    def __init__(self) -> None:
        self.grams: list[dict[tuple[str, ...], float]] = [defaultdict(float) for _ in range(3)]

    def add(self, words: Sequence[str], weight: float, *, starts: bool, ends: bool) -> None:
        seq = (["<s>"] if starts else []) + list(words) + (["</s>"] if ends else [])
        for order in range(1, 4):
            for i in range(len(seq) - order + 1):
                gram = tuple(seq[i : i + order])
                if gram[-1] != "<s>":  # <s> is only ever a history
                    self.grams[order - 1][gram] += weight


def _witten_bell(counts: _Counts, vocab: Iterable[str]) -> str:
    """ARPA text of an interpolated Witten-Bell trigram model, written in backoff form.

    For a history h with total count c(h) and T(h) distinct followers, P(w|h) = (c(h,w) + T(h) P(w|h')) /
    (c(h) + T(h)); the interpolated probability is stored for seen n-grams and the backoff weight of h is
    exactly T(h) / (c(h) + T(h)). Witten-Bell works with fractional (weighted) counts, unlike Kneser-Ney.
    """
    uni = dict(counts.grams[0])
    for w in vocab:
        uni[(w,)] = uni.get((w,), 0.0) + _UNIGRAM_FLOOR
    uni[("</s>",)] = uni.get(("</s>",), 0.0) + _UNIGRAM_FLOOR
    total = sum(uni.values())
    probs: list[dict[tuple[str, ...], float]] = [{g: c / total for g, c in uni.items()}, {}, {}]

    # Per-history totals and distinct-follower counts, for orders 2 and 3.
    backoff: list[dict[tuple[str, ...], float]] = [{}, {}, {}]
    for order in (2, 3):
        hist_total: dict[tuple[str, ...], float] = defaultdict(float)
        hist_types: dict[tuple[str, ...], int] = defaultdict(int)
        for gram, c in counts.grams[order - 1].items():
            hist_total[gram[:-1]] += c
            hist_types[gram[:-1]] += 1
        for gram, c in counts.grams[order - 1].items():
            h = gram[:-1]
            lam = hist_types[h] / (hist_total[h] + hist_types[h])
            lower = _prob(probs, backoff, gram[1:])
            probs[order - 1][gram] = c / (hist_total[h] + hist_types[h]) + lam * lower
        for h in hist_total:
            backoff[order - 2][h] = hist_types[h] / (hist_total[h] + hist_types[h])

    lines = ["\\data\\"]
    unigrams = sorted({*(g for g in probs[0]), ("<s>",)})
    sizes = [len(unigrams), len(probs[1]), len(probs[2])]
    lines += [f"ngram {i + 1}={n}" for i, n in enumerate(sizes)]
    for order in (1, 2, 3):
        lines += ["", f"\\{order}-grams:"]
        grams = unigrams if order == 1 else sorted(probs[order - 1])
        for gram in grams:
            logp = -99.0 if gram == ("<s>",) else math.log10(probs[order - 1][gram])
            line = f"{logp:.4f} {' '.join(gram)}"
            if order < 3 and gram in backoff[order - 1]:
                line += f" {math.log10(backoff[order - 1][gram]):.4f}"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _prob(
    probs: list[dict[tuple[str, ...], float]],
    backoff: list[dict[tuple[str, ...], float]],
    gram: tuple[str, ...],
) -> float:
    """Backoff probability of `gram` under the (lower orders of the) model built so far."""
    if gram in probs[len(gram) - 1]:
        return probs[len(gram) - 1][gram]
    return backoff[len(gram) - 2].get(gram[:-1], 1.0) * _prob(probs, backoff, gram[1:])


def build_phrase_model(phrases: Sequence[str]) -> PhraseModel:
    """Build the phrase language model and its dictionary. Blocking CPU work (~0.1-0.5 s): run in a thread.

    Never fails on odd input: words without a pronunciation are dropped (and listed in `dropped`), and an
    empty phrase set still yields a model over the always-available words.
    """
    sentences: list[tuple[list[str], float]] = []
    for phrase in (*phrases, *CONVERSATION_PHRASES):
        variants = readings(phrase)
        sentences += [(v, 1.0 / len(variants)) for v in variants]

    vocabulary = {w for s, _ in sentences for w in s} | set(ALWAYS_WORDS) | set(SHORT_ANSWERS)
    lexicon = read_cmudict(vocabulary)  # only the entries these words may need
    prons: dict[str, tuple[str, ...]] = {}
    dropped: set[str] = set()
    for word in vocabulary:
        if p := pronounce(word, lexicon):
            prons[word] = p
        else:
            dropped.add(word)

    counts = _Counts()
    for words, weight in sentences:
        segments = _segments(words, prons)
        for i, seg in enumerate(segments):
            counts.add(seg, weight, starts=i == 0, ends=i == len(segments) - 1)
    for words in _synthetic_sentences():
        counts.add([w for w in words if w in prons], _SYNTHETIC_WEIGHT, starts=True, ends=True)
    for word in SHORT_ANSWERS:
        if word in prons:
            counts.add([word], _SHORT_ANSWER_WEIGHT, starts=True, ends=True)

    dictionary = "".join(
        f"{w if i == 0 else f'{w}({i + 1})'} {p}\n" for w in sorted(prons) for i, p in enumerate(prons[w])
    )
    return PhraseModel(
        key=phrase_key(phrases),
        arpa=_witten_bell(counts, prons),
        dictionary=dictionary,
        words=frozenset(prons),
        bigrams=frozenset((gram[0], gram[1]) for gram in counts.grams[1]),
        dropped=tuple(sorted(dropped)),
    )
