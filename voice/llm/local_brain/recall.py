"""What the caller said before this utterance, read again when a request needs it: a detail given earlier
("my policy is A U ..." before a handoff) is not asked for twice, and "that account" is the one named last.
Pure functions of the dialog reading."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from voice.llm.local_brain.dialog import DialogReading
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.extract import extract_value
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.spoken import normalize, without_fillers

_BACK_REFERENCE = re.compile(r"\b(?:that|this|the same|same) (?:account|one|card|policy|claim)\b")
"""The caller points back at something named before: "the last two purchases on that account"."""


def points_back(text: str) -> bool:
    return _BACK_REFERENCE.search(normalize(text)) is not None


def said_earlier(convo: DialogReading, name: str, prop: dict[str, Any], *, today: date) -> Any:
    """A detail the caller gave in an earlier utterance (newest first), read as if unprompted, or None. A name
    only when it was given as one ("Marcus Chen here", "this is ..."), not guessed from words before digits."""
    for line in reversed(convo.caller_lines[:-1]):
        if param_kind(name, prop) == "name":
            value: Any = parse_name(without_fillers(line), in_passing=False)
        else:
            value = extract_value(name, prop, without_fillers(line), today=today)
        if value is not None:
            return value
    return None


def referred_value(convo: DialogReading, prop: dict[str, Any]) -> str | None:
    """The enum value "that account" points at: the only one named by the agent's last reply or, failing
    that, by the caller's latest line naming exactly one."""
    values = [str(v) for v in unwrap(prop).get("enum", ()) if v != "other"]
    for line in [convo.last_spoken or "", *reversed(convo.caller_lines[:-1])]:
        named = [v for v in values if match_enum(line, [v])]
        if len(named) == 1:
            return named[0]
    return None
