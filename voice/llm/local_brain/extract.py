"""Argument extraction for the local brain: typed values out of what the caller said (pure functions).

Input is recognised speech (usually lower-case, numbers as words: "four eight two one", "march fourteenth
nineteen eighty five") or typed text ("4821", "1985-03-14"); keypad input is read by `keypad.py`.
`extract_arguments` maps what it finds onto a tool's JSON-schema parameters by kind (`params.param_kind`:
enum, boolean, date, amount, last-4 digits, identifier, name, place, free text), using the parameter's name,
type, enum, `pattern` and the example format in its description ("like AU-482913"). The parsers for each
kind live in their own modules (`enums`, `yes_no`, `dates`, `quantities`, `identifiers`, `names`); free text
is handled here. Nothing here guesses: a value is returned only when the text carries it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from voice.llm.local_brain.dates import parse_corrected_date
from voice.llm.local_brain.enums import match_enum, parse_direction
from voice.llm.local_brain.identifiers import id_shape, parse_identifier, parse_last4
from voice.llm.local_brain.names import listed_charge, parse_merchant, parse_name, parse_place
from voice.llm.local_brain.params import param_kind, unwrap, valid
from voice.llm.local_brain.quantities import as_json_number, parse_amount, parse_count
from voice.llm.local_brain.repairs import resolve_repairs
from voice.llm.local_brain.spoken import NUMBER_WORDS, normalize, tokens
from voice.llm.local_brain.yes_no import parse_flag

_SOMETHING_ELSE = re.compile(r"\b(?:other|something else|none of (?:those|them|these)|neither)\b")

# --- free text (reasons, descriptions) -------------------------------------------------------------------
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
def extract_arguments(
    parameters: Mapping[str, Any], text: str, *, today: date, asked: str | Collection[str] | None = None
) -> dict[str, Any]:
    """Values for a tool's parameters found in one utterance (JSON-ready: ISO dates, numbers, strings).

    `asked` names the parameter(s) the caller was just asked for: a value may then be the whole answer
    ("jordan rivera", "on main street", "four eight two one"). Reference parameters (`*_id`) are never taken
    from speech.
    """
    asked_set = {asked} if isinstance(asked, str) else set(asked or ())
    text = resolve_repairs(text)  # "four eight one two, no wait, four eight two one": the correction counts
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
        # No fallback: an answer that names none of the values is re-asked, never filed as the last option.
        value = match_enum(text, values)
        if value is None and asked and "other" in values and _SOMETHING_ELSE.search(normalize(text)):
            value = "other"
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
        found = parse_corrected_date(text, today=today, past=True, require_year=birth)
        value = found.isoformat() if found else None
    elif kind == "last4":
        # An account's last four may come bare with a name; a card's needs its cue ("card ending in").
        noun = name.split("_")[0] if name.split("_")[0] in ("card", "account") else None
        listed = listed_charge(text) is not None  # "harbor books, thirty-eight sixty": an amount
        value = parse_last4(text, asked=asked, bare=name.startswith("account") and not listed, noun=noun)
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
    return value if value is not None and valid(value, prop) else None
