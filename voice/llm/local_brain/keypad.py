"""Keypad (DTMF) input for the local brain: reading the user message the cascade writes for it (the
`DTMF_PREFIX` convention of `voice.llm.base`) and filling the slot being asked from the keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from voice.llm.base import DTMF_PREFIX
from voice.llm.local_brain.dates import make_date
from voice.llm.local_brain.identifiers import fit_shape, id_shape
from voice.llm.local_brain.params import param_kind, unwrap, valid
from voice.llm.local_brain.quantities import as_json_number

DTMF_PREFIXES = (DTMF_PREFIX, "[keypad]")  # "[keypad]" kept for older histories

_DTMF_RE = re.compile(r"^\s*\[(?:dtmf|keypad)\]\s*([0-9*#]*)\s*$", re.IGNORECASE)


def dtmf_keys(text: str) -> str | None:
    """The keys of a DTMF user message (terminating '#' removed), or None if `text` is speech."""
    match = _DTMF_RE.match(text)
    return match.group(1).rstrip("#") if match else None


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
    return value if value is not None and valid(value, prop) else None
