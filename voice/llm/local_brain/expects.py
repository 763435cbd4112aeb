"""What the brain's question asks the caller for, as a hint for recognising the answer (`voice.expectation`).

Read from the pending slots and their tools' schemas, like the questions themselves: the last four digits are
four digits; an identifier's length comes from its schema (a `pattern` with `\\d{6}`, or the example in its
description, "like AU-482913", "the seven digit claim number"); a date slot takes a date. A question that asks
for anything else (a name, what happened, a yes) expects nothing in particular.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.expectation import Expectation
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.slots import either_group, missing_slots, properties
from voice.llm.local_brain.state import DialogState

LAST_FOUR = 4
_EXAMPLE = re.compile(r"\b(?:([A-Z]{1,3})-?)?(\d{3,12})\b")
_PATTERN_DIGITS = re.compile(r"\\d\{(\d+)\}")
_PATTERN_LETTERS = re.compile(r"\[A-Z\]\{(\d)\}")
_COUNT_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_SPELLED_LENGTH = re.compile(r"\b(" + "|".join(_COUNT_WORDS) + r")[ -]digits?\b", re.IGNORECASE)


def _identifier(prop: Mapping[str, Any]) -> tuple[int, int] | None:
    """(digits, letters) of an identifier parameter, from its schema's pattern or its description."""
    pattern = str(prop.get("pattern") or "")
    digits = [int(n) for n in _PATTERN_DIGITS.findall(pattern)]
    if len(digits) == 1:
        letters = _PATTERN_LETTERS.search(pattern)
        return digits[0], int(letters.group(1)) if letters else 0
    description = str(prop.get("description") or "")
    example = _EXAMPLE.search(description)
    if example is not None:
        return len(example.group(2)), len(example.group(1) or "")
    spelled = _SPELLED_LENGTH.search(description)
    if spelled is not None:
        return _COUNT_WORDS[spelled.group(1).lower()], 0
    return None


def slot_expectation(spec: ToolSpec, slot: str) -> Expectation | None:
    """What an answer to one slot of `spec` looks like, or None when it is not a number or a date."""
    prop = properties(spec).get(slot)
    if prop is None:
        return None
    kind = param_kind(slot, prop)
    if kind == "last4":
        return Expectation(lengths=(LAST_FOUR,), label="the last four digits")
    if kind == "date":
        return Expectation(date=True, label=slot.replace("_", " "))
    if kind == "identifier":
        found = _identifier(unwrap(prop))
        if found is None:
            return None
        digits, letters = found
        return Expectation(lengths=(digits,), letters=letters, label=slot.replace("_", " "))
    return None


def pending_expectation(state: DialogState, tools: Mapping[str, ToolSpec]) -> Expectation | None:
    """What the brain's pending question asks for, or None: nothing pending, a confirmation (a yes or a no)
    pending, or slots that are neither numbers nor dates.

    The slots asked for, and the others the pending tool still misses: callers give what they know is coming in
    the same breath ("Jordan Rivera, last four four eight two one" to "Can I have your name?")."""
    pending = state.pending
    if pending is None or state.confirm is not None or not pending.slots:
        return None
    spec = tools.get(pending.tool)
    if spec is None:
        return None
    slots = [*pending.slots, *missing_slots(spec, pending.args), *either_group(spec, pending.args)]
    found = [e for e in (slot_expectation(spec, slot) for slot in dict.fromkeys(slots)) if e is not None]
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    lengths = tuple(sorted({n for e in found for n in e.lengths}))
    return Expectation(
        lengths=lengths,
        letters=max(e.letters for e in found),
        date=any(e.date for e in found),
        label=" or ".join(e.label for e in found if e.label),
    )
