"""Names, places and merchants out of what the caller said: "my name is jordan rivera", "on main street in
bellevue", "charged twice at bella pizza". Unprompted, each needs its cue; when it was just asked for, the
answer's own words are taken."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import takewhile

from voice.llm.local_brain.quantities import MONEY_WORDS
from voice.llm.local_brain.spoken import (
    MONTHS,
    NUMBER_WORDS,
    ORDINALS,
    UNITS,
    digit_runs,
    normalize,
    tokens,
    without_spelling,
)

_SENTENCE_END = re.compile(r"[.?!]\s+")
_IDENTITY_AFTER = re.compile(
    r"^\W*(?:here|calling)\b|\b(?:born|birthday|birth|dob|account|ending|ends|last four|last 4)\b|\d|"
    r"^\W*(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"[^.!?]*\b(?:nineteen|twenty|two thousand)\b"  # "priya shah, july second, nineteen ninety": a birth date
)
_ASKED_BEFORE = re.compile(
    r"\b(?:can|could|may|would) (?:i|you)\b|\bi(?:'d| would) like\b|\bi (?:want|need)\b|\bcalling (?:to|about|for)\b|"
    r"\bplease\W*$|\?\W*$"
)
"""A request of the caller's own before a sentence that is only a name: that sentence says who is asking. A
request can be a bare "balance on checking, please." or a question ("what's in savings?")."""
_PLACE_WORD = re.compile(r"\b(?:downtown|uptown|street|avenue|road|lane|drive|boulevard|city|county|park)\b")
_CHARGE_TALK = re.compile(
    r"\b(?:charge[ds]?|dispute|bought|paid|purchase|billed|transaction|merchant|store)\b"
)
_NAME_CUES = re.compile(
    r"\b(?:my name is|my name's|name is|name's|this is|i am|i'm|it's|it is|call me|speaking is|you're speaking with),?\s+"
)
_NOT_NAMES = set(
    """a about account after again all also am an and any are as at back bank be because been before being birth
    birthday born but by calling can card checking could date day did do does dollars done ending ends
    for from fine get go good got had has have hello hi how i i'm in is it it's just last like live looking me
    my need no not now of ok okay on one or our phone please really right savings she so social sorry still
    sure thank thanks that the their them then there they this to trying um uh up verify want was we well
    were what when where who why will with would yeah yes you your here someone somebody anyone nobody everyone
    something oh er ah hmm hold hang wait bye goodbye minute second moment what's where's how's that's there's
    here's let's balance claim policy money transfer charge charges status deductible coverage covered
    repeat again help much many tell know said say talk speak person human agent maybe perhaps probably
    instead actually use try""".split()
    # Words that announce a new topic ("separate thing, ...", "another question: ..."), never a name.
    + """thing things question questions issue issues matter topic separate another other unrelated different
    quick""".split()
    # Where and when a caller is going ("I'm flying out thursday", "I'm heading home"), never a surname.
    + """out off away home tomorrow today tonight yesterday soon later town abroad overseas""".split()
)


_DOINGS = frozenset(
    """took take takes taken hit hits charged charges billed bills debited withdrew pulled keeps kept went came
    sent stole stolen lost broke broken tried wants needs said says called told made did put gave paid ordered
    bought cancelled canceled never always twice""".split()
)
"""Verbs (and their adverbs) that follow a business or a thing, not a person introducing themselves: "bella
pizza took my money twice" names no caller."""

_NAME_FOLLOWERS = frozenset(
    {
        ",",
        ".",
        "born",
        "and",
        "account",
        "date",
        "dob",
        "birthday",
        "last",
        "my",
        "the",
        "ending",
        "calling",
        "here",
    }
)


def _name_word(tok: str) -> bool:
    return (
        (tok.isalpha() or re.fullmatch(r"[a-z]+(?:['-][a-z]+)+", tok) is not None)
        and tok not in _NOT_NAMES
        and tok not in _DOINGS
        and tok not in NUMBER_WORDS
        and tok not in MONTHS
        and tok not in ORDINALS
    )


def _title(words: Sequence[str]) -> str:
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in words).replace(
        "O'b", "O'B"
    )


_IDENTITY_CUES = frozenset({"born", "dob", "birthday"})
_IDENTITY_PAIRS = frozenset(
    {("date", "of"), ("last", "four"), ("last", "4"), ("account", "ending"), ("account", "ends"),
     ("account", "number"), ("ending", "in"), ("ends", "in")}
)  # fmt: skip
_BOUNDARY = frozenset({",", ".", "?", "!", ";", ":"})
_BETWEEN_NAME_AND_ID = frozenset(
    {"account", "number", "ending", "ends", "in", "card", "checking", "savings", "and"}
)
_DETERMINERS = frozenset(
    {"my", "your", "the", "a", "an", "his", "her", "our", "their", "this", "that", "some"}
)


_SAYS_WHO = re.compile(
    r"\b(?:born|birthday|birth|dob|last four|last 4|ending|ends|account|my name|name is|this is|i'm|i am|here)\b"
)


def listed_charge(text: str) -> str | None:
    """The words heading a charge read off a statement ("harbor books, thirty-eight sixty, but it was only
    twenty bucks"): name-like words, then at once an amount, in an utterance that talks money and says nothing
    of who is calling. A merchant, not the caller's name."""
    norm = normalize(text)
    if _SAYS_WHO.search(norm) or not (
        _CHARGE_TALK.search(norm) or any(t in MONEY_WORDS or t in {"cents", "charge"} for t in tokens(norm))
    ):
        return None
    if _MERCHANT_RE.search(norm):
        return None  # "at bella pizza" names it
    for sentence in _SENTENCE_END.split(norm):  # "I got charged twice. Bella Pizza, forty-two fifty."
        toks = tokens(sentence)
        while toks and toks[0] in {"okay", "ok", "so", "um", "uh", "well", "yeah", "and", "it's", ","}:
            toks = toks[1:]
        words = list(takewhile(_name_word, toks))[:4]
        rest = toks[len(words) :]
        if rest[:1] == [","]:
            rest = rest[1:]
        if not words or not rest or not (rest[0] in NUMBER_WORDS or rest[0].lstrip("$")[:1].isdigit()):
            continue
        if all(t in UNITS or t == "oh" for t in rest[:4]):
            continue  # "one one seven seven" is read digit by digit (an account)
        return " ".join(w[:1].upper() + w[1:] for w in words)
    return None


def _name_before_identity(toks: Sequence[str], min_words: int) -> str | None:
    """A name said in passing, right before what identifies the caller: "... my checking balance. Jordan
    Rivera, four eight two one" or, as recognised speech has it, "... balance jordan rivera born march ...".
    The words before it must not run on into it (a name-like word there means this is not a name)."""
    long_runs = {run.start for run in digit_runs(toks) if len(run.digits) >= 4}
    for i, tok in enumerate(toks):
        pair = (tok, toks[i + 1] if i + 1 < len(toks) else "")
        if i not in long_runs and tok not in _IDENTITY_CUES and pair not in _IDENTITY_PAIRS:
            continue
        end = i
        while end > 0 and (
            toks[end - 1] in _BOUNDARY or (i - end < 4 and toks[end - 1] in _BETWEEN_NAME_AND_ID)
        ):
            end -= 1  # "jordan rivera, account 4821", "marcus chen. born ..."
        start = end
        while start > 0 and end - start < 3 and _name_word(toks[start - 1]):
            start -= 1
        before = toks[start - 1] if start > 0 else None
        after = toks[i + 1 : i + 3] if i in long_runs else []
        if (
            end - start >= min_words
            and (before is None or before in _BOUNDARY or before in _NOT_NAMES)
            and before not in _DETERMINERS  # "my receipt says eighteen sixty": a noun phrase, not a name
            and not any(t in MONEY_WORDS or t in {"each", "cents"} for t in after)
        ):
            return _title(toks[start:end])
    return None


_LEADING_ACKS = frozenset(
    {
        *"""is the it oh er sure yes yeah hi hello hey um uh okay ok so sorry well right alright and""".split(),
        ",",
        ".",
    }
)
"""Acknowledgements that open an answer ("sure.", "yes,"): not part of the name."""


_PUTS_RIGHT = frozenset({"no", "sorry", "wait", "actually", "i", "mean", "meant", "oops"})


def _name_put_right(words: list[str], after: list[str]) -> list[str]:
    """The last name corrected as soon as it was said: "priya sha, no, shah", "marcus chan, sorry, chen",
    "jordan rivers... rivera, sorry": the word said instead, when it starts like the one it replaces."""
    said = [t for t in after[:8] if t.isalpha()]
    k = 0
    while k < len(said) and said[k] in _PUTS_RIGHT:
        k += 1
    if k == len(said) or not _name_word(said[k]) or said[k][0] != words[-1][0] or said[k] == words[-1]:
        return words
    followed_by_cue = k + 1 < len(said) and said[k + 1] in _PUTS_RIGHT
    if k == 0 and not followed_by_cue:
        return words  # "jordan rivera ridge road": no word that takes the first one back
    return [*words[:-1], said[k]]


def parse_name(text: str, *, asked: bool = False, min_words: int = 2, in_passing: bool = True) -> str | None:
    """A person's name: after "my name is / this is / it's", at the very start ("Marcus Chen, born ..."), or the
    whole answer when `asked`. Title-cased; None unless it has `min_words` name-like words."""
    norm = without_spelling(normalize(text))  # "priya, p r i y a, shah": the name, not more words
    if not asked and listed_charge(norm) is not None:
        return None  # "bella pizza, forty-two fifty, charged twice": the merchant and the amount
    starts: list[int] = [m.end() for m in _NAME_CUES.finditer(norm)]
    # The utterance's start, and each later sentence's ("okay, sorry about that. priya shah, born ...").
    openings = [0, *(m.end() for m in _SENTENCE_END.finditer(norm))]
    starts += [o for o in openings if o not in starts]
    for start in starts:
        toks = tokens(norm[start:])
        opening = start in openings
        if opening:
            # Leading acknowledgements ("sure.", "yes,") are not part of the name.
            while toks and toks[0] in _LEADING_ACKS:
                toks = toks[1:]
        words: list[str] = []
        for tok in toks:
            if not _name_word(tok):
                break
            words.append(tok)
            if len(words) == 3:
                break
        if len(words) == 1 and toks[1:3] == [",", words[0]]:  # "it's marcus, marcus chen": said again in full
            toks = toks[2:]
            words = list(takewhile(_name_word, toks))[:3]
        if opening and not asked and len(toks) > len(words):
            follower = toks[len(words)]
            # Recognised speech has no commas: "jordan rivera four eight two one" is a name and then digits.
            if follower in _DOINGS or not (
                follower in _NAME_FOLLOWERS
                or follower in NUMBER_WORDS
                or follower.isdigit()
                or follower in _NOT_NAMES  # "marcus chen checking account ...": the name ends there
            ):
                continue
        greeted = all(
            t in _LEADING_ACKS or not t.isalpha() for t in tokens(norm[:start])
        )  # "hello? yes hi, ..."
        later = (
            opening and start > 0 and not asked and not greeted
        )  # a later sentence's start names the caller only with...
        alone = (  # "can I get my checking balance? Priya Shah.": the request, then who asks, on its own
            len(words) >= 2
            and all(t in _BOUNDARY for t in toks[len(words) :])
            and _ASKED_BEFORE.search(norm[:start]) is not None
            and not _PLACE_WORD.search(" ".join(words))
            and not _CHARGE_TALK.search(
                norm[:start]
            )  # "I want to dispute a charge. Bella Pizza.": a merchant
        )
        if later and not _IDENTITY_AFTER.search(" ".join(toks[len(words) :])) and not alone:
            continue  # ...who they are after it ("priya shah, born ..."), not "it was stolen. downtown seattle."
        if len(words) >= min_words:
            return _title(_name_put_right(words, toks[len(words) :]))
    if in_passing and (passing := _name_before_identity(tokens(norm), min_words)) is not None:
        return passing
    if asked:
        words_said = [t for t in tokens(norm) if t.isalpha()]
        toks = [t for t in words_said if _name_word(t)]
        # The answer is a name when it is mostly name words: "no I never been to Las Vegas" is not one.
        if min_words <= len(toks) <= 3 and len(toks) * 5 >= len(words_said) * 3:
            return _title(toks)
    return None


_PLACE_WORDS = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|highway|hwy|freeway|parkway|pkwy|court|"
    r"place|plaza|square|interstate|route|intersection|parking lot|parking garage|garage|mall|station|airport|"
    r"bridge|exit|driveway"
)
_PLACE_RE = re.compile(
    r"(?:\b(?:on|at|in|near|by|off|outside|from|onto)\s+|,\s*|^)"
    r"((?:the\s+)?(?:corner of\s+)?(?:[\w'-]+\s+){0,3}?(?:"
    + _PLACE_WORDS
    + r")\b(?:\s+(?:"
    + _PLACE_WORDS
    + r")\b)*"
    r"(?:\s+(?:and|&)\s+(?:[\w'-]+\s+){0,2}?(?:" + _PLACE_WORDS + r")\b)?"
    r"(?:\s+in\s+(?!my\b|the\b|a\b)[a-z]+)?)"
)
_SMALL_WORDS = {"in", "on", "at", "and", "of", "the", "near", "by", "a", "off"}
_CORNER_RE = re.compile(
    r"\b((?:the\s+)?corner of\s+[\w'-]+(?:\s+[\w'-]+)?\s+(?:and|&)\s+[\w'-]+"
    r"(?:,?\s+(?:in\s+|downtown\s+)?(?!my\b|the\b|a\b|yesterday|today|this\b|last\b)[a-z]+(?:\s+[a-z]+)?)?)"
)
"""An intersection without a street word: "at the corner of fourth and pine, downtown seattle"."""
_NUMBERED_STREET = r"(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)"
_NOT_FUNCTION = r"(?!(?:i|we|he|she|they|it|you|then|the|a|an|my|our|that|this|so|now|there|home|work|least|last|once|all)\b)"
_CROSSING_RE = re.compile(
    rf"\bat ((?:{_NUMBERED_STREET} and {_NOT_FUNCTION}[a-z][\w'-]*|{_NOT_FUNCTION}[a-z][\w'-]* and {_NUMBERED_STREET})"
    r"(?:,?\s+(?:in\s+|downtown\s+)(?!my\b|the\b|a\b|yesterday|today|this\b|last\b)[a-z]+(?:\s+[a-z]+)?)?)"
)
"""A crossing of a numbered street without a street word: "at 3rd and pine in seattle", "at main and fifth"."""


def parse_place(text: str, *, asked: bool = False) -> str | None:
    """Where something happened: "on main street in bellevue" -> "Main Street in Bellevue". Unprompted, only a
    street, intersection or landmark ("the mall parking lot"); when `asked`, the whole answer."""
    norm = normalize(text)
    match = _PLACE_RE.search(norm)
    if match:
        return _place_case(match.group(1))
    if (corner := _CORNER_RE.search(norm)) is not None:
        return _place_case(corner.group(1))
    if (crossing := _CROSSING_RE.search(norm)) is not None:
        return _place_case(crossing.group(1))
    if asked:
        cleaned = re.sub(
            r"^(?:(?:um|uh|well|so|okay|ok|it|that|this|happened|was|it was|it happened|that was)\b[\s,]*)+",
            "",
            norm,
        )
        cleaned = re.sub(r"^(?:on|at|in|near|by)\s+", "", cleaned).strip(" .,!?")
        return _place_case(cleaned) if cleaned else None
    return None


def _place_case(text: str) -> str:
    words = text.strip(" .,").split()
    return " ".join(w if (w in _SMALL_WORDS and k) else w[:1].upper() + w[1:] for k, w in enumerate(words))


_MERCHANT_RE = re.compile(
    r"\b(?:at|from)\s+(?:the\s+)?([a-z][\w'&-]*(?:\s+[a-z][\w'&-]*){0,3}?)"
    r"(?=\s+(?:for|that|which|and|but|on|was|is|were|charged|last|yesterday|today|twice|again|in|because|"
    r"a|an|the|it|they)\b|\s*[,.?!]|\s*$)"
)
_CHARGING = frozenset(
    {
        "charged",
        "billed",
        "overcharged",
        "double-charged",
        "debited",
        "took",
        "hit",
        "charges",
        "bills",
        "keeps",
    }
)
_SUBSCRIPTION_RE = re.compile(
    r"\b(?:my|the|that|a|an)\s+([a-z][\w'&-]*(?:\s+[a-z][\w'&-]*)?)\s+"
    r"(?:subscription|membership|order|purchase|account|plan)s?\b"
)
"""A merchant named by what the caller had with it: "my streamly subscription", "that harbor books order"."""
_KINDS_OF_THING = frozenset(
    """monthly annual yearly weekly online credit debit phone internet cable streaming car home auto insurance
    mortgage loan rent utility electric water gas last first old new recent other same whole""".split()
)
_ADVERBS = frozenset({"also", "just", "then", "again", "apparently", "still", "have", "has"})
_GENERIC_SELLERS = frozenset(
    """restaurant store shop merchant company place website site app seller vendor business they it someone
    somebody guy gym station pharmacy""".split()
)
_NOT_MERCHANTS = {
    "me",
    "us",
    "them",
    "him",
    "her",
    "you",
    "my",
    "your",
    "our",
    "checking",
    "savings",
    "account",
    "home",
    "work",
    "least",
    "all",
    "first",
}


def parse_merchant(text: str, *, asked: bool = False) -> str | None:
    """The merchant in "charged twice at bella pizza" -> "Bella Pizza"; when `asked`, the answer's words."""
    for match in _MERCHANT_RE.finditer(normalize(text)):
        words = match.group(1).split()
        if words[0] in _NOT_MERCHANTS or any(w in NUMBER_WORDS for w in words):
            continue
        return " ".join(w[:1].upper() + w[1:] for w in words)
    if (listed := listed_charge(text)) is not None:
        return listed
    # The merchant as the subject of the charge: "bella pizza charged me twice", "harbor books billed me".
    toks = tokens(text)
    for i, tok in enumerate(toks):
        if tok in _CHARGING and i > 0:
            end = i
            while end > 1 and toks[end - 1] in _ADVERBS:
                end -= 1  # "bella pizza also charged me"
            start = end
            while (
                start > 0
                and end - start < 3
                and _name_word(toks[start - 1])
                and toks[start - 1] not in _NOT_MERCHANTS
            ):
                start -= 1
            if (
                start < end
                and (start == 0 or not _name_word(toks[start - 1]))
                and toks[end - 1] not in _GENERIC_SELLERS
            ):
                return " ".join(w[:1].upper() + w[1:] for w in toks[start:end])
    for match in _SUBSCRIPTION_RE.finditer(normalize(text)):
        words = [
            w for w in match.group(1).split() if _name_word(w) and w not in _GENERIC_SELLERS | _KINDS_OF_THING
        ]
        if (
            words
            and len(words) == len(match.group(1).split())
            and not any(w in _NOT_MERCHANTS for w in words)
        ):
            return " ".join(w[:1].upper() + w[1:] for w in words)
    if asked:
        words = [t for t in toks if _name_word(t) and t not in _NOT_MERCHANTS and t not in MONEY_WORDS]
        if 1 <= len(words) <= 4:
            return " ".join(w[:1].upper() + w[1:] for w in words)
    return None
