"""Enum parameters: which of a parameter's values the caller named, by the value itself or by the everyday
words for it (`ENUM_SYNONYMS`), and the source and target of a transfer ("from savings to checking")."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from voice.llm.local_brain.spoken import normalize

_HARM_TO_OTHERS: tuple[str, ...] = (
    "bite", "bitten", "bit someone", "bit the", "nipped", "tripped", "slipped", "stitches", "sued", "suing", "sue me", "lawsuit", "lawyer",
    "knocked over", "knocked her", "knocked his", "knocked their", "broke her", "broke his", "broke their", "her tv",
    "his tv", "their tv", "a guest", "guests", "guest fell", "guest got", "guest was", "visitor", "mail carrier", "delivery driver", "injure someone", "damage to others",
    "trip", "trips", "slip", "slips", "somebody gets hurt", "someone gets hurt", "somebody got hurt",
    "someone got hurt",
)  # fmt: skip
_HARM_TO_OTHERS += tuple(
    f"{verb} {whose}"
    for verb in ("damage", "damaged", "flood", "flooded", "ruin", "ruined", "wreck", "wrecked")
    for whose in ("the neighbor's", "my neighbor's", "the neighbour's", "my neighbour's", "someone else's",
                  "somebody else's")
)  # fmt: skip
"""Harm the caller did to someone else or their things (a liability matter): "if I damaged the neighbour's
flat", "flooded someone else's car". A guest, not the "guest room" a branch came through."""
_NOT_INSURED = tuple(
    f"{negation} {verb} {any_}insurance"
    for negation in ("doesn't", "didn't", "does not", "did not", "don't", "never")
    for verb in ("have", "had", "carry", "carried")
    for any_ in ("", "any ")
)
"""The other driver "doesn't have any insurance", "didn't carry insurance": uninsured, in so many words."""

ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    # Order matters inside one enum: the first value with a match wins ("my car was stolen" is a theft,
    # "I lost my wallet, I think it was stolen" a stolen card).
    "deposits": ("deposit", "deposits", "deposited", "paycheck", "pay check", "payroll", "salary", "direct deposit",
                 "got paid", "came in", "went in", "money in", "wages", "gone in", "gone into", "paid in",
                 "paid into", "interest"),
    "charges": ("charges", "purchases", "payments", "spent", "spending", "bought"),
    "checking": ("checking", "chequing", "check account", "current account", "everyday account"),
    "savings": ("savings", "saving", "savings account", "put away", "set aside", "tucked away", "nest egg",
                "saved up"),
    "credit": ("credit card", "credit"),
    "stolen": ("stolen", "stole", "steal", "robbed", "pickpocketed", "pickpocket", "thief", "taken", "took",
               "grabbed", "snatched", "swiped my", "mugged", "broke into my car", "someone has my card", "lifted",
               "nicked", "pinched"),
    "lost": ("lost", "lose", "can't find", "cannot find", "misplaced", "missing", "left it", "dropped",
             "left my", "it's gone", "just gone", "disappeared", "went missing", "no longer have", "fell out"),
    "damaged": ("damaged", "broken", "broke", "cracked", "bent", "snapped", "won't work", "doesn't work",
                "stopped working", "not working", "chip", "demagnetized", "worn", "chewed", "melted", "split",
                "peeling", "scratched", "ripped", "torn", "cut in half", "in half", "in two pieces"),
    "duplicate": ("twice", "two times", "double charged", "charged me double", "duplicate", "double",
                  "same charge", "charged two"),
    "wrong_amount": ("wrong amount", "overcharged", "too much", "more than", "incorrect amount", "wrong price",
                     "wrong", "incorrect", "receipt says", "receipt said", "should have been", "supposed to be",
                     "instead of", "rang up", "extra", "on sale", "sale price", "advertised", "price tag",
                     "tag said", "quoted", "was supposed to", "was only", "is only", "only cost", "only costs"),
    "not_received": ("never got", "never received", "didn't receive", "did not receive", "didn't get",
                     "never arrived", "never came", "not delivered", "never delivered", "didn't arrive",
                     "never showed", "didn't show up", "hasn't arrived", "haven't received", "wasn't delivered",
                     "still waiting for", "never shipped", "didn't ship", "lost in the mail", "no delivery"),
    "cancelled": ("cancelled", "canceled", "cancel", "unsubscribed", "subscription"),
    "not_recognized": ("don't recognize", "do not recognize", "didn't make", "not mine", "never made",
                       "never been to", "wasn't me", "didn't buy", "never bought", "didn't authorize",
                       "unauthorized", "no idea what", "never shopped"),
    # Harm the caller did to someone else or their things: first, whatever else the story names (a friend's
    # apartment is no home claim of the caller's); filed as "other", asked about as liability coverage.
    "other": _HARM_TO_OTHERS,

    "theft": ("stolen", "stole", "theft", "broke into", "broken into", "break in", "break-in", "burglary",
              "burglar", "burglarized", "robbed", "robbery", "took my", "taken", "grabbed", "snatched",
              "swiped", "pickpocketed", "mugged", "walked off with", "ran off with", "made off with", "nicked",
              "pinched"),
    "water": ("water", "pipe", "leak", "leaked", "leaking", "flood", "flooded", "flooding", "burst",
              "overflow", "overflowed", "sewer", "dripping", "soaked", "soaking", "puddle", "plumbing",
              "water heater", "dishwasher", "washing machine", "toilet", "backed up", "backs up", "back up",
              "drain"),
    "auto": ("car", "vehicle", "truck", "suv", "van", "motorcycle", "accident", "crash", "crashed", "collision",
             "rear-ended", "rear ended", "fender bender", "hit me", "hit my", "driving", "drove", "slid", "skid",
             "skidded", "spun out", "guardrail", "guard rail", "hit a", "ran into", "backed into", "sideswiped",
             "dent", "dented", "bumper", "fender", "windshield", "highway", "freeway", "intersection",
             "parking lot", "pulled out", "ran a red", "ran the red", "tailgat", "swerved", "windscreen",
             "motorway", "car park", "side mirror", "mirror", "parked", "hubcap", "headlight", "tail light",
             "taillight", "keyed"),
    "home": ("house", "home", "roof", "tree fell", "fire", "smoke", "storm", "hail", "window", "apartment",
             "ceiling", "wall", "kitchen", "basement", "garage"),
    "water_backup": ("water backup", "backing up", "backed up", "backs up", "back up", "sump pump", "drain"),
    "flood": ("flood", "flooding", "flooded"),
    "uninsured_motorist": ("uninsured", "no insurance", "without insurance", "hit and run", "underinsured",
                           "not insured", "wasn't insured", "isn't insured", *_NOT_INSURED),
    "personal_property": ("personal property", "belongings", "my stuff", "possessions", "contents", "laptop",
                          "jewelry", "furniture", "stuff", "things", "items", "electronics", "bike", "bicycle",
                          "phone", "clothes", "tv", "television"),
    "loss_of_use": ("loss of use", "hotel", "living expenses", "somewhere else to stay", "temporary housing"),
    "roadside": ("roadside", "tow", "towing", "towed", "jump start", "flat tire", "locked out", "lockout",
                 "breakdown", "broke down", "locksmith", "keys locked", "lock my keys", "locked my keys",
                 "keys in the car", "dead battery", "ran out of gas"),
    "rental": ("rental", "rental car", "loaner", "rent a car", "hire car", "courtesy car", "car hire"),
    "collision": ("collision", "crash", "accident", "fender bender", "scrape", "scraped", "backed into", "ran into", "sideswiped", "hit a pole", "hit a wall", "hit a post",
                  "hit a tree", "hit a fence", "hit the garage"),  # the car against an object or another car
    "dwelling": ("dwelling", "structure", "house itself", "roof"),  # before hail: "hail on the roof" is the house
    "comprehensive": ("comprehensive", "glass", "windshield", "windscreen", "animal", "deer", "vandalism", "hail", "hailstorm"),
    "liability": ("liability", "sues me", *_HARM_TO_OTHERS),
    "earthquake": ("earthquake", "quake"),
}  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.split()]
    words[-1] += r"(?:s|es|ed|ing)?"  # cheap stemming: "earthquakes", "floods"
    return re.compile(r"\b" + r"\s+".join(words) + r"\b")


def match_enum(
    text: str, values: Sequence[str], *, fallback: str | None = None, bare_other: bool = True
) -> str | None:
    """The enum value named in `text` (by value, value with spaces, or ENUM_SYNONYMS), else `fallback`; with
    `bare_other` False, "other" only by its synonyms (routing evidence: harm done to others)."""
    norm = normalize(text).replace("-", " ")
    for value, used_otherwise in _NOT_THE_VALUE.items():
        if value in values:
            norm = used_otherwise.sub(" ", norm)
    if (corrected := _corrected_to(norm, values)) is not None:
        return corrected
    ordered = [v for v in ENUM_SYNONYMS if v in values] + [v for v in values if v not in ENUM_SYNONYMS]
    for value in ordered:
        # The bare word "other" ("the other car") names nothing before every other value had its chance.
        own = () if value == "other" else (str(value), str(value).replace("_", " "))
        phrases = (*own, *ENUM_SYNONYMS.get(str(value), ()))
        if any(_phrase_re(p.replace("-", " ")).search(norm) for p in phrases):
            return value
    if bare_other and "other" in values and _phrase_re("other").search(norm):
        return "other"
    return fallback


_NOT_THE_VALUE = {
    "checking": re.compile(
        r"\b(?:i'm|i am|just|was|am|been|we're|only|still)(?: just| only| still)? checking\b|"
        r"(?<!\bmy )(?<!\bthe )(?<!\bour )(?<!\byour )(?<!\bjoint )"
        r"\bchecking (?:on|in|if|whether|that|to|up|out|why|what|how|again|back)\b"
    ),
}
"""A value's word used as something else: "I'm just checking, did ..." is a verb, not the checking account
("my checking in the last week" is the account: a verb has no "my" before it)."""
_CORRECTION_CUE = re.compile(
    r"\b(?:no|nope|sorry|i mean|i meant|actually|wait|rather|make that|scratch that|instead)\b"
)
"""Between two values of one parameter: the caller took the first back ("checking, no sorry, I mean savings")."""


def _first_spans(norm: str, values: Sequence[str]) -> list[tuple[int, int, str]]:
    """Where each of `values` is first named (by itself or its everyday words), in the caller's order."""
    spans: list[tuple[int, int, str]] = []
    for value in values:
        if value == "other":
            continue
        phrases = (str(value), str(value).replace("_", " "), *ENUM_SYNONYMS.get(str(value), ()))
        hits = [m for p in phrases if (m := _phrase_re(p.replace("-", " ")).search(norm))]
        if hits:
            first = min(hits, key=lambda m: m.start())
            spans.append((first.start(), first.end(), str(value)))
    return sorted(spans)


def _corrected_to(norm: str, values: Sequence[str]) -> str | None:
    """The value a self-correction settles on: the later of two values with a take-back between them."""
    spans = _first_spans(norm, values)
    if len(spans) < 2:
        return None
    (_, end, before), (start, _, last) = spans[-2], spans[-1]
    gap = norm[end:start]
    if len(gap.split()) > _MAX_GAP_WORDS or not _CORRECTION_CUE.search(gap):
        return None
    if _NEGATED.search(gap):
        return before  # "stolen, no, not lost": the one not taken back
    # Named again after the correction ("my dishwasher, no sorry, the washing machine, it flooded"): the
    # take-back was about something else; the usual order decides.
    return None if _first_spans(norm[start:], [before]) else last


_MAX_GAP_WORDS = 6


_NEGATED = re.compile(r"\b(?:not|never)\s+(?:(?:my|the|a|an)\s+)?$")


_JOINED = re.compile(r"^\W*(?:\w+\W+){0,4}?(?:and|as well as|plus)\b")
"""Between two values named together: "checking and what's in savings", "flood, and also earthquake"."""


def values_named_together(text: str, values: Sequence[str]) -> list[str]:
    """Two or more of `values` named in one breath and joined by "and" ("what's in checking and what's in
    savings" -> checking, savings), in the caller's order; else an empty list."""
    norm = normalize(text).replace("-", " ")
    spans = _first_spans(norm, values)
    chains: list[list[tuple[int, int, str]]] = []
    for span in spans:
        if chains and _JOINED.match(norm[chains[-1][-1][1] : span[0]]):
            chains[-1].append(span)
        else:
            chains.append([span])
    longest = max(chains, key=len, default=[])
    return [value for _, _, value in longest] if len(longest) >= 2 else []


def parse_direction(text: str, values: Sequence[str]) -> tuple[str | None, str | None]:
    """(from, to) accounts of a transfer: "from savings to checking", "put 250 into my savings" (to savings,
    so from the other one when there are exactly two)."""
    norm = normalize(text)
    alternatives = {v: (v, *ENUM_SYNONYMS.get(v, ())) for v in values}
    words = "|".join(
        sorted({re.escape(p) for ps in alternatives.values() for p in ps}, key=len, reverse=True)
    )
    owner = r"(?:(?:my|the|your|our)\s+)?"
    source = target = None
    if match := re.search(rf"\b(?:from|out of)\s+{owner}({words})\b", norm):
        source = _value_of(match.group(1), alternatives)
    if match := re.search(rf"\b(?:to|into|in|onto|over to)\s+{owner}({words})\b", norm):
        target = _value_of(match.group(1), alternatives)
    if source == target and source is not None:
        target = None
    if len(values) == 2:
        if source and not target:
            target = next(v for v in values if v != source)
        elif target and not source:
            source = next(v for v in values if v != target)
    return source, target


def _value_of(said: str, alternatives: Mapping[str, tuple[str, ...]]) -> str | None:
    return next((v for v, phrases in alternatives.items() if said in phrases), None)
