"""Argument extraction for the local brain: typed values out of what the caller said (pure functions).

Input is recognised speech (usually lower-case, numbers as words: "four eight two one", "march fourteenth
nineteen eighty five") or typed text ("4821", "1985-03-14"), and keypad digits that the cascade adds to the
history as a user message in the `DTMF_PREFIX` convention below. `extract_arguments` maps what it finds onto a
tool's JSON-schema parameters by kind (enum, boolean, date, amount, last-4 digits, identifier, name, place, free
text), using the parameter's name, type, enum, `pattern` and the example format in its description
("like AU-482913"). Nothing here guesses: a value is returned only when the text carries it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from voice.llm.base import DTMF_PREFIX, dtmf_message
from voice.llm.local_brain.dates import make_date, parse_date
from voice.llm.local_brain.spoken import (
    MONEY_WORDS,
    MONTHS,
    NUMBER_WORDS,
    ORDINALS,
    as_json_number,
    fit_shape,
    id_shape,
    normalize,
    parse_amount,
    parse_count,
    parse_identifier,
    parse_last4,
    spoken_digits,
    tokens,
)

# --- DTMF --------------------------------------------------------------------------------------------------
DTMF_PREFIXES = (DTMF_PREFIX, "[keypad]")  # "[keypad]" kept for older histories

_DTMF_RE = re.compile(r"^\s*\[(?:dtmf|keypad)\]\s*([0-9*#]*)\s*$", re.IGNORECASE)


def dtmf_keys(text: str) -> str | None:
    """The keys of a DTMF user message (terminating '#' removed), or None if `text` is speech."""
    match = _DTMF_RE.match(text)
    return match.group(1).rstrip("#") if match else None


# --- yes / no --------------------------------------------------------------------------------------------
_UNSURE = re.compile(r"\b(not sure|don't know|do not know|no idea|maybe|i guess|not certain)\b")
_STRONG_NO = re.compile(
    r"\b(didn't|did not|not me|wasn't me|was not me|wasn't mine|not mine|don't recognize|do not recognize|"
    r"never|nope|nah|no way|negative|don't|do not|cancel)\b|^\s*no\b"
)
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|yea|sure|correct|right|affirmative|absolutely|definitely|of course|ok|okay|alright|"
    r"please do|go ahead|do it|that's me|that was me|it was me|i did|i made|that's mine|is mine|was mine|mine|"
    r"i recognize|sounds good|that works|please)\b"
)
_WEAK_NO = re.compile(r"\b(no|not|wasn't|isn't)\b")


def parse_yes_no(text: str) -> bool | None:
    """True for yes ("yeah that was me", "I did buy that"), False for no ("no I didn't make that purchase",
    "that's not me"), None when unsure or neither."""
    norm = normalize(text)
    if _UNSURE.search(norm):
        return None
    if _STRONG_NO.search(norm):
        return False
    if _YES.search(norm):
        return True
    if _WEAK_NO.search(norm):
        return False
    return None


BOOL_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # parameter name -> (phrases meaning True, phrases meaning False)
    "expedited": (
        ("rush", "expedite", "expedited", "express", "fast", "faster", "quick", "quickly", "asap", "overnight",
         "urgent", "urgently", "right away", "as soon as", "two day", "2 day", "hurry", "soon"),
        ("standard", "regular", "normal", "no rush", "no hurry", "not urgent", "whenever", "slow", "free shipping"),
    ),
}  # fmt: skip


def parse_flag(name: str, text: str, *, asked: bool) -> bool | None:
    """A boolean parameter: its own cue words (BOOL_CUES) first; plain yes/no only when it was asked for."""
    norm = normalize(text)
    cues = BOOL_CUES.get(name)
    if cues is not None:
        false_hit = _first_phrase(norm, cues[1])
        true_hit = _first_phrase(norm, cues[0])
        if false_hit is not None and (true_hit is None or false_hit <= true_hit):
            return False
        if true_hit is not None:
            return True
    return parse_yes_no(norm) if asked or cues is None else None


def _first_phrase(norm: str, phrases: Sequence[str]) -> int | None:
    positions = [m.start() for p in phrases if (m := re.search(rf"\b{re.escape(p)}\b", norm))]
    return min(positions) if positions else None


# --- enums -----------------------------------------------------------------------------------------------
ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    # Order matters inside one enum: the first value with a match wins ("my car was stolen" is a theft,
    # "I lost my wallet, I think it was stolen" a stolen card).
    "checking": ("checking", "chequing", "check account", "current account", "everyday account"),
    "savings": ("savings", "saving", "savings account"),
    "credit": ("credit card", "credit"),
    "stolen": ("stolen", "stole", "steal", "robbed", "pickpocketed", "thief", "taken", "took"),
    "lost": ("lost", "lose", "can't find", "cannot find", "misplaced", "missing", "left it", "dropped"),
    "damaged": ("damaged", "broken", "broke", "cracked", "bent", "snapped", "won't work", "doesn't work",
                "stopped working", "not working", "chip", "demagnetized", "worn"),
    "duplicate": ("twice", "two times", "double charged", "charged me double", "duplicate", "double",
                  "same charge", "charged two"),
    "wrong_amount": ("wrong amount", "overcharged", "too much", "more than", "incorrect amount", "wrong price",
                     "wrong", "incorrect"),
    "not_received": ("never got", "never received", "didn't receive", "did not receive", "didn't get",
                     "never arrived", "never came", "not delivered", "never delivered", "didn't arrive"),
    "cancelled": ("cancelled", "canceled", "cancel", "unsubscribed", "subscription"),
    "not_recognized": ("don't recognize", "do not recognize", "didn't make", "not mine", "never made"),
    "theft": ("stolen", "stole", "theft", "broke into", "broken into", "break in", "break-in", "burglary",
              "burglar", "burglarized", "robbed", "robbery", "took my", "taken"),
    "water": ("water", "pipe", "leak", "leaked", "leaking", "flood", "flooded", "flooding", "burst",
              "overflow", "overflowed", "sewer"),
    "auto": ("car", "vehicle", "truck", "suv", "van", "motorcycle", "accident", "crash", "crashed", "collision",
             "rear-ended", "rear ended", "fender bender", "hit me", "hit my", "driving", "drove"),
    "home": ("house", "home", "roof", "tree fell", "fire", "smoke", "storm", "hail", "window", "apartment",
             "ceiling", "wall", "kitchen", "basement", "garage"),
    "water_backup": ("water backup", "backing up", "backed up", "backs up", "back up", "sump pump", "drain"),
    "flood": ("flood", "flooding", "flooded"),
    "uninsured_motorist": ("uninsured", "no insurance", "without insurance", "hit and run", "underinsured"),
    "personal_property": ("personal property", "belongings", "my stuff", "possessions", "contents", "laptop",
                          "jewelry", "furniture"),
    "loss_of_use": ("loss of use", "hotel", "living expenses", "somewhere else to stay", "temporary housing"),
    "roadside": ("roadside", "tow", "towing", "towed", "jump start", "flat tire", "locked out", "lockout",
                 "breakdown", "broke down"),
    "rental": ("rental", "rental car", "loaner", "rent a car"),
    "collision": ("collision", "crash", "accident", "fender bender"),
    "comprehensive": ("comprehensive", "glass", "windshield", "animal", "deer", "vandalism"),
    "liability": ("liability", "injure someone", "sues me", "damage to others", "sued"),
    "dwelling": ("dwelling", "structure", "house itself"),
    "earthquake": ("earthquake", "quake"),
}  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.split()]
    words[-1] += r"(?:s|es|ed|ing)?"  # cheap stemming: "earthquakes", "floods"
    return re.compile(r"\b" + r"\s+".join(words) + r"\b")


def match_enum(text: str, values: Sequence[str], *, fallback: str | None = None) -> str | None:
    """The enum value named in `text` (by value, value with spaces, or ENUM_SYNONYMS), else `fallback`."""
    norm = normalize(text).replace("-", " ")
    ordered = [v for v in ENUM_SYNONYMS if v in values] + [v for v in values if v not in ENUM_SYNONYMS]
    for value in ordered:
        phrases = (str(value), str(value).replace("_", " "), *ENUM_SYNONYMS.get(str(value), ()))
        if any(_phrase_re(p.replace("-", " ")).search(norm) for p in phrases):
            return value
    return fallback


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


# --- names, places, merchants ----------------------------------------------------------------------------
_NAME_CUES = re.compile(
    r"\b(?:my name is|my name's|name is|name's|this is|i am|i'm|it's|it is|call me|speaking is|you're speaking with)\s+"
)
_NOT_NAMES = set(
    """a about account after again all also am an and any are as at back bank be because been before being birth
    birthday born but by calling can card checking could date day did do does dollars done ending ends
    for from fine get go good got had has have hello hi how i i'm in is it it's just last like live looking me
    my need no not now of ok okay on one or our phone please really right savings she so social sorry still
    sure thank thanks that the their them then there they this to trying um uh up verify want was we well
    were what when where who why will with would yeah yes you your here someone somebody anyone nobody everyone
    something""".split()
)


def _name_word(tok: str) -> bool:
    return (
        (tok.isalpha() or re.fullmatch(r"[a-z]+(?:['-][a-z]+)+", tok) is not None)
        and tok not in _NOT_NAMES
        and tok not in NUMBER_WORDS
        and tok not in MONTHS
        and tok not in ORDINALS
    )


def _title(words: Sequence[str]) -> str:
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in words).replace(
        "O'b", "O'B"
    )


def parse_name(text: str, *, asked: bool = False, min_words: int = 2) -> str | None:
    """A person's name: after "my name is / this is / it's", at the very start ("Marcus Chen, born ..."), or the
    whole answer when `asked`. Title-cased; None unless it has `min_words` name-like words."""
    norm = normalize(text)
    starts: list[int] = [m.end() for m in _NAME_CUES.finditer(norm)]
    starts.append(0)
    for start in starts:
        toks = tokens(norm[start:])
        if start == 0 and not asked:
            # An unprompted name at the start must be followed by a pause or a cue word.
            while toks and toks[0] in {
                "sure",
                "yes",
                "yeah",
                "hi",
                "hello",
                "um",
                "uh",
                "okay",
                "ok",
                "so",
                ",",
            }:
                toks = toks[1:]
        words: list[str] = []
        for tok in toks:
            if not _name_word(tok):
                break
            words.append(tok)
            if len(words) == 3:
                break
        if start == 0 and not asked and len(toks) > len(words):
            follower = toks[len(words)]
            if follower not in {",", ".", "born", "and", "account", "date", "dob", "birthday", "last"}:
                continue
        if len(words) >= min_words:
            return _title(words)
    if asked:
        toks = [t for t in tokens(norm) if _name_word(t)]
        if len(toks) >= min_words and len(toks) <= 3:
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


def parse_place(text: str, *, asked: bool = False) -> str | None:
    """Where something happened: "on main street in bellevue" -> "Main Street in Bellevue". Unprompted, only a
    street, intersection or landmark ("the mall parking lot"); when `asked`, the whole answer."""
    norm = normalize(text)
    match = _PLACE_RE.search(norm)
    if match:
        return _place_case(match.group(1))
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
_NOT_MERCHANTS = {
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
    if asked:
        words = [
            t for t in tokens(text) if _name_word(t) and t not in _NOT_MERCHANTS and t not in MONEY_WORDS
        ]
        if 1 <= len(words) <= 4:
            return " ".join(w[:1].upper() + w[1:] for w in words)
    return None


_REQUEST_BOILERPLATE = re.compile(
    r"\b(?:i (?:need|want|would like|'d like) to|i'd like to|i need|i want|can you|could you|please|"
    r"help me|i'm calling to|i am calling to|i'm calling about|calling to|"
    r"(?:file|report|make|open|start)(?: a| an)?(?: new)?(?: claim| accident| incident)?|a claim|an accident)\b"
)


def is_descriptive(text: str) -> bool:
    """Whether `text` says what happened, beyond a bare request ("I need to report an accident" is not)."""
    rest = _REQUEST_BOILERPLATE.sub(" ", normalize(text))
    content = [
        t
        for t in tokens(rest)
        if t.isalpha() and len(t) > 1 and t not in NUMBER_WORDS and t not in {"an", "the", "to", "and", "my"}
    ]
    return len(content) >= 3


def sentence(text: str) -> str:
    """The caller's words as a clean sentence (first letter upper-case, spaces collapsed)."""
    text = " ".join(text.split()).strip()
    return text[:1].upper() + text[1:] if text else text


# --- mapping onto a tool's parameters --------------------------------------------------------------------
ParamKind = Literal[
    "enum", "bool", "int", "amount", "date", "last4", "identifier", "name", "place", "merchant", "reason",
    "description", "reference", "text",
]  # fmt: skip

_REASON_NAMES = {"reason", "summary", "note", "notes", "message", "comment", "request"}
_DESCRIPTION_NAMES = {"description", "details", "what_happened", "issue", "problem"}


def unwrap(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """The non-null branch of `anyOf: [X, {type: null}]` (how pydantic writes `X | None`), keeping the outer
    description and default."""
    branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        return {**branches[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def param_kind(name: str, prop: Mapping[str, Any]) -> ParamKind:
    """How a parameter's value is found in speech, from its schema and name."""
    prop = unwrap(prop)
    kind = prop.get("type")
    lname = name.lower()
    if "enum" in prop:
        return "enum"
    if kind == "boolean":
        return "bool"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "amount"
    if prop.get("format") == "date" or lname.endswith("_date") or "date" in lname.split("_"):
        return "date"
    if "last4" in lname or "last_four" in lname:
        return "last4"
    if lname.endswith("_id") or lname == "id":
        return "reference"
    if lname.endswith("_number") or lname.endswith("_code") or prop.get("pattern"):
        return "identifier"
    if lname.endswith("name") and "merchant" not in lname:
        return "name"
    if "merchant" in lname or lname in {"payee", "store", "vendor"}:
        return "merchant"
    if lname in {"location", "address", "place", "where", "city"} or "location" in lname:
        return "place"
    if lname in _REASON_NAMES:
        return "reason"
    if lname in _DESCRIPTION_NAMES:
        return "description"
    return "text"


def extract_arguments(
    parameters: Mapping[str, Any], text: str, *, today: date, asked: str | Collection[str] | None = None
) -> dict[str, Any]:
    """Values for a tool's parameters found in one utterance (JSON-ready: ISO dates, numbers, strings).

    `asked` names the parameter(s) the caller was just asked for: a value may then be the whole answer
    ("jordan rivera", "on main street", "four eight two one"). Reference parameters (`*_id`) are never taken
    from speech.
    """
    asked_set = {asked} if isinstance(asked, str) else set(asked or ())
    props: Mapping[str, Any] = parameters.get("properties", {})
    found: dict[str, Any] = {}
    directional = _directional_pair(props)
    if directional is not None:
        source_name, target_name, values = directional
        source, target = parse_direction(text, values)
        if asked_set & {source_name, target_name} and source is None and target is None:
            said = match_enum(text, values)
            if said is not None:
                source, target = (said, None) if source_name in asked_set else (None, said)
                other = [v for v in values if v != said]
                if len(other) == 1:
                    source, target = source or other[0], target or other[0]
        if source is not None:
            found[source_name] = source
        if target is not None:
            found[target_name] = target
    for name, raw in props.items():
        if name in found or (directional is not None and name in directional[:2]):
            continue
        if asked_set and name not in asked_set and param_kind(name, raw) in ("reason", "description", "text"):
            continue  # the answer to a specific question is not a description of what happened
        value = extract_value(name, raw, text, today=today, asked=name in asked_set)
        if value is not None:
            found[name] = value
    return found


def _directional_pair(props: Mapping[str, Any]) -> tuple[str, str, list[str]] | None:
    """("from_x", "to_x", enum values) when a tool takes a source and a target of the same enum."""
    for name, raw in props.items():
        if name.startswith("from_"):
            partner = "to_" + name[len("from_") :]
            if partner in props:
                a, b = unwrap(raw), unwrap(props[partner])
                if "enum" in a and a.get("enum") == b.get("enum"):
                    return name, partner, [str(v) for v in a["enum"]]
    return None


def extract_value(name: str, raw: Mapping[str, Any], text: str, *, today: date, asked: bool = False) -> Any:
    """One parameter's value from `text`, validated against its schema, or None."""
    prop = unwrap(raw)
    kind = param_kind(name, raw)
    value: Any = None
    if kind == "enum":
        values = [str(v) for v in prop["enum"]]
        value = match_enum(
            text, values, fallback="other" if asked and "other" in values and text.strip() else None
        )
    elif kind == "bool":
        value = parse_flag(name, text, asked=asked)
    elif kind == "int":
        value = parse_count(text, minimum=prop.get("minimum"), maximum=prop.get("maximum"))
        if value is not None and not re.search(rf"\b(last|past|{name})\b", normalize(text)) and not asked:
            value = None  # an unprompted count needs its cue ("the last five"), or any number would do
    elif kind == "amount":
        amount = parse_amount(text, asked=asked)
        value = as_json_number(amount) if amount is not None else None
    elif kind == "date":
        birth = "birth" in name or "dob" in name
        found = parse_date(text, today=today, past=True, require_year=birth)
        value = found.isoformat() if found else None
    elif kind == "last4":
        value = parse_last4(text, asked=asked)
    elif kind == "identifier":
        value = parse_identifier(text, id_shape(name, prop), prop.get("pattern"))
    elif kind == "name":
        value = parse_name(text, asked=asked, min_words=2 if "full" in name or name == "name" else 1)
    elif kind == "place":
        value = parse_place(text, asked=asked)
    elif kind == "merchant":
        value = parse_merchant(text, asked=asked)
    elif kind == "reason":
        value = sentence(text) or None
    elif kind == "description":
        value = sentence(text) if (asked and text.strip()) or is_descriptive(text) else None
    elif kind == "text":
        value = sentence(text) if asked and text.strip() else None
    return value if value is not None and _valid(value, prop) else None


def _valid(value: Any, prop: Mapping[str, Any]) -> bool:
    pattern = prop.get("pattern")
    if pattern and isinstance(value, str) and not re.search(pattern, value):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in prop and value < prop["minimum"]:
            return False
        if "maximum" in prop and value > prop["maximum"]:
            return False
    max_length = prop.get("maxLength")
    return not (max_length and isinstance(value, str) and len(value) > max_length)


def keypad_value(name: str, raw: Mapping[str, Any], keys: str, *, today: date) -> Any:
    """A parameter's value typed on the keypad (see DTMF_PREFIX), or None if keys can't fill it."""
    prop = unwrap(raw)
    kind = param_kind(name, raw)
    digits = re.sub(r"\D", "", keys)
    value: Any = None
    if kind == "last4":
        value = digits if len(digits) == 4 else None
    elif kind == "identifier":
        shape = id_shape(name, prop)
        need = shape.count("D") if shape else len(digits)
        value = digits if digits and len(digits) == need else None
        if value and shape and "L" not in shape:
            value = fit_shape(digits, shape)
    elif kind == "int" and digits:
        value = int(digits)
    elif kind == "amount" and re.fullmatch(r"\d+(\*\d{1,2})?", keys):
        value = as_json_number(float(keys.replace("*", ".")))
    elif kind == "date" and len(digits) == 8:
        found = make_date(int(digits[4:]), int(digits[:2]), int(digits[2:4]))
        value = found.isoformat() if found else None
    elif kind == "bool" and digits in {"1", "2"}:
        value = digits == "1"  # "press 1 for yes, 2 for no"
    elif kind == "enum" and digits.isdigit():
        values = list(prop["enum"])
        index = int(digits) - 1
        value = values[index] if 0 <= index < len(values) else None
    return value if value is not None and _valid(value, prop) else None


__all__ = [
    "DTMF_PREFIX",
    "DTMF_PREFIXES",
    "ENUM_SYNONYMS",
    "as_json_number",
    "dtmf_keys",
    "dtmf_message",
    "extract_arguments",
    "extract_value",
    "id_shape",
    "is_descriptive",
    "keypad_value",
    "match_enum",
    "normalize",
    "param_kind",
    "parse_amount",
    "parse_count",
    "parse_date",
    "parse_direction",
    "parse_flag",
    "parse_identifier",
    "parse_last4",
    "parse_merchant",
    "parse_name",
    "parse_place",
    "parse_yes_no",
    "sentence",
    "spoken_digits",
    "tokens",
    "unwrap",
]
