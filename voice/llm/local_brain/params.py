"""A tool parameter's JSON schema as extraction reads it: the non-null branch of an optional (`unwrap`), the
kind of value to look for (`param_kind`, from the schema and the parameter's name), and the schema's own
bounds a found value must meet (`valid`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

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


def valid(value: Any, prop: Mapping[str, Any]) -> bool:
    """Whether a found value meets the schema's `pattern`, `minimum`/`maximum` and `maxLength`."""
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
